"""`verify`, `verify --repair` and `reindex` on damaged WARC files, through the command line.

A damaged member is reported where it is and what is wrong with it, and every record after it
is still read: checked by verify, catalogued by reindex and `verify --repair`. The files are
made by the project's writer: a crawl of the replica, or 320 article pages written directly.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import struct
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipelines.archive import spans
from pipelines.warc.exchange import HttpExchange
from pipelines.warc.location import RecordLocation
from pipelines.warc.writer import WarcWriter
from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer
from tests.conftest import CLI, REPLICA_PAGES, REPLICA_SEEDS, REPO, run_cli, run_cli_reading
from tests.test_verify import Archive, article_response, members, warc_files

ARTICLES = 320
GARBLED = 20  # the article whose response member is overwritten with garbage
SITE = "http://replica.test"
SEEDS = REPLICA_SEEDS.format(base_url=SITE)
PAGE = (REPLICA_PAGES / "rmzxb_article_2023-02-27_3299508.html").read_bytes()


# -- a crawled archive ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    tmp = tmp_path_factory.mktemp("damaged")
    with ReplicaServer(build_site, not_found_page) as server:
        seeds = tmp / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        home = tmp / "home"
        result = run_cli(
            "--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/xs", "rmzxb/yw"
        )
        assert result.returncode == 0, result.stderr
        yield Archive(home, seeds, server.base_url)


@pytest.fixture
def copy(crawled: Archive, tmp_path: Path) -> Archive:
    home = tmp_path / "home"
    shutil.copytree(crawled.home, home)
    return Archive(home, crawled.seeds, crawled.base_url)


def verify(archive: Archive, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli(
        *("--home", str(archive.home), "--seeds", str(archive.seeds)),
        *("verify", "--format", "json", *args),
    )
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


def problems(report: dict[str, Any], kind: str) -> list[tuple[str, int, str]]:
    return [(p["file"], p["offset"], p["detail"]) for p in report["problems"] if p["kind"] == kind]


def test_a_flipped_byte_names_the_record_and_the_records_after_it_are_checked(
    copy: Archive,
) -> None:
    path, bad = article_response(copy)
    total = sum(len(members(p)) for p in warc_files(copy))
    data = bytearray(path.read_bytes())
    data[bad.offset + bad.length // 2] ^= 0x01
    path.write_bytes(bytes(data))

    code, report = verify(copy)

    assert code == 1
    ((name, offset, detail),) = problems(report, "corrupt-member")
    after = bad.offset + bad.length
    assert (name, offset) == (path.name, bad.offset)
    assert f"of {bad.url} at offset {bad.offset} cannot be decompressed" in detail
    assert detail.endswith(f"; resumed at {after}")
    assert problems(report, "truncated") == []
    # Every other record of both files was read and checked.
    assert report["records"] == total - 1
    missing = problems(report, "missing-record")
    assert missing and all(
        bad.url in text and f"damaged from {bad.offset} to {after} (corrupt-member)" in text
        for _, _, text in missing
    )
    assert {p["kind"] for p in report["problems"]} == {"corrupt-member", "missing-record"}

    assert verify(copy, "--repair")[0] == 1
    assert bytes(data) == path.read_bytes()  # nothing cut, nothing deleted


@pytest.mark.parametrize("change", [+40, -40], ids=["longer", "shorter"])
def test_a_lying_content_length_is_reported_at_its_record(copy: Archive, change: int) -> None:
    path, bad = article_response(copy)
    total = sum(len(members(p)) for p in warc_files(copy))
    data = path.read_bytes()
    record = zlib.decompress(data[bad.offset : bad.offset + bad.length], 16 + zlib.MAX_WBITS)
    head, block = record.split(b"\r\n\r\n", 1)
    held = len(block) - 4
    lie = head.replace(
        f"Content-Length: {held}".encode(), f"Content-Length: {held + change}".encode()
    )
    member = _same_length_member(lie + b"\r\n\r\n" + block, bad.length)
    path.write_bytes(data[: bad.offset] + member + data[bad.offset + bad.length :])

    code, report = verify(copy)

    assert code == 1
    assert problems(report, "length-mismatch") == [
        (
            path.name,
            bad.offset,
            f"record {_record_id(record)} declares Content-Length {held + change} but its gzip "
            f"member holds {held} bytes",
        )
    ]
    assert {p["kind"] for p in report["problems"]} == {"length-mismatch", "missing-record"}
    assert report["records"] == total - 1


@pytest.mark.parametrize(
    ("content", "kind"),
    [(b"", "empty-file"), ("这不是 WARC 文件\n".encode(), "not-warc")],
    ids=["zero-bytes", "text"],
)
def test_a_file_that_is_no_warc_file_is_a_problem(copy: Archive, content: bytes, kind: str) -> None:
    name = "CPPCC-20260101000000000-00000-1~elsewhere~0.warc.gz"
    (copy.home / "warc" / name).write_bytes(content)

    code, report = verify(copy)

    assert (code, report["clean"]) == (1, False)
    assert [(p["kind"], p["file"], p["offset"]) for p in report["problems"]] == [(kind, name, 0)]
    text = run_cli("--home", str(copy.home), "--seeds", str(copy.seeds), "verify")
    assert text.returncode == 1 and "clean" not in text.stdout
    assert f"{name}:0: " in text.stdout


# -- 320 articles in one file, one garbage member among them ----------------------------------


@dataclass
class ArticleFile:
    folder: Path  # holds the WARC file and seeds.toml
    path: Path
    garbled: RecordLocation
    urls: list[str]  # of the articles whose record is whole


@pytest.fixture(scope="module")
def article_file(tmp_path_factory: pytest.TempPathFactory) -> ArticleFile:
    """320 article pages written as a crawl writes them (no metadata records: reindex
    normalises them again), the response of article 20 overwritten with garbage."""
    folder = tmp_path_factory.mktemp("articles")
    (folder / "seeds.toml").write_text(SEEDS, encoding="utf-8")
    warc = folder / "warc"
    with WarcWriter(warc, hostname="test", pid=1) as writer:
        locations = [writer.write_exchange(article_exchange(number)) for number in range(ARTICLES)]
    (path,) = warc.glob("*.warc.gz")
    garbled = locations[GARBLED]
    data = path.read_bytes()
    garbage = random.Random(2).randbytes(garbled.length).replace(b"\x1f\x8b", b"xx")
    path.write_bytes(data[: garbled.offset] + garbage + data[garbled.offset + garbled.length :])
    urls = [loc.url for loc in locations if loc is not garbled]
    return ArticleFile(folder, path, garbled, urls)


def article_exchange(number: int) -> HttpExchange:
    """The replica article page numbered `number` (its text and time made unique), as
    fetched."""
    url = f"{SITE}/c/2023-02-27/{3_300_000 + number}.shtml"
    body = PAGE.replace("种下石榴树".encode(), f"种下石榴树{number}".encode())
    return HttpExchange(
        url=url,
        method="GET",
        request_headers=[("User-Agent", "test")],
        request_body=b"",
        protocol="HTTP/1.1",
        status=200,
        reason="OK",
        response_headers=[("Content-Type", "text/html; charset=utf-8")],
        body=body,
        fetched_at=datetime(2026, 1, 2, tzinfo=UTC) + timedelta(seconds=number),
    )


def _home(article_file: ArticleFile, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(article_file.folder / "warc", home / "warc")
    return home


def cli(home: Path, article_file: ArticleFile, *args: str) -> Any:
    seeds = article_file.folder / "seeds.toml"
    result = run_cli_reading("--home", str(home), "--seeds", str(seeds), *args)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def catalogued(home: Path, article_file: ArticleFile) -> list[str]:
    shown = cli(home, article_file, "articles", "--limit", "1000", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    return sorted(article["url"] for article in json.loads(shown.stdout))


def garbage_detail(article_file: ArticleFile) -> str:
    bad = article_file.garbled
    return (
        f"{bad.length} bytes that are no WARC record at offset {bad.offset} "
        f"(resumed at {bad.offset + bad.length})"
    )


def test_reindex_catalogues_every_article_after_a_garbage_member(
    article_file: ArticleFile, tmp_path: Path
) -> None:
    home = _home(article_file, tmp_path)

    result = cli(home, article_file, "reindex")

    assert result.returncode == 1  # a file had damage: said, and the rest catalogued
    path = home / "warc" / article_file.path.name
    assert f"damaged, not read: {path}:{article_file.garbled.offset}: " in result.stdout
    assert garbage_detail(article_file) in result.stdout
    assert catalogued(home, article_file) == sorted(article_file.urls)
    assert len(article_file.urls) == ARTICLES - 1


def test_verify_repair_catalogues_every_article_after_a_garbage_member(
    article_file: ArticleFile, tmp_path: Path
) -> None:
    home = _home(article_file, tmp_path)
    (tmp_path / "none").mkdir()
    assert cli(home, article_file, "reindex", str(tmp_path / "none")).returncode == 0  # schema

    code, report = _verify(home, article_file)
    assert code == 1
    assert problems(report, "garbage") == [
        (article_file.path.name, article_file.garbled.offset, garbage_detail(article_file))
    ]
    assert len(problems(report, "uncatalogued-article")) == ARTICLES - 1

    code, repaired = _verify(home, article_file, "--repair")

    assert code == 1  # the garbage stays: nothing is ever deleted
    assert [p["kind"] for p in repaired["problems"] if not p["repaired"]] == ["garbage"]
    assert [r["action"] for r in repaired["repairs"]] == ["recatalogued"]
    assert catalogued(home, article_file) == sorted(article_file.urls)


def _verify(home: Path, article_file: ArticleFile, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli(home, article_file, "verify", "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


# -- a full disk ----------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder where writes fail: an 8 MB tmpfs (ENOSPC) where one can be mounted (as root),
    else one where each command runs with a file-size limit (EFBIG). Yields (folder, how)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    try:
        yield folder, "tmpfs" if mounted.returncode == 0 else "rlimit"
    finally:
        if mounted.returncode == 0:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def test_verify_repair_on_a_full_disk_says_so_in_one_line(
    article_file: ArticleFile, small_disk: tuple[Path, str]
) -> None:
    folder, how = small_disk
    home = folder / "home"
    shutil.copytree(article_file.folder / "warc", home / "warc")
    (folder / "none").mkdir()
    assert cli(home, article_file, "reindex", str(folder / "none")).returncode == 0  # schema
    if how == "tmpfs":
        _fill(folder, leave=256 << 10)  # room to open the catalogue, not to catalogue 319
    result = _repair(home, article_file, file_size_limit=None if how == "tmpfs" else 1 << 20)

    assert result.returncode == 1, (how, result.stderr)
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("cppcc-archive: error: "), (how, last)
    assert f"the catalogue database sqlite:///{home}/catalogue.sqlite3" in last, (how, last)
    if how == "tmpfs":
        assert "database or disk is full; free some space on its disk and run this again" in last
    else:
        assert "disk I/O error" in last
    assert "(verify --repair read " in last and "they are kept)" in last


def _fill(folder: Path, leave: int) -> None:
    """Fill the tmpfs to its last byte, then free `leave` bytes."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as stream:
        for size in (1 << 16, 1):
            try:
                while True:
                    stream.write(bytes(size))
            except OSError:
                pass
    os.truncate(filler, filler.stat().st_size - leave)


def _repair(home: Path, article_file: ArticleFile, file_size_limit: int | None) -> Any:
    """`verify --repair`, its files limited to `file_size_limit` bytes when given."""

    def limit_files() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    seeds = article_file.folder / "seeds.toml"
    return subprocess.run(
        [str(CLI), "--home", str(home), "--seeds", str(seeds), "verify", "--repair"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        cwd=REPO,
        preexec_fn=limit_files if file_size_limit is not None else None,
    )


# -- helpers --------------------------------------------------------------------------------------


def _record_id(record: bytes) -> str:
    for line in record.split(b"\r\n"):
        if line.startswith(b"WARC-Record-ID: "):
            return line.split(b": ", 1)[1].decode()
    raise AssertionError("no WARC-Record-ID")


def _same_length_member(record: bytes, length: int) -> bytes:
    """`record` as one gzip member of exactly `length` bytes (padded in the header's extra
    field), so that every offset after it stays right."""
    for level in (9, 8, 7, 6, 5):
        compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = compressor.compress(record) + compressor.flush()
        pad = length - (10 + 2 + len(body) + 8)
        if pad >= 0:
            header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff" + struct.pack("<H", pad)
            trailer = struct.pack("<II", zlib.crc32(record), len(record) & 0xFFFFFFFF)
            return header + b"\x00" * pad + body + trailer
    raise AssertionError("could not recompress the member into its own length")


# -- on several processes -------------------------------------------------------------------------


def test_a_damaged_file_among_several_is_reported_alike_with_two_jobs(
    article_file: ArticleFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(article_file, tmp_path)
    for part in (1, 2):  # two clean files beside the damaged one
        with WarcWriter(home / "warc", hostname="test", pid=1 + part) as writer:
            for number in range(1000 * part, 1000 * part + 40):
                writer.write_exchange(article_exchange(number))
    (tmp_path / "none").mkdir()
    assert cli(home, article_file, "reindex", str(tmp_path / "none")).returncode == 0  # schema

    alone = _verify(home, article_file, "--jobs", "1")
    monkeypatch.setattr(spans, "SPAN_SIZE", 100_000)  # the damaged file read in several spans
    together = _verify(home, article_file, "--jobs", "2")

    assert together == alone
    code, report = together
    assert code == 1 and report["files"] == 3
    assert problems(report, "garbage") == [
        (article_file.path.name, article_file.garbled.offset, garbage_detail(article_file))
    ]
    assert len(problems(report, "uncatalogued-article")) == ARTICLES - 1 + 80


def test_reindex_with_two_jobs_catalogues_every_article_after_a_garbage_member(
    article_file: ArticleFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spans, "SPAN_SIZE", 100_000)  # the damaged file read in several spans
    home = _home(article_file, tmp_path)

    result = cli(home, article_file, "reindex", "--jobs", "2")

    assert result.returncode == 1
    path = home / "warc" / article_file.path.name
    assert f"damaged, not read: {path}:{article_file.garbled.offset}: " in result.stdout
    assert garbage_detail(article_file) in result.stdout
    assert catalogued(home, article_file) == sorted(article_file.urls)
