"""Bodies that do not decode: pipelines.normalise.decoding, and crawler.decoding in a real crawl.

A page whose Content-Encoding is gzip (or deflate, br, zstd) but whose body is corrupt or cut
short is archived as the server sent it and catalogued as rejected, reason `undecodable`:
during a crawl, and by `reindex`, `verify --repair` and `reextract` reading it back.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import brotli
import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.normalise import Undecodable, normalise_page, profile_named
from pipelines.normalise.decoding import content_codings, decoded_body
from pipelines.normalise.errors import DecodedTooLarge
from replicas.rmzxb.articles import replica_articles
from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer, Routes
from tests.conftest import REPLICA_SEEDS, run_cli, run_cli_reading
from tests.test_odd_pages import URL, page

PAGE = page("<p>第一段正文。</p>").encode("utf-8")
GZIPPED = gzip.compress(PAGE, mtime=0)
ARTICLES = {article.key: article for article in replica_articles()}


# -- the pure rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        ("gzip", GZIPPED),
        ("x-gzip", GZIPPED),
        ("gzip", GZIPPED + b"\x00\x00trailing junk"),  # after a whole stream: ignored
        ("deflate", zlib.compress(PAGE)),
        ("deflate", zlib.compress(PAGE)[2:-4]),  # raw deflate, no zlib wrapper
        ("br", brotli.compress(PAGE)),
        ("identity", PAGE),
    ],
    ids=["gzip", "x-gzip", "gzip-trailing-bytes", "deflate", "raw-deflate", "br", "identity"],
)
def test_a_whole_body_decodes(coding: str, body: bytes) -> None:
    assert decoded_body(URL, [("Content-Encoding", coding)], body) == PAGE


def test_codings_apply_in_the_order_named() -> None:
    twice = brotli.compress(gzip.compress(PAGE))
    assert content_codings({"Content-Encoding": "gzip, br"}) == ["gzip", "br"]
    assert decoded_body(URL, [("content-encoding", "gzip, br")], twice) == PAGE
    assert content_codings([("Content-Type", "text/html")]) == []


@pytest.mark.parametrize(
    ("coding", "body", "why"),
    [
        ("gzip", GZIPPED[:10] + bytes(reversed(GZIPPED[10:])), "does not decode: Error -3"),
        ("gzip", GZIPPED[: len(GZIPPED) // 2], "the compressed stream is cut short"),
        ("gzip", GZIPPED[:-8] + b"\0\0\0\0" + GZIPPED[-4:], "incorrect data check"),
        ("gzip", b"<html>not gzip</html>", "incorrect header check"),
        ("deflate", zlib.compress(PAGE)[:40], "does not decode"),
        ("br", brotli.compress(PAGE)[:-2], "does not decode"),
        ("compress", PAGE, "a coding the archive cannot undo"),
    ],
    ids=["garbage", "cut-short", "bad-crc", "not-gzip", "deflate-cut", "br-cut", "unknown"],
)
def test_a_damaged_body_is_undecodable(coding: str, body: bytes, why: str) -> None:
    with pytest.raises(Undecodable, match=why) as raised:
        decoded_body(URL, [("Content-Encoding", coding)], body)
    assert raised.value.reason == "undecodable"


def test_a_body_decoding_past_the_limit_is_too_large() -> None:
    bomb = gzip.compress(bytes(10_000_000))
    with pytest.raises(DecodedTooLarge, match="decodes to more than 1000000 bytes"):
        decoded_body(URL, [("Content-Encoding", "gzip")], bomb, max_size=1_000_000)


def test_the_normaliser_decodes_an_archived_body_or_rejects_it() -> None:
    rmzxb = profile_named("rmzxb")
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")]
    plain = normalise_page(URL, headers[:1], PAGE, profile=rmzxb)
    assert normalise_page(URL, headers, GZIPPED, profile=rmzxb) == plain
    with pytest.raises(Undecodable, match="cut short"):
        normalise_page(URL, headers, GZIPPED[:-20], profile=rmzxb)


# -- a crawl of a replica with corrupt bodies -----------------------------------------------------

GARBLED = ARTICLES["gzip"].pages[0].path  # 要闻: gzip, its deflate data reversed
CUT = ARTICLES["cookies"].pages[0].path  # 要闻: gzip cut in half (Scrapy kept the half)
SECOND_PAGE = ARTICLES["two_page"].pages[1].path  # 协商: page 2 of an article, corrupt
BROTLI = ARTICLES["author"].pages[0].path  # 协商: whole, sent as br


def damaged_site(base_url: str) -> Routes:
    routes = dict(build_site(base_url))
    garbled = routes[GARBLED]
    routes[GARBLED] = replace(garbled, body=garbled.body[:10] + bytes(reversed(garbled.body[10:])))
    for path, keep in ((CUT, 0.5), (SECOND_PAGE, 0.9)):
        reply = routes[path]
        body = gzip.compress(reply.body, mtime=0)
        routes[path] = replace(
            reply,
            headers=(*reply.headers, ("Content-Encoding", "gzip")),
            body=body[: int(len(body) * keep)],
        )
    whole = routes[BROTLI]
    routes[BROTLI] = replace(
        whole,
        headers=(*whole.headers, ("Content-Encoding", "br")),
        body=brotli.compress(whole.body),
    )
    return routes


@dataclass
class Crawl:
    home: Path
    seeds: Path
    server: ReplicaServer
    summary: str

    def url(self, path: str) -> str:
        return self.server.base_url + path

    def cli(self, *args: str, home: Path | None = None) -> tuple[int, str]:
        result = run_cli_reading(
            "--home", str(home or self.home), "--seeds", str(self.seeds), *args
        )
        assert "Traceback" not in result.stderr, result.stderr
        return result.returncode, result.stdout


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    tmp = tmp_path_factory.mktemp("undecodable")
    with ReplicaServer(damaged_site, not_found_page) as server:
        seeds = tmp / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        home = tmp / "home"
        result = run_cli(
            "--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/xs", "rmzxb/yw"
        )
        assert result.returncode == 0, result.stderr
        yield Crawl(home, seeds, server, result.stdout)


def rejections(home: Path) -> dict[str, str]:
    with sqlite3.connect(home / "catalogue.sqlite3") as db:
        return dict(db.execute("SELECT url, reason FROM rejections").fetchall())


def test_a_crawl_rejects_corrupt_bodies_as_undecodable_and_says_so(crawl: Crawl) -> None:
    for path in (GARBLED, CUT):
        assert f"undecodable {crawl.url(path)}" in crawl.summary
    rejected = rejections(crawl.home)
    assert (rejected[crawl.url(GARBLED)], rejected[crawl.url(CUT)]) == ("undecodable",) * 2
    (run,) = json.loads(crawl.cli("runs", "--format", "json")[1])
    assert run["status"] == "finished" and run["coverage"]["rejected"]["undecodable"] == 2
    catalogued = {a["url"] for a in json.loads(crawl.cli("articles", "--format", "json")[1])}
    assert crawl.url(GARBLED) not in catalogued and crawl.url(CUT) not in catalogued
    # Page 1 made the two-page article; its corrupt page 2 cost only its own text.
    assert crawl.url(ARTICLES["two_page"].pages[0].path) in catalogued


def test_a_whole_br_body_is_decoded_and_catalogued(crawl: Crawl) -> None:
    # Scrapy decodes br with the `brotli` module; a package that replaces it (pywb's brotlipy
    # did, in the test environment) breaks every br page while gzip ones still pass.
    assert crawl.url(BROTLI) not in rejections(crawl.home)
    catalogued = {a["url"]: a for a in json.loads(crawl.cli("articles", "--format", "json")[1])}
    assert catalogued[crawl.url(BROTLI)]["title"] == ARTICLES["author"].title


def test_the_corrupt_bodies_are_archived_as_received(crawl: Crawl) -> None:
    sent = {crawl.url(path): crawl.server.routes[path].body for path in (GARBLED, CUT)}
    archived = {}
    for path in (crawl.home / "warc").glob("*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream, check_digests="raise"):
                url = record.rec_headers.get_header("WARC-Target-URI")
                if record.rec_type == "response" and url in sent:
                    assert record.http_headers.get_header("Content-Encoding") == "gzip"
                    archived[url] = record.raw_stream.read()
    assert archived == sent


def test_reindex_and_verify_repair_reject_them_too(crawl: Crawl, tmp_path: Path) -> None:
    # The crawl's WARC files without its metadata records, as if it died before writing them:
    # the pages are normalised again from their archived bytes.
    home = tmp_path / "home"
    (home / "warc").mkdir(parents=True)
    for path in (crawl.home / "warc").glob("*.warc.gz"):
        (home / "warc" / path.name).write_bytes(_without_metadata(path.read_bytes()))

    code, out = crawl.cli("reindex", "--format", "json", home=home)

    assert code == 0, out
    assert rejections(home)[crawl.url(GARBLED)] == "undecodable"
    assert rejections(home)[crawl.url(CUT)] == "undecodable"

    with sqlite3.connect(home / "catalogue.sqlite3") as db:
        db.execute("DELETE FROM rejections")
    code, out = crawl.cli("verify", "--repair", home=home)
    assert code == 0, out
    assert rejections(home)[crawl.url(GARBLED)] == "undecodable"


def test_reextract_names_a_page_that_does_not_decode(crawl: Crawl, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(crawl.home, home)

    code, out = crawl.cli("reextract", "--format", "json", home=home)

    assert code == 1
    report = json.loads(out)
    (failure,) = report["failures"]
    assert failure["url"] == crawl.url(ARTICLES["two_page"].pages[0].path)
    assert "no longer normalises: undecodable" in failure["reason"]
    assert "cut short" in failure["reason"]


def _without_metadata(data: bytes) -> bytes:
    kept = []
    records = ArchiveIterator(io.BytesIO(data))
    for record in records:
        # The raw payload: warcio's content_stream() would decode the br page with brotlipy's
        # API, which Google's brotli (Scrapy's) lacks; only metadata records are looked into.
        content = record.raw_stream.read() if record.rec_type == "metadata" else b""
        offset, length = records.get_record_offset(), records.get_record_length()
        if not (record.rec_type == "metadata" and b"cppcc-kind" in content):
            kept.append(data[offset : offset + length])
    return b"".join(kept)
