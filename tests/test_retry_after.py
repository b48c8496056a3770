"""Retry-After: a 429 or 503 that names a wait holds back its host, crawled for real.

Each crawl runs `cppcc-archive crawl` against the replica, whose one faulty page answers
429 or 503 with a Retry-After the first time it is asked for; the server logs when each
request came, so the test sees the wait from the server's side.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler
from sqlalchemy import create_engine, text

from crawler.retry_after import RetryAfterExtension, retry_after_seconds
from replicas.rmzxb.articles import replica_articles
from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer, Reply
from tests.conftest import (
    REPLICA_SEEDS,
    CliResult,
    assert_clean_warc_files,
    run_cli,
    run_cli_reading,
    start_cli,
)

LIST_PAGE = "/yw_n/index.shtml"
ARTICLES = {article.key: article.pages[0].path for article in replica_articles()}
ARTICLE = ARTICLES["real"]
# The article of 要闻 the crawl asks for first: the others are still queued when it answers.
FIRST_ARTICLE = ARTICLES["filler_2"]


class BusyReplica(ReplicaServer):
    """The replica, whose page `busy_path` answers `status` with a Retry-After once.

    `log` holds (monotonic time, path) of every request, in the order they came.
    """

    def __init__(
        self, busy_path: str, status: int, retry_after: Callable[[], str], slow: float = 0.0
    ):
        super().__init__(build_site, not_found_page)
        self.busy_path = busy_path
        self.status = status
        self.retry_after = retry_after
        self.slow = slow  # seconds the busy answer takes
        self.log: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def reply_for(self, path: str) -> Reply:
        with self._lock:
            first = path == self.busy_path and all(p != path for _, p in self.log)
            self.log.append((time.monotonic(), path))
        if first:
            time.sleep(self.slow)
            headers = (("Retry-After", self.retry_after()), ("Content-Type", "text/html"))
            return Reply(self.status, headers, b"<html><body>busy, come back later</body></html>")
        return super().reply_for(path)

    def quiet(self) -> tuple[float, list[str]]:
        """Seconds from the busy answer to the next request of any page, and the paths asked
        for from then on; the busy page must be among them."""
        first = next(i for i, (_, path) in enumerate(self.log) if path == self.busy_path)
        later = [path for _, path in self.log[first + 1 :]]
        assert self.busy_path in later, f"{self.busy_path} was not asked for again: {self.log}"
        return self.log[first + 1][0] - self.log[first][0], later


FAST = "download_delay = 0\nautothrottle = false\n"  # the replica seeds' own


def _crawl(
    tmp_path: Path, server: BusyReplica, site: str = FAST, env: dict[str, str] | None = None
) -> CliResult:
    """`cppcc-archive crawl rmzxb/yw` of the replica, with `site` options; it must finish."""
    seeds = tmp_path / "seeds.toml"
    seeds_text = REPLICA_SEEDS.format(base_url=server.base_url).replace(FAST, site)
    seeds.write_text(seeds_text, encoding="utf-8")
    home = ("--home", str(tmp_path / "home"), "--seeds", str(seeds))
    result = run_cli(*home, "crawl", "rmzxb/yw", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _catalogued(tmp_path: Path) -> set[str]:
    home = ("--home", str(tmp_path / "home"))
    listed = run_cli_reading(*home, "articles", "--channel", "yw", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    return {article["url"] for article in json.loads(listed.stdout)}


def _stats(tmp_path: Path) -> dict[str, int]:
    """The Retry-After stats of the home's one run."""
    engine = create_engine(f"sqlite:///{tmp_path / 'home' / 'catalogue.sqlite3'}")
    with engine.connect() as connection:
        stats = json.loads(connection.execute(text("SELECT stats FROM runs")).scalar_one())
    engine.dispose()
    found: dict[str, int] = {}
    for site_stats in stats.values():
        for key, value in site_stats.items():
            if key.startswith("cppcc/retry_after/"):
                found[key.removeprefix("cppcc/retry_after/")] = value
    return found


@pytest.fixture
def busy_list_page() -> Iterator[BusyReplica]:
    with BusyReplica(LIST_PAGE, 429, lambda: "2") as server:
        yield server


def test_a_list_page_answering_429_is_asked_again_after_its_retry_after(
    tmp_path: Path, busy_list_page: BusyReplica
) -> None:
    _crawl(tmp_path, busy_list_page)
    quiet, later = busy_list_page.quiet()
    assert quiet >= 2.0
    assert later[0] == LIST_PAGE
    assert busy_list_page.base_url + ARTICLE in _catalogued(tmp_path)
    assert _stats(tmp_path) == {"waits": 1, "seconds": 2}


@pytest.mark.parametrize("autothrottle", ["false", "true"])
def test_an_article_answering_503_holds_its_host_back(tmp_path: Path, autothrottle: str) -> None:
    # One request at a time, which Scrapy keeps only with a download delay: a request already
    # on its way when the 503 came cannot be called back, and the test must know none was.
    # The 503 comes slower than that delay, so that the downloader would start the next
    # queued article the moment it is in; AutoThrottle sets a delay of its own.
    site = f"download_delay = 0.1\nconcurrent_requests = 1\nautothrottle = {autothrottle}\n"
    with BusyReplica(FIRST_ARTICLE, 503, lambda: "2", slow=0.3) as server:
        _crawl(tmp_path, server, site)
        article = server.base_url + FIRST_ARTICLE
    quiet, later = server.quiet()
    # Nothing was asked of the host for 2 s, though other articles were queued.
    assert quiet >= 2.0
    assert len([path for path in later if path.startswith("/c/")]) > 1
    assert article in _catalogued(tmp_path)


def test_a_retry_after_longer_than_the_bound_is_cut_to_it(tmp_path: Path) -> None:
    # Were the hour not cut, the crawl would outlast run_cli's timeout.
    with BusyReplica(LIST_PAGE, 429, lambda: "3600") as server:
        result = _crawl(tmp_path, server, env={"CPPCC_RETRY_AFTER_MAX": "1"})
        article = server.base_url + ARTICLE
    quiet, later = server.quiet()
    assert quiet >= 1.0
    assert later[0] == LIST_PAGE
    assert article in _catalogued(tmp_path)
    assert _stats(tmp_path) == {"waits": 1, "seconds": 1, "capped": 1}
    summary = "servers asked to wait (Retry-After) 1 time(s): 1 s in all (1 cut to CPPCC_RETRY"
    assert summary in result.stdout
    log = next((tmp_path / "home" / "logs").glob("run-*-rmzxb.log")).read_text("utf-8")
    assert "Retry-After: 3600 (3600 s); the wait is cut to CPPCC_RETRY_AFTER_MAX, 1 s" in log


def _wait_for_line(path: Path, line: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and line in path.read_text("utf-8")):
        assert time.monotonic() < deadline, f"{path} never said {line!r}"
        time.sleep(0.1)


def test_a_crawl_stopped_during_a_wait_stops_cleanly(tmp_path: Path) -> None:
    # The engine closes once the requests queued in the downloader are done: a held request
    # must not keep it waiting (here 100 s), or the crawl is stopped by force.
    home = tmp_path / "home"
    with BusyReplica(LIST_PAGE, 429, lambda: "100") as server:
        seeds = tmp_path / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        cli = start_cli("--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/yw")
        try:
            log = home / "logs" / "run-1-rmzxb.log"
            _wait_for_line(log, "answered 429 with Retry-After: 100")
            time.sleep(1)  # the retry of the list page is queued behind the hold by then
            cli.send_signal(signal.SIGINT)
            _, stderr = cli.communicate(timeout=60)
        finally:
            if cli.poll() is None:
                cli.kill()
                cli.wait()
    assert cli.returncode == 130, stderr
    text_ = log.read_text("utf-8")
    assert "forcing unclean shutdown" not in text_
    # The held retry of the list page is not sent, whichever notices the stop first.
    assert (
        "1 request(s) to 127.0.0.1 held for a Retry-After are not sent" in text_
        or "1 waiting in the downloader (a download delay, a Retry-After) are not sent" in text_
    )
    assert_clean_warc_files(home)


def _three_seconds_on() -> str:
    # The server's Date is the second it answers in, at most one after this one: the wait it
    # means is 2 or 3 s.
    return format_datetime(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3), True)


def test_a_retry_after_http_date_is_waited_for(tmp_path: Path) -> None:
    with BusyReplica(LIST_PAGE, 503, _three_seconds_on) as server:
        _crawl(tmp_path, server)
        article = server.base_url + ARTICLE
    quiet, later = server.quiet()
    assert quiet >= 2.0
    assert later[0] == LIST_PAGE
    assert article in _catalogued(tmp_path)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2", 2.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("Sun, 01 Nov 2026 08:00:30 GMT", 30.0),  # counted from the response's Date
        ("Sun, 01 Nov 2026 07:59:00 GMT", 0.0),  # already past
        ("-5", None),
        ("1.5", None),  # delta-seconds are whole
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_values(value: str, seconds: float | None) -> None:
    assert retry_after_seconds(value, "Sun, 01 Nov 2026 08:00:00 GMT") == seconds


def test_an_http_date_without_a_server_date_counts_from_now() -> None:
    now = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert retry_after_seconds("Sun, 01 Nov 2026 08:01:00 GMT", None, now) == 60.0
    assert retry_after_seconds("Sun, 01 Nov 2026 08:01:00 GMT", "garbage", now) == 60.0


def test_a_bound_of_zero_switches_retry_after_off() -> None:
    with pytest.raises(NotConfigured):
        RetryAfterExtension.from_crawler(get_crawler(settings_dict={"CPPCC_RETRY_AFTER_MAX": 0}))
    crawler = get_crawler(settings_dict={"CPPCC_RETRY_AFTER_MAX": "120"})
    assert RetryAfterExtension.from_crawler(crawler).max_wait == 120.0
