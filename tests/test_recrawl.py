"""End to end: recrawls of a channel whose server changes between runs archive what changed.

The replica answers conditional requests (ETag on list pages and one article, Last-Modified
on the others, nothing on one article); between runs it edits a paragraph and puts a new
article on list page 1. Each crawl runs `cppcc-archive crawl` in a subprocess.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer, Reply, Routes
from tests.conftest import REPLICA_SEEDS, run_cli, run_cli_reading

LIST_1, LIST_2 = "/yw_n/index.shtml", "/yw_n/index_2.shtml"
EDITED = "/c/2023-03-27/3312876.shtml"  # has an ETag; a paragraph changes before run 3
UNCHANGED = "/c/2023-03-05/3303391.shtml"  # Last-Modified only: answers 304
NO_VALIDATORS = "/c/2023-03-13/3308004.shtml"  # neither: sends the same bytes again
NEW = "/c/2023-04-12/3318000.shtml"  # appears on list page 1 before run 3
OLD_TEXT = "人民政协是社会主义协商民主的重要渠道和专门协商机构。"
NEW_TEXT = "人民政协是社会主义协商民主的重要渠道和专门协商机构,本段已修订。"


def _with_etag(reply: Reply) -> Reply:
    etag = '"' + hashlib.sha1(reply.body).hexdigest()[:16] + '"'
    return replace(reply, headers=(*reply.headers, ("ETag", etag)))


def _without_validators(reply: Reply) -> Reply:
    kept = tuple((n, v) for n, v in reply.headers if n.lower() not in ("etag", "last-modified"))
    return replace(reply, headers=kept)


def conditional_site(base_url: str) -> Routes:
    routes = dict(build_site(base_url))
    for path in (LIST_1, LIST_2, EDITED):
        routes[path] = _with_etag(routes[path])
    routes[NO_VALIDATORS] = _without_validators(routes[NO_VALIDATORS])
    return routes


def edit_site(server: ReplicaServer) -> None:
    """A paragraph edited, and a new article linked from list page 1."""
    routes = dict(server.routes)
    edited = routes[EDITED]
    assert OLD_TEXT.encode() in edited.body
    routes[EDITED] = _with_etag(
        replace(_without_validators(edited), body=edited.body.replace(
            OLD_TEXT.encode(), NEW_TEXT.encode()
        ))
    )  # fmt: skip
    model = routes[UNCHANGED]
    routes[NEW] = replace(
        model, body=model.body.replace("委员热议".encode(), "新稿:委员再议".encode())
    )
    listing = _without_validators(routes[LIST_1])
    link = f'<li><a href="{NEW}">新稿:委员再议政府工作报告</a></li>'.encode()
    routes[LIST_1] = _with_etag(
        replace(listing, body=listing.body.replace(b"<li>", link + b"<li>", 1))
    )
    server.routes = routes


@dataclass
class Recrawl:
    server: ReplicaServer
    home: Path
    seeds: Path
    runs: list[dict[str, Any]]
    requests: list[list[str]]  # paths the server was asked for, per run

    def cli(self, *args: str) -> Any:
        result = run_cli_reading("--home", str(self.home), "--seeds", str(self.seeds), *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def crawl(self, now: datetime | None = None) -> None:
        start = len(self.server.requests)
        env = {"CPPCC_NOW": now.isoformat()} if now else {}
        result = run_cli(
            *("--home", str(self.home), "--seeds", str(self.seeds)),
            *("crawl", "rmzxb/yw", "--format", "json"),
            env=env,
        )
        assert result.returncode == 0, result.stderr
        self.runs.append(json.loads(result.stdout))
        self.requests.append([p.split("?")[0] for p in self.server.requests[start:]])

    def records(self, run: int) -> list[Any]:
        """The WARC records written by the run with this index (0 for the first)."""
        found = []
        for path in sorted((self.home / "warc").glob("*.warc.gz")):
            with path.open("rb") as stream:
                for record in ArchiveIterator(stream):
                    record.raw = record.raw_stream.read()
                    found.append(record)
        warcinfo = [r.rec_headers["WARC-Record-ID"] for r in found if r.rec_type == "warcinfo"]
        # Each crawl writes its own files; each file starts with its warcinfo record.
        mine = warcinfo[run]
        return [r for r in found if r.rec_headers.get("WARC-Warcinfo-ID") == mine]


@pytest.fixture(scope="module")
def recrawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recrawl]:
    tmp = tmp_path_factory.mktemp("recrawl")
    with ReplicaServer(conditional_site, not_found_page) as server:
        seeds = tmp / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        archive = Recrawl(server, tmp / "home", seeds, [], [])
        archive.crawl()  # 1: everything is new
        archive.crawl()  # 2: at once, nothing changed
        edit_site(server)
        archive.crawl(datetime.now(UTC) + timedelta(hours=2))  # 3: past the first re-check
        archive.crawl(datetime.now(UTC) + timedelta(days=2))  # 4: past the second, unchanged
        yield archive


def _articles_asked(paths: list[str]) -> list[str]:
    return [path for path in paths if path.startswith("/c/")]


def test_an_unchanged_channel_is_not_fetched_again(recrawl: Recrawl) -> None:
    assert _articles_asked(recrawl.requests[0])  # the first crawl fetched the articles
    assert _articles_asked(recrawl.requests[1]) == []
    # List page 1 holds only known articles: the walk stops there.
    assert LIST_1 in recrawl.requests[1] and LIST_2 not in recrawl.requests[1]


def test_an_unchanged_crawl_writes_revisits_only(recrawl: Recrawl) -> None:
    records = recrawl.records(1)
    kinds = sorted({r.rec_type for r in records})
    assert "response" not in kinds and "revisit" in kinds
    by_uri = {r.rec_headers["WARC-Target-URI"]: r for r in records if r.rec_type == "revisit"}
    listing = by_uri[recrawl.server.base_url + LIST_1]
    assert listing.rec_headers["WARC-Profile"].endswith("/server-not-modified")
    robots = by_uri[recrawl.server.base_url + "/robots.txt"]  # served without validators
    assert robots.rec_headers["WARC-Profile"].endswith("/identical-payload-digest")
    for revisit in by_uri.values():
        assert revisit.rec_headers["WARC-Refers-To"]
        assert revisit.rec_headers["WARC-Refers-To-Target-URI"]
        assert revisit.rec_headers["WARC-Refers-To-Date"]


def test_the_run_summary_reports_the_bytes_written(recrawl: Recrawl) -> None:
    first, second = (run["warc"]["bytes"] for run in recrawl.runs[:2])
    on_disk = sum(path.stat().st_size for path in (recrawl.home / "warc").glob("*.warc.gz"))
    assert sum(run["warc"]["bytes"] for run in recrawl.runs) == on_disk
    assert second <= first * 0.05, (first, second)


def test_a_later_crawl_rechecks_due_articles_conditionally(recrawl: Recrawl) -> None:
    asked = _articles_asked(recrawl.requests[2])
    assert {NEW, EDITED, UNCHANGED, NO_VALIDATORS} <= set(asked)
    assert LIST_2 in recrawl.requests[2]  # page 1 had a new article: the walk went on
    counts = recrawl.runs[2]["counts"]
    assert counts["articles_new"] == 1 and counts["articles_updated"] == 1
    revisits = {
        r.rec_headers["WARC-Target-URI"].removeprefix(recrawl.server.base_url): r
        for r in recrawl.records(2)
        if r.rec_type == "revisit"
    }
    assert revisits[UNCHANGED].rec_headers["WARC-Profile"].endswith("/server-not-modified")
    assert revisits[NO_VALIDATORS].rec_headers["WARC-Profile"].endswith("/identical-payload-digest")
    responses = {
        r.rec_headers["WARC-Target-URI"].removeprefix(recrawl.server.base_url)
        for r in recrawl.records(2)
        if r.rec_type == "response"
    }
    assert {NEW, EDITED, LIST_1} <= responses


def test_articles_off_the_walked_list_pages_are_rechecked_when_due(recrawl: Recrawl) -> None:
    # Run 4: list page 1 is unchanged, so the walk stops there; the articles of page 2 are
    # due their one-day re-check all the same.
    asked = recrawl.requests[3]
    assert LIST_1 in asked and LIST_2 not in asked
    page_2 = ["/c/2023-02-27/3299508.shtml", "/c/2022-09-01/3180233.shtml"]
    assert set(page_2) <= set(asked)
    assert recrawl.runs[3]["counts"]["articles_new"] == 0
    assert recrawl.runs[3]["counts"]["articles_updated"] == 0


def test_an_edited_article_gets_a_new_version_with_its_diff(recrawl: Recrawl) -> None:
    url = recrawl.server.base_url + EDITED
    article = recrawl.cli("show", url)
    assert NEW_TEXT in article["paragraphs"] and OLD_TEXT not in article["paragraphs"]
    history = recrawl.cli("show", url, "--versions")["versions"]
    assert [v["number"] for v in history] == [1, 2]
    # Each version names the capture of page 1 that showed it, fetched when it was captured.
    fetched = {c["record_id"]: c["fetched_at"] for c in article["captures"] if c["page"] == 1}
    assert [fetched[v["record_id"]] for v in history] == [v["captured_at"] for v in history]
    assert min(fetched.values()) == history[0]["captured_at"]
    assert history[1]["changed_fields"] == ["paragraphs"]
    assert f"-{OLD_TEXT}" in history[1]["paragraph_diff"]
    assert f"+{NEW_TEXT}" in history[1]["paragraph_diff"]
    text = run_cli(
        *("--home", str(recrawl.home), "--seeds", str(recrawl.seeds)),
        *("show", url, "--versions", "--format", "text"),
    )
    assert f"  +{NEW_TEXT}" in text.stdout.splitlines()


def test_changed_since_lists_the_edited_articles_only(recrawl: Recrawl) -> None:
    today = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    changed = recrawl.cli("articles", "--changed-since", today, "--format", "json")
    assert [a["url"] for a in changed] == [recrawl.server.base_url + EDITED]
    unchanged = recrawl.cli("show", recrawl.server.base_url + UNCHANGED, "--versions")
    assert len(unchanged["versions"]) == 1


def test_reextract_reads_revisits_through_their_originals(recrawl: Recrawl) -> None:
    # After run 3 most articles' latest captures are revisits (304 or identical payload).
    report = recrawl.cli("reextract", "--format", "json")
    articles = recrawl.cli("articles", "--format", "json", "--limit", "100")
    assert report["failures"] == [] and report["examined"] == len(articles)
    assert report["changed"] == 0
