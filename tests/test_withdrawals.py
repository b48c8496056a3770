"""End to end: re-checks notice articles withdrawn from the site, and restored; an outage of
the whole site withdraws nothing.

The replica (replicas/rmzxb/lifecycle.py) withdraws articles between crawls in each way a
site does it; each crawl runs `cppcc-archive crawl` in a subprocess, on SQLite and on
PostgreSQL, with CPPCC_NOW past the articles' next re-check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from replicas.rmzxb.lifecycle import WithdrawingReplica
from tests.conftest import REPLICA_SEEDS, CliResult, run_cli, run_cli_in_process
from tests.db_fixtures import BACKENDS, _new_database
from tests.test_web import start_web

# One article of each channel per way of withdrawing it (xs: 协商, yw: 要闻).
WITHDRAWN = {
    "/c/2022-03-04/3064624.shtml": "404",  # xs: the seed article
    "/c/2023-03-27/3312876.shtml": "410",  # yw
    "/c/2023-02-27/3299508.shtml": "home",  # yw: redirected to the home page
    "/c/2023-03-01/3301012.shtml": "list",  # xs: redirected to 协商's list page 1
    "/c/2023-03-05/3303391.shtml": "template",  # yw: 200, "页面不存在"
}
REASONS = {
    "404": "http-404",
    "410": "http-410",
    "home": "redirected to the home page",
    "list": "redirected to a list page",
    "template": "not-found template",
}
START = datetime.now(UTC)


@dataclass
class Archive:
    replica: WithdrawingReplica
    home: Path
    seeds: Path
    db: str
    summaries: list[str] = field(default_factory=list)

    def cli(self, *args: str) -> CliResult:
        common = ("--home", str(self.home), "--seeds", str(self.seeds), "--db", self.db)
        return run_cli_in_process(*common, *args)

    def json(self, *args: str) -> Any:
        result = self.cli(*args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def crawl(self, hours: float = 0, **env: str) -> str:
        """`crawl rmzxb` at CPPCC_NOW = START + hours; its text summary."""
        now = {"CPPCC_NOW": (START + timedelta(hours=hours)).isoformat()} if hours else {}
        result = run_cli(
            *("--home", str(self.home), "--seeds", str(self.seeds), "--db", self.db),
            "crawl", "rmzxb", env={**now, **env},
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        self.summaries.append(result.stdout)
        return result.stdout

    def url(self, path: str) -> str:
        return self.replica.base_url + path


@pytest.fixture(scope="module", params=BACKENDS)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Archive]:
    tmp = tmp_path_factory.mktemp("withdrawn")
    with WithdrawingReplica() as replica:
        seeds = tmp / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=replica.base_url), encoding="utf-8")
        for db in _new_database(request.param, request, tmp):
            yield Archive(replica, tmp / "home", seeds, db)


@pytest.fixture(scope="module")
def lifecycle(archive: Archive) -> Archive:
    """Crawled; five articles withdrawn and re-checked two hours later; one of them back and
    re-checked an hour after that."""
    archive.crawl()
    archive.replica.withdrawn = dict(WITHDRAWN)
    archive.crawl(hours=2)
    del archive.replica.withdrawn["/c/2022-03-04/3064624.shtml"]  # the 404 is back
    archive.crawl(hours=3.5)
    return archive


def test_withdrawn_articles_are_listed_with_their_date_and_reason(lifecycle: Archive) -> None:
    listed = lifecycle.json("articles", "--withdrawn", "--format", "json")
    still = {path: how for path, how in WITHDRAWN.items() if how != "404"}
    assert {article["url"]: article["withdrawn_reason"] for article in listed} == {
        lifecycle.url(path): REASONS[how] for path, how in still.items()
    }
    today = datetime.now(UTC).astimezone().date()
    for article in listed:
        withdrawn_at = datetime.fromisoformat(article["withdrawn_at"])
        assert withdrawn_at.utcoffset() == timedelta(hours=8)
        assert START <= withdrawn_at <= datetime.now(UTC)
    times = [article["withdrawn_at"] for article in listed]
    assert times == sorted(times, reverse=True)  # newest withdrawal first
    since = lifecycle.json("articles", "--withdrawn", "--since", f"{today + timedelta(days=2)}",
                           "--format", "json")  # fmt: skip
    assert since == []


def test_every_article_in_json_says_whether_it_is_withdrawn(lifecycle: Archive) -> None:
    articles = lifecycle.json("articles", "--limit", "0", "--format", "json")
    withdrawn = {a["url"] for a in articles if a["withdrawn_at"] is not None}
    assert withdrawn == {lifecycle.url(p) for p, how in WITHDRAWN.items() if how != "404"}
    assert all("withdrawn_at" in article for article in articles)
    assert len(articles) > len(WITHDRAWN) * 2


def test_the_404_that_withdrew_an_article_is_in_the_warc(lifecycle: Archive) -> None:
    shown = lifecycle.json("show", lifecycle.url("/c/2023-03-27/3312876.shtml"))
    (event,) = shown["events"]
    assert (event["kind"], event["reason"], event["status"]) == ("withdrawn", "http-410", 410)
    path = lifecycle.home / "warc" / event["warc_file"]
    with path.open("rb") as stream:
        stream.seek(event["offset"])
        record = next(iter(ArchiveIterator(stream)))
        assert record.rec_headers["WARC-Record-ID"] == event["record_id"]
        assert record.rec_headers["WARC-Target-URI"] == event["url"] == shown["url"]
        assert record.http_headers.get_statuscode() == "410"
        assert "稿件已撤销" in record.content_stream().read().decode("utf-8")


def test_a_redirect_withdrawal_keeps_the_redirect_as_evidence(lifecycle: Archive) -> None:
    shown = lifecycle.json("show", lifecycle.url("/c/2023-02-27/3299508.shtml"))
    (event,) = shown["events"]
    assert (event["reason"], event["status"]) == ("redirected to the home page", 302)
    assert shown["withdrawn_at"] == event["at"]


def test_an_article_back_on_the_site_is_restored(lifecycle: Archive) -> None:
    url = lifecycle.url("/c/2022-03-04/3064624.shtml")
    shown = lifecycle.json("show", url)
    assert shown["withdrawn_at"] is None
    kinds = [(event["kind"], event["reason"], event["status"]) for event in shown["events"]]
    assert kinds == [("withdrawn", "http-404", 404), ("restored", "found again", 200)]
    text = lifecycle.cli("show", url, "--format", "text")
    assert text.returncode == 0, text.stderr
    first, second = text.stdout.splitlines()[:2]
    assert first.startswith("[withdrawn on ") and first.endswith(": http-404]")
    assert second.startswith("[restored on ") and second.endswith(": found again]")


def test_the_run_summaries_count_withdrawals_and_restorations(lifecycle: Archive) -> None:
    _, second, third = lifecycle.summaries
    assert "rmzxb/xs: articles 2 withdrawn (of " in second
    assert "rmzxb/yw: articles 3 withdrawn (of " in second
    assert "warning" not in second
    assert "rmzxb/xs: articles 1 restored, 1 still withdrawn" in third
    runs = lifecycle.json("runs", "--format", "json")
    assert runs[1]["lifecycle"]["rmzxb/yw"]["withdrawn"] == 3


@pytest.fixture(scope="module")
def outage(archive: Archive, lifecycle: Archive) -> list[str]:
    """After the lifecycle's crawls: every article page answers 404, then 503, each in a crawl
    with every live article due a re-check (a day and a half, then three days on)."""
    archive.replica.withdrawn.clear()
    # 要闻 has 4 live articles left: the guard judges from 3 re-checks on.
    archive.replica.outage = 404
    not_found = archive.crawl(hours=36, CPPCC_WITHDRAWN_MIN_RECHECKS="3")
    archive.replica.outage = 503
    down = archive.crawl(hours=80, CPPCC_WITHDRAWN_MIN_RECHECKS="3")
    archive.replica.outage = None
    return [not_found, down]


def test_a_site_answering_404_everywhere_withdraws_nothing(
    archive: Archive, outage: list[str]
) -> None:
    listed = archive.json("articles", "--withdrawn", "--format", "json")
    # The four withdrawn before stay so (their re-checks still answer 404); no live one joins.
    assert len(listed) == 4
    not_found = outage[0]
    assert "warning: rmzxb/yw:" in not_found and "warning: rmzxb/xs:" in not_found
    assert "looked withdrawn at once" in not_found and "taken for an outage" in not_found


def test_a_site_answering_503_withdraws_nothing(archive: Archive, outage: list[str]) -> None:
    assert len(archive.json("articles", "--withdrawn", "--format", "json")) == 4
    assert "withdrawn (of" not in outage[1]


def test_the_web_api_and_article_page_say_an_article_is_withdrawn(lifecycle: Archive) -> None:
    shown = lifecycle.json("show", lifecycle.url("/c/2023-03-27/3312876.shtml"))
    web = start_web(lifecycle.home, lifecycle.seeds, "--db", lifecycle.db)
    try:
        api = web.get(f"/api/articles/{shown['id']}").json()
        assert api["withdrawn_at"] == shown["withdrawn_at"] is not None
        assert api["events"] == shown["events"]
        listed = web.get("/api/articles?limit=1000").json()["articles"]
        assert sum(article["withdrawn_at"] is not None for article in listed) == 4
        page = web.get(f"/articles/{shown['id']}").text
        assert f'已撤稿 withdrawn</dt><dd class="event">{shown["withdrawn_at"]}: http-410' in page
    finally:
        web.stop()
