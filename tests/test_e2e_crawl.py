"""End to end: `cppcc-archive crawl` of the replica, then the WARC files and the catalogue."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from warcio.archiveiterator import ArchiveIterator

from pipelines.normalise import fold_text
from replicas.rmzxb.articles import RELATED_PATHS, article_specs, replica_articles
from replicas.rmzxb.site import (
    LEGACY_PATH,
    LOGIN_PAGE_PATH,
    NOT_FOUND_PATH,
    OTHER_CHANNEL_NEXT_PATH,
    SERVER_ERROR_PATH,
    SUB_CHANNEL_NEXT_PATH,
    build_site,
    not_found_page,
)
from replicas.server import ReplicaServer
from tests.conftest import REPLICA_SEEDS, CliResult, reference_file, run_cli, run_cli_reading

ARTICLES = {article.key: article for article in replica_articles()}


class Archive:
    """One crawl of the replica, shared by the tests of this module."""

    def __init__(self, server: ReplicaServer, home: Path, seeds: Path, first: CliResult):
        self.server = server
        self.home = home
        self.seeds = seeds
        self.first = first

    def cli(self, *args: str) -> CliResult:
        return run_cli_reading("--home", str(self.home), "--seeds", str(self.seeds), *args)

    def json(self, *args: str) -> Any:
        result = self.cli(*args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def records(self) -> list[Any]:
        records = []
        for path in sorted((self.home / "warc").glob("*.warc.gz")):
            with path.open("rb") as stream:
                for record in ArchiveIterator(stream):
                    records.append((record, record.content_stream().read()))
        return records

    def url(self, path: str) -> str:
        return self.server.base_url + path


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    home = tmp_path_factory.mktemp("home")
    with ReplicaServer(build_site, not_found_page) as server:
        seeds = home.parent / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        first = run_cli("--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/xs", "rmzxb/yw")
        yield Archive(server, home, seeds, first)


def test_crawl_exits_zero_and_lists_error_pages(archive: Archive) -> None:
    result = archive.first
    assert result.returncode == 0, result.stderr + result.stdout
    assert re.search(r"run \d+ finished", result.stdout)
    assert f"404 {archive.url(NOT_FOUND_PATH)}" in result.stdout
    assert f"500 {archive.url(SERVER_ERROR_PATH)}" in result.stdout
    # Progress went to stderr while it ran.
    assert "crawling rmzxb: pages" in result.stderr


def test_crawl_log_has_no_error(archive: Archive) -> None:
    log = next((archive.home / "logs").glob("run-*-rmzxb.log")).read_text(encoding="utf-8")
    errors = [line for line in log.splitlines() if " ERROR: " in line]
    # The one expected: Scrapy gives up retrying the page that always answers 500.
    assert len(errors) == 1 and "Gave up retrying" in errors[0], errors
    assert SERVER_ERROR_PATH in errors[0]
    assert "tldextract" not in log
    # Nor a warning of Python's (a deprecated setting, say) to puzzle the log's reader.
    assert "[py.warnings]" not in log


def test_every_exchange_is_a_linked_request_response_pair(archive: Archive) -> None:
    records = archive.records()
    # A payload archived before (the 500 page asked for again by the retries) is a revisit.
    responses = {
        r.rec_headers["WARC-Record-ID"]: r
        for r, _ in records
        if r.rec_type in ("response", "revisit")
    }
    requests = [r for r, _ in records if r.rec_type == "request"]
    assert len(requests) == len(responses) > 20
    for request in requests:
        assert request.rec_headers["WARC-Concurrent-To"] in responses
    fetched = {r.rec_headers["WARC-Target-URI"] for r in responses.values()}
    for path in (
        "/robots.txt",
        "/xs/index.shtml",
        "/xs/index_2.shtml",
        "/yw_n/index.shtml",
        NOT_FOUND_PATH,
        SERVER_ERROR_PATH,
        LEGACY_PATH,
        *ARTICLES["seed"].image_paths,
    ):
        assert archive.url(path) in fetched, path
    assert not list((archive.home / "warc").glob("*.open"))


def test_robots_txt_is_obeyed(archive: Archive) -> None:
    forbidden = ARTICLES["robots"].pages[0].path
    assert forbidden not in archive.server.requests
    assert "/robots.txt" in archive.server.requests


def test_only_list_pages_lead_to_articles(archive: Archive) -> None:
    # 相关新闻 on article pages and the navigation bar are not followed.
    for path in RELATED_PATHS:
        assert path not in archive.server.requests
    assert "/xs/zxdt/" not in archive.server.requests
    assert not any(p.startswith(("/yl_n/", "/tz/")) for p in archive.server.requests)
    # Links in 协商's side box that look like its next list page.
    assert SUB_CHANNEL_NEXT_PATH not in archive.server.requests
    assert OTHER_CHANNEL_NEXT_PATH not in archive.server.requests
    assert "/xs/index_2.shtml" in archive.server.requests


def test_page_that_is_not_an_article_is_archived_with_its_reason(archive: Archive) -> None:
    url = archive.url(LOGIN_PAGE_PATH)
    assert url in {r.rec_headers["WARC-Target-URI"] for r in _responses(archive)}
    engine = create_engine(f"sqlite:///{archive.home / 'catalogue.sqlite3'}")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT reason, warc_filename FROM rejections WHERE url = :url"), {"url": url}
        ).all()
    engine.dispose()
    # Its <title> says 用户登录, but it has no date line: not an article.
    assert rows and rows[0][0] == "no-date" and rows[0][1]
    run = archive.json("runs", "--format", "json")[-1]
    assert run["counts"]["pages_rejected"] == 1
    assert url not in [a["url"] for a in archive.json("articles", "--format", "json")]


def test_gzip_page_is_archived_as_the_compressed_bytes_sent(archive: Archive) -> None:
    path = ARTICLES["gzip"].pages[0].path
    sent = archive.server.routes[path].body
    record, raw = next(
        (r, r.raw_stream.read())
        for r in _responses(archive)
        if r.rec_headers["WARC-Target-URI"] == archive.url(path)
    )
    assert record.http_headers.get_header("Content-Encoding") == "gzip"
    assert raw == sent
    assert raw[:2] == b"\x1f\x8b"


def test_redirect_is_its_own_pair_before_the_article(archive: Archive) -> None:
    uris = [
        (
            r.rec_type,
            r.rec_headers["WARC-Target-URI"],
            r.http_headers.get_statuscode() if r.rec_type == "response" else None,
        )
        for r, _ in archive.records()
    ]
    target = archive.url(ARTICLES["legacy"].pages[0].path)
    redirect = uris.index(("response", archive.url(LEGACY_PATH), "301"))
    assert ("request", archive.url(LEGACY_PATH), None) in uris[redirect - 1 : redirect + 2]
    assert uris.index(("response", target, "200")) > redirect


def test_both_cookies_are_in_the_record(archive: Archive) -> None:
    path = ARTICLES["cookies"].pages[0].path
    record = next(
        r for r in _responses(archive) if r.rec_headers["WARC-Target-URI"] == archive.url(path)
    )
    cookies = [value for name, value in record.http_headers.headers if name.lower() == "set-cookie"]
    assert len(cookies) == 2 and cookies[0] != cookies[1]


def test_warc_files_are_clean_for_warcio(archive: Archive) -> None:
    warcio = Path(sys.executable).parent / "warcio"
    paths = sorted((archive.home / "warc").glob("*.warc.gz"))
    assert paths  # the crawl wrote (and closed) its files: else there is nothing to check
    for path in paths:
        check = subprocess.run([warcio, "check", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        index = subprocess.run([warcio, "index", str(path)], capture_output=True, text=True)
        assert index.returncode == 0 and index.stdout.count("\n") > 2


def test_every_article_is_catalogued_once(archive: Archive) -> None:
    listed = archive.json("articles", "--format", "json", "--limit", "1000")
    urls = [article["url"] for article in listed]
    assert len(urls) == len(set(urls))
    expected = {archive.url(a.pages[0].path) for key, a in ARTICLES.items() if key != "robots"}
    assert set(urls) == expected
    dates = [article["published_at"] for article in listed]
    assert dates == sorted(dates, reverse=True)
    for article in listed:
        assert set(article) >= {
            "id",
            "url",
            "site",
            "channel",
            "section",
            "title",
            "published_at",
            "source",
        }
        assert article["site"] == "rmzxb"


def test_filters_by_channel_and_date(archive: Archive) -> None:
    seed_day = ARTICLES["seed"].published.isoformat()
    on_day = archive.json("articles", "--format", "json", "--since", seed_day, "--until", seed_day)
    assert archive.url(ARTICLES["seed"].pages[0].path) in [a["url"] for a in on_day]
    assert all(a["published_at"].startswith(seed_day) for a in on_day)
    yw = archive.json("articles", "--format", "json", "--channel", "yw")
    assert yw and all(a["channel"] == "yw" for a in yw)
    assert archive.url(ARTICLES["real"].pages[0].path) in [a["url"] for a in yw]


def test_seed_article_renders_as_the_reader_sees_it(archive: Archive) -> None:
    url = archive.url(ARTICLES["seed"].pages[0].path) + "?n2m=1"
    result = archive.cli("show", url, "--format", "text")
    assert result.returncode == 0, result.stderr
    ours = _lines(result.stdout)
    seed = _lines(reference_file("seed_article.txt").read_text(encoding="utf-8"))
    # Page chrome around the article that the text rendering leaves out.
    chrome = {seed[0], seed[1], "分享到:", "人民政协报政协号客户端下载 >", "相关新闻"}
    # Each picture is marked where it stands, its caption after the mark.
    images = archive.json("show", url)["images"]
    marks = [f"[图片: {image['url']}] " for image in images]
    marked = [line for line in ours if line.startswith("[图片: ")]
    assert [line[: len(mark)] for line, mark in zip(marked, marks, strict=True)] == marks
    unmarked = [line.split("] ", 1)[1] if line.startswith("[图片: ") else line for line in ours]
    assert unmarked == [line for line in seed if line not in chrome]


def test_show_json_holds_every_field(archive: Archive) -> None:
    seed = archive.json("show", archive.url(ARTICLES["seed"].pages[0].path))
    assert seed["site"] == "rmzxb" and seed["channel"] == "xs"
    assert seed["content_id"] == "3064624"
    assert seed["section"] == ["协商", "政协动态"]
    assert seed["title"] == "与历史同向 与时代同行 与人民同心"
    assert seed["subtitle"] == "河南省政协以作风建设引领履职创新纪实"
    assert seed["published_at"] == "2022-03-04T16:03:00+08:00"
    assert (seed["source"], seed["author"], seed["editor"]) == ("人民政协网", None, "李京")
    assert seed["keywords"] == ["政协", "河南省", "工作", "建设"]
    assert len(seed["images"]) == 5 and all(
        i["caption"].startswith("2021年") for i in seed["images"]
    )
    assert not any(p.startswith("2021年5月21日,河南省政协召开") for p in seed["paragraphs"])
    assert seed["content_hash"]
    [capture] = seed["captures"]
    assert capture["status"] == 200 and capture["record_id"].startswith("<urn:uuid:")
    # The capture's offset and length find the response record in its WARC file.
    with (archive.home / "warc" / capture["warc_file"]).open("rb") as stream:
        stream.seek(capture["offset"])
        record = next(iter(ArchiveIterator(stream)))
        assert record.rec_headers["WARC-Record-ID"] == capture["record_id"]


def test_real_page_and_two_page_article(archive: Archive) -> None:
    real = archive.json("show", archive.url(ARTICLES["real"].pages[0].path))
    assert real["section"] == ["要闻"] and real["source"] == "新华社"
    assert real["author"] == "董博婷 王秋韵 周晔" and real["editor"] == "朱建华"
    two = archive.json("show", archive.url(ARTICLES["two_page"].pages[0].path))
    assert len(two["captures"]) == 2
    assert two["page_count"] == 2
    spec = next(spec for spec in article_specs() if spec.key == "two_page")
    page_two = [fold_text(block) for block in spec.pages[1] if isinstance(block, str)]
    assert page_two and two["paragraphs"][-len(page_two) :] == page_two
    assert [image["caption"] for image in two["images"]] == ["双周协商座谈会现场。"]
    gbk = archive.json("show", archive.url(ARTICLES["gbk"].pages[0].path))
    assert "镕" in "".join(gbk["paragraphs"]) + gbk["title"]


def test_second_crawl_adds_no_duplicate(archive: Archive) -> None:
    before = archive.json("articles", "--format", "json", "--limit", "1000")
    # Two months on, every article is due a re-check: each one met is fetched again.
    later = (datetime.now(UTC) + timedelta(days=60)).isoformat()
    again = run_cli(
        *("--home", str(archive.home), "--seeds", str(archive.seeds)),
        *("crawl", "rmzxb/xs", "rmzxb/yw", "--format", "json"),
        env={"CPPCC_NOW": later},
    )
    assert again.returncode == 0, again.stderr
    run = json.loads(again.stdout)
    assert run["status"] == "finished" and run["counts"]["articles_new"] == 0
    assert run["counts"]["articles_updated"] == 0 and run["counts"]["articles_unchanged"] > 3
    after = archive.json("articles", "--format", "json", "--limit", "1000")
    assert sorted(a["url"] for a in after) == sorted(a["url"] for a in before)
    runs = archive.json("runs", "--format", "json")
    assert [r["status"] for r in runs[:2]] == ["finished", "finished"]
    assert runs[0]["trigger"] == "manual" and runs[0]["channels"] == ["rmzxb/xs", "rmzxb/yw"]
    assert runs[0]["started_at"] > runs[1]["started_at"]


def test_a_crawl_soon_after_fetches_no_known_article(archive: Archive) -> None:
    start = len(archive.server.requests)
    result = archive.cli("crawl", "rmzxb/xs", "rmzxb/yw", "--format", "json")
    assert result.returncode == 0, result.stderr
    asked = [path.split("?")[0] for path in archive.server.requests[start:]]
    assert "/xs/index.shtml" in asked
    # Neither an article nor the old URL that redirects to one: both are known. The pages
    # that answered 404 and 500 are asked for again: they may work now.
    assert LEGACY_PATH not in asked
    articles = {path for path in asked if path.startswith("/c/")}
    assert articles <= {NOT_FOUND_PATH, SERVER_ERROR_PATH}, articles
    assert json.loads(result.stdout)["counts"]["articles_unchanged"] == 0


def test_max_list_pages_walks_one_list_page_per_channel(
    replica: ReplicaServer, replica_seeds: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    args = ("--home", str(home), "--seeds", str(replica_seeds), "crawl", "rmzxb/xs", "rmzxb/yw")
    result = run_cli(*args, "--max-list-pages", "1")
    assert result.returncode == 0, result.stderr
    walked = [path for path in replica.requests if re.fullmatch(r"/\w+/index(_\d+)?\.shtml", path)]
    assert sorted(walked) == ["/xs/index.shtml", "/yw_n/index.shtml"]
    # Articles on the first list page were fetched, those only on the second were not.
    first, second = (_article_links(replica, f"/xs/{name}.shtml") for name in ("index", "index_2"))
    first -= {ARTICLES["robots"].pages[0].path}  # robots.txt forbids it
    assert first and first <= set(replica.requests)
    assert second - first and not (second - first) & set(replica.requests)


def test_the_walk_stays_one_list_page_ahead_of_the_articles(
    replica: ReplicaServer, tmp_path: Path
) -> None:
    # The walk stays one list page ahead of the downloads, so a channel of 10,000 articles
    # does not hold 10,000 queued requests in memory (benchmarks: memory): list page n + 2 is
    # asked for only after every article of list page n. Not n + 1: the engine hands the
    # downloader up to CONCURRENT_REQUESTS requests at once, and they reach the site in the
    # order they clear the downloader middlewares, so under load an article of page n can
    # follow page n + 1 on the wire (seen twice in full runs).
    seeds = tmp_path / "seeds.toml"
    one_at_a_time = REPLICA_SEEDS.replace("autothrottle", "concurrent_requests = 1\nautothrottle")
    seeds.write_text(one_at_a_time.format(base_url=replica.base_url), encoding="utf-8")
    home = tmp_path / "home"
    result = run_cli("--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/xs")
    assert result.returncode == 0, result.stderr
    asked = replica.requests
    pages = ["/xs/index.shtml", "/xs/index_2.shtml", "/xs/index_3.shtml"]
    assert all(page in asked for page in pages)
    first_page_articles = _article_links(replica, pages[0]) & set(asked)
    assert first_page_articles
    assert all(asked.index(path) < asked.index(pages[2]) for path in first_page_articles)
    # And the walk went page by page.
    assert asked.index(pages[0]) < asked.index(pages[1]) < asked.index(pages[2])


def _article_links(server: ReplicaServer, path: str) -> set[str]:
    return set(re.findall(r'href="(/c/[^"?]+)', server.routes[path].body.decode("utf-8")))


def _responses(archive: Archive) -> Iterator[Any]:
    for path in sorted((archive.home / "warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    yield record


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def test_search_finds_the_seed_article_by_its_words(archive: Archive) -> None:
    hits = archive.json("articles", "--search", "河南省政协 作风建设", "--format", "json")
    seed = ARTICLES["seed"]
    assert [hit["url"] for hit in hits] == [archive.url(seed.pages[0].path)]
    assert hits[0]["title_match"] is False  # the words are in its subtitle and body
    start, end = hits[0]["highlights"][0]
    assert hits[0]["snippet"][start:end] in ("河南省政协", "作风建设")
    table = archive.cli("articles", "--search", "作风建设", "--section", "政协动态")
    assert table.returncode == 0, table.stderr
    assert "【作风建设】" in table.stdout
    none = archive.json(
        "articles", "--search", "作风建设", "--source", "新华社", "--format", "json"
    )
    assert none == []
