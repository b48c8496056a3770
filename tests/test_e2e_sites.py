"""End to end: `cppcc-archive crawl cppcc` and `crawl hnzx` of their replicas into one archive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.normalise import fold_text
from replicas.cppcc import site as cppcc_site
from replicas.cppcc.articles import replica_articles as cppcc_articles
from replicas.hnzx import site as hnzx_site
from replicas.hnzx.articles import CHANNEL_ARTICLES as HNZX_CHANNELS
from replicas.hnzx.articles import replica_articles as hnzx_articles
from replicas.rmzxb.articles import ReplicaArticle
from replicas.server import ReplicaServer
from tests.conftest import CliResult, assert_clean_warc_files, run_cli, run_cli_reading
from tests.test_spider_cppcc import CPPCC_SEEDS
from tests.test_spider_hnzx import HNZX_SEEDS

# Both of 河南's channels, so that every replica article is reached.
HNZX_BOTH_CHANNELS = (
    HNZX_SEEDS
    + """
[sites.hnzx.channels.lzyw]
name = "履职要闻"
list = "/lzyw/"
"""
)
CPPCC = {article.key: article for article in cppcc_articles()}
HNZX = {article.key: article for article in hnzx_articles()}


@dataclass
class Sites:
    """Both replicas, crawled one after the other into the same archive home."""

    cppcc: ReplicaServer
    hnzx: ReplicaServer
    home: Path
    seeds: Path
    crawls: dict[str, CliResult]

    def json(self, *args: str) -> Any:
        result = run_cli_reading("--home", str(self.home), "--seeds", str(self.seeds), *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def articles(self, site: str) -> list[dict[str, Any]]:
        return list(self.json("articles", "--site", site, "--format", "json", "--limit", "1000"))

    def responses(self) -> dict[str, tuple[Any, bytes]]:
        """Response records by target URI, with their payload as sent; a revisit (a picture
        whose bytes another URL already had) comes with the payload of the record it names."""
        found, payloads, revisits = {}, {}, []
        for path in sorted((self.home / "warc").glob("*.warc.gz")):
            with path.open("rb") as stream:
                for record in ArchiveIterator(stream):
                    uri = record.rec_headers["WARC-Target-URI"]
                    if record.rec_type == "response":
                        payload = record.raw_stream.read()
                        payloads[record.rec_headers["WARC-Record-ID"]] = payload
                        found[uri] = (record, payload)
                    elif record.rec_type == "revisit":
                        revisits.append((uri, record, record.rec_headers["WARC-Refers-To"]))
        for uri, record, original in revisits:
            found.setdefault(uri, (record, payloads[original]))
        return found

    def report(self, site: str) -> dict[str, Any]:
        [path] = (self.home / "logs").glob(f"run-*-{site}.report.jsonl")
        events = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
        [finished] = [event for event in events if event.get("event") == "finished"]
        return finished


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    home = tmp_path_factory.mktemp("sites-home")
    with (
        ReplicaServer(cppcc_site.build_site, cppcc_site.not_found_page) as cppcc,
        ReplicaServer(hnzx_site.build_site, hnzx_site.not_found_page) as hnzx,
    ):
        seeds = home.parent / "sites-seeds.toml"
        seeds.write_text(
            CPPCC_SEEDS.format(base_url=cppcc.base_url)
            + "\n"
            + HNZX_BOTH_CHANNELS.format(base_url=hnzx.base_url),
            encoding="utf-8",
        )
        crawls = {
            site: run_cli("--home", str(home), "--seeds", str(seeds), "crawl", site)
            for site in ("cppcc", "hnzx")
        }
        yield Sites(cppcc, hnzx, home, seeds, crawls)


def expected(server: ReplicaServer, articles: dict[str, ReplicaArticle]) -> dict[str, str]:
    """Title by URL of every replica article, folded as the catalogue holds it (（） to ())."""
    return {server.base_url + a.pages[0].path: fold_text(a.title) for a in articles.values()}


def test_both_crawls_exit_zero(sites: Sites) -> None:
    for site, result in sites.crawls.items():
        assert result.returncode == 0, f"{site}: {result.stderr}{result.stdout}"
        assert "HTTP errors 0, errors 0" in result.stdout, result.stdout
        [log] = (sites.home / "logs").glob(f"run-*-{site}.log")
        errors = [line for line in log.read_text("utf-8").splitlines() if " ERROR: " in line]
        assert not errors, errors


def test_every_cppcc_article_is_catalogued_once_with_its_title(sites: Sites) -> None:
    listed = sites.articles("cppcc")
    urls = [article["url"] for article in listed]
    assert len(urls) == len(set(urls))
    assert {a["url"]: a["title"] for a in listed} == expected(sites.cppcc, CPPCC)
    assert {article["site"] for article in listed} == {"cppcc"}
    # Each article in the channel whose list links it.
    keys = {sites.cppcc.base_url + a.pages[0].path: key for key, a in CPPCC.items()}
    lists = cppcc_site.channel_lists(CPPCC)
    assert all(keys[a["url"]] in lists[a["channel"]] for a in listed), listed


def test_every_hnzx_article_is_catalogued_once_and_decoded(sites: Sites) -> None:
    listed = sites.articles("hnzx")
    urls = [article["url"] for article in listed]
    assert len(urls) == len(set(urls))
    assert {a["url"]: a["title"] for a in listed} == expected(sites.hnzx, HNZX)
    assert {article["site"] for article in listed} == {"hnzx"}
    assert {a["channel"] for a in listed} == set(HNZX_CHANNELS)
    url = sites.hnzx.base_url + HNZX["gbk_names"].pages[0].path
    shown = sites.json("show", url)
    # 镕 and 堃 are GBK, not GB2312: the page said gb2312 and still reads right.
    assert "镕" in shown["title"] and any("镕" in p and "堃" in p for p in shown["paragraphs"])


def test_lists_of_both_designs_are_walked_and_only_their_items_followed(sites: Sites) -> None:
    asked = sites.cppcc.requests
    for path in (
        "/zxxw/yw/",
        "/zxxw/yw/index_2.shtml",
        "/zxww/newcppcc/zxyw/index.shtml",
        "/zxww/newcppcc/zxyw/index_2.shtml",
    ):
        assert path in asked, path
    assert cppcc_site.NAV_ARTICLE_PATH not in asked
    assert not any(path.startswith("/zxww/newcppcc/") and "/zxyw/" not in path for path in asked)
    assert "/" not in asked  # the homepage is for discovery, not for crawls
    walked = sites.hnzx.requests
    for path in ("/zxyw/", "/zxyw/list_3_2.html", "/lzyw/", "/lzyw/list_4_2.html"):
        assert path in walked, path
    assert not any(path.startswith(("/wyfc/", "/sxzx/", "/wsgz/")) for path in walked)


def test_pictures_and_attachments_are_archived_as_sent(sites: Sites) -> None:
    responses = sites.responses()
    files = [
        path
        for path, reply in sites.cppcc.routes.items()
        if not reply.headers[0][1].startswith(("text/", "image/"))
    ]
    assert any(path.endswith(".pdf") for path in files) and any(p.endswith(".docx") for p in files)
    for path in [*files, *(p for a in CPPCC.values() for p in a.image_paths)]:
        _, payload = responses[sites.cppcc.base_url + path]
        assert payload == sites.cppcc.routes[path].body, path
    for article in HNZX.values():
        for path in article.image_paths:
            assert sites.hnzx.base_url + path in responses


def test_gbk_pages_are_archived_as_the_gbk_bytes_sent(sites: Sites) -> None:
    responses = sites.responses()
    path = HNZX["gbk_names"].pages[0].path
    record, payload = responses[sites.hnzx.base_url + path]
    assert record.http_headers.get_header("Content-Type") == "text/html; charset=gb2312"
    assert payload == sites.hnzx.routes[path].body
    assert "镕".encode("gbk") in payload


def test_warc_files_read_to_their_end(sites: Sites) -> None:
    assert_clean_warc_files(sites.home)


def test_date_mismatch_is_flagged_in_the_runs_stats(sites: Sites) -> None:
    stats = sites.report("cppcc")["stats"]
    flagged = {key: value for key, value in stats.items() if "date-disagrees-with-url" in key}
    assert list(flagged.values()) == [1], stats
    assert not any("date-disagrees-with-url" in key for key in sites.report("hnzx")["stats"])


def test_field_coverage_and_warnings_are_in_runs_json_and_the_summary(sites: Sites) -> None:
    runs = {run["channels"][0].split("/")[0]: run for run in sites.json("runs", "--format", "json")}
    cppcc, hnzx = runs["cppcc"]["coverage"], runs["hnzx"]["coverage"]
    assert cppcc["warnings"] == {"date-disagrees-with-url": 1} and hnzx["warnings"] == {}
    assert sum(channel["articles"] for channel in cppcc["channels"].values()) == len(CPPCC)
    # 中国政协网's profile finds the main fields on every page; 河南's has no selectors for them.
    main = {"title", "published_at", "source", "paragraphs"}
    assert not any(main & set(channel["fallback"]) for channel in cppcc["channels"].values())
    for channel in hnzx["channels"].values():
        assert channel["fallback"]["title"] == channel["articles"] > 0, hnzx
    assert cppcc["rejected"] == {} and cppcc["rejected_pages"] == []
    assert "  warnings: date-disagrees-with-url ×1\n" in sites.crawls["cppcc"].stdout
    assert "by fallback: " in sites.crawls["hnzx"].stdout


def test_an_articles_attachments_are_listed_in_the_catalogue(sites: Sites) -> None:
    files = {
        sites.cppcc.base_url + path
        for path, reply in sites.cppcc.routes.items()
        if reply.headers[0][1].startswith("application/")
    }
    listed = [sites.json("show", str(a["id"]), "--format", "json") for a in sites.articles("cppcc")]
    with_files = [article for article in listed if article["attachments"]]
    assert with_files, "no article lists its attachments"
    assert {url for article in with_files for url in article["attachments"]} == files
