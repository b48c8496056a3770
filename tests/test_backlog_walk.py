"""Resumable list walks, crawled for real: a channel is walked to its end across crawls.

A generated 人民政协网 channel of 60 articles (6 list pages of 10) on loopback; each crawl
walks a slice of 2 list pages of its backlog (CPPCC_BACKLOG_LIST_PAGES), so the walk state in
the catalogue is what carries a channel to its end.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from replicas.rmzxb.channel import SEEDS, article_spec, channel_routes, list_path
from replicas.server import ReplicaServer, Reply
from tests.conftest import CliResult, run_cli_reading, start_cli

ARTICLES = 60
PAGE_SIZE = 10  # articles a list page: 6 list pages
SLICE = {"CPPCC_BACKLOG_LIST_PAGES": "2"}


class Channel:
    """A generated channel on loopback, a home, and the crawls of it."""

    def __init__(self, server: ReplicaServer, tmp: Path):
        self.server = server
        self.home = tmp / "home"
        self.seeds = tmp / "seeds.toml"
        self.seeds.write_text(SEEDS.format(base_url=server.base_url), encoding="utf-8")

    def cli(self, *args: str, env: dict[str, str] | None = None) -> CliResult:
        return run_cli_reading("--home", str(self.home), "--seeds", str(self.seeds), *args, env=env)

    def crawl(self, *args: str, env: dict[str, str] | None = None) -> CliResult:
        before = len(self.server.requests)
        result = self.cli("crawl", "rmzxb/yw", *args, env={**SLICE, **(env or {})})
        self.last_requests = self.server.requests[before:]
        return result

    def json(self, *args: str) -> Any:
        result = self.cli(*args, "--format", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def catalogued(self) -> set[str]:
        return {a["url"] for a in self.json("articles", "--limit", "1000")}

    def backlog(self) -> str:
        [row] = self.json("schedule")
        return str(row["backlog"])

    def publish(self, articles: int) -> None:
        """The site publishes more articles: older ones move on to later list pages."""
        self.server.routes = channel_routes(articles, PAGE_SIZE)


@pytest.fixture
def channel(tmp_path: Path) -> Iterator[Channel]:
    with ReplicaServer(lambda _: channel_routes(ARTICLES, PAGE_SIZE)) as server:
        yield Channel(server, tmp_path)


def article_urls(channel: Channel, count: int) -> set[str]:
    base = channel.server.base_url
    return {base + article_spec(index).path for index in range(count)}


def fetched_articles(requests: list[str]) -> Counter[str]:
    return Counter(path for path in requests if path.startswith("/c/"))


def test_a_partial_walk_is_resumed_a_slice_a_crawl_until_the_channel_is_complete(
    channel: Channel,
) -> None:
    # The reproduction: a first crawl capped at one list page, then full crawls.
    assert channel.crawl("--max-list-pages", "1").returncode == 0
    assert len(channel.catalogued()) == PAGE_SIZE
    assert channel.backlog() == "walked to page 1 of 6"
    states = []
    for _ in range(3):
        result = channel.crawl()
        assert result.returncode == 0, result.stderr
        states.append(channel.backlog())
    assert states == ["walked to page 3 of 6", "walked to page 5 of 6", "complete"]
    assert channel.catalogued() == article_urls(channel, ARTICLES)
    # Every article was fetched once, whatever crawl reached it.
    assert set(fetched_articles(channel.server.requests).values()) == {1}
    # `runs` shows the state each crawl left; the summary says the walk goes on.
    runs = channel.json("runs")
    assert runs[1]["walk"]["rmzxb/yw"]["state"] == "walked to page 5 of 6"
    assert runs[0]["walk"]["rmzxb/yw"]["state"] == "complete"
    table = channel.cli("runs").stdout
    assert "yw: walked to page 3 of 6" in table and "yw: complete" in table


def test_once_complete_a_crawl_stops_at_the_first_settled_list_page(channel: Channel) -> None:
    for _ in range(3):
        assert channel.crawl(env={"CPPCC_BACKLOG_LIST_PAGES": "10"}).returncode == 0
    assert channel.backlog() == "complete"
    # The third crawl found nothing new: list page 1 held settled articles only.
    assert [path for path in channel.last_requests if path != "/robots.txt"] == [list_path(1)]


def test_the_summary_says_where_the_next_crawl_goes_on(channel: Channel) -> None:
    result = channel.crawl()
    assert result.returncode == 0, result.stderr
    assert "rmzxb/yw: list pages walked to page 2 of 6; the next crawl goes on" in result.stdout


def test_articles_published_during_the_backlog_walk_are_all_archived(channel: Channel) -> None:
    assert channel.crawl().returncode == 0  # pages 1 and 2 of 6
    published = ARTICLES + PAGE_SIZE * 3 // 2  # a page and a half of news: every page shifts
    channel.publish(published)
    while channel.backlog() != "complete":
        result = channel.crawl()
        assert result.returncode == 0, result.stderr
        assert len(channel.server.requests) < 2000  # a walk that never ends fails here
    assert channel.catalogued() == article_urls(channel, published)
    assert set(fetched_articles(channel.server.requests).values()) == {1}


class HeldArticle(ReplicaServer):
    """The channel, with one article answering only once the test opens the gate."""

    def __init__(self, held: str):
        super().__init__(lambda _: channel_routes(ARTICLES, PAGE_SIZE))
        self.held = held
        self.gate = threading.Event()

    def reply_for(self, path: str) -> Reply:
        if path == self.held:
            self.gate.wait(timeout=60)
        return super().reply_for(path)

    def stop(self) -> None:
        self.gate.set()
        super().stop()


def test_a_crawl_stopped_mid_walk_records_only_list_pages_it_finished(tmp_path: Path) -> None:
    # List page 3 lists articles 39 … 30; article 35 does not answer before the time limit.
    held = article_spec(35).path
    with HeldArticle(held) as server:
        channel = Channel(server, tmp_path)
        # Article 70 never answers: after 2 s of finishing what is in flight the crawl is
        # stopped by force (the default wait, 30 s, would only make the test slower).
        stopped = channel.crawl(
            "--time-limit", "6", "--stop-wait", "2", env={"CPPCC_BACKLOG_LIST_PAGES": "10"}
        )
        assert stopped.returncode == 1
        assert "time limit" in stopped.stdout + stopped.stderr
        # Page 3 was walked, but one of its articles never came: the walk stays at page 2.
        assert channel.backlog() == "walked to page 2 of 6"
        assert held not in channel.catalogued()
        server.gate.set()
        assert channel.crawl(env={"CPPCC_BACKLOG_LIST_PAGES": "10"}).returncode == 0
        assert channel.backlog() == "complete"
        assert channel.catalogued() == article_urls(channel, ARTICLES)


def test_ctrl_c_sends_nothing_more_and_the_next_crawl_fetches_what_was_waiting(
    channel: Channel,
) -> None:
    # A polite site: a request every half second, so most of a walk waits in the downloader.
    channel.seeds.write_text(
        channel.seeds.read_text(encoding="utf-8").replace(
            "download_delay = 0", "download_delay = 0.5"
        ),
        encoding="utf-8",
    )
    env = {"CPPCC_BACKLOG_LIST_PAGES": "10"}
    cli = start_cli("--home", str(channel.home), "--seeds", str(channel.seeds), "crawl")
    try:
        while len(fetched_articles(channel.server.requests)) < 5:
            assert cli.poll() is None, cli.communicate()
            time.sleep(0.05)
        asked = len(channel.server.requests)
        cli.send_signal(signal.SIGINT)
        _, stderr = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.communicate()
    assert cli.returncode == 130, stderr
    # Acknowledged at once, in words; then only what was in flight (one request at a time
    # at this delay) reached the server.
    assert "stopping: finishing the pages in flight" in stderr
    assert "Ctrl-C again to stop at once" in stderr
    assert len(channel.server.requests) - asked <= 1, channel.server.requests[asked:]
    [run] = channel.json("runs")
    assert run["status"] == "interrupted"
    log = (channel.home / "logs" / "run-1-rmzxb.log").read_text(encoding="utf-8")
    assert re.search(r"The crawl is stopping: \d+ request\(s\) in flight are finished, "
                     r"[1-9]\d* waiting in the downloader .* are not sent", log)  # fmt: skip
    # What was waiting was not settled in the walk: the next crawls fetch every article.
    fast = channel.seeds.read_text(encoding="utf-8").replace("= 0.5", "= 0")
    channel.seeds.write_text(fast, encoding="utf-8")
    for _ in range(3):
        assert channel.crawl(env=env).returncode == 0
        if channel.backlog() == "complete":
            break
    assert channel.backlog() == "complete"
    assert channel.catalogued() == article_urls(channel, ARTICLES)
