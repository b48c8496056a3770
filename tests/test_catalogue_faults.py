"""Catalogue faults with real parts: a PostgreSQL server that goes away mid-crawl, a whole
crawl killed -9 at different moments, a full disk. After each, what was archived ends up
catalogued, without being fetched again."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from pipelines.catalogue.engine import make_engine
from replicas.rmzxb.site import build_site
from replicas.server import Reply, Routes
from tests.conftest import CLI, REPLICA_SEEDS, SlowReplica, run_cli, run_cli_reading
from tests.db_fixtures import POSTGRES_SERVER_URL, PostgresServer
from tests.faults import (
    KillTrial,
    TcpProxy,
    archived_article_pages,
    catalogued_articles,
    kill_9_trial,
    wait_for,
)

CHANNEL = "rmzxb/yw"
REPORT = "logs/run-{run}-rmzxb.report.jsonl"


class OneListReplica(SlowReplica):
    """The slow replica, with every article of 要闻 on its first list page.

    A crawl that walks one list page reaches the whole channel: what these tests check is
    that archived pages get catalogued, not how far a list walk goes.
    """

    def __init__(self, delay: float):
        super().__init__(delay)
        self._build_site = one_list_site


class HeldReplica(OneListReplica):
    """The one-list replica whose article pages after the first `free` wait for `gate`: a
    crawl of it is mid-way, some articles catalogued and others to come, until the test
    opens the gate."""

    def __init__(self, free: int):
        super().__init__(delay=0)
        self.free = free
        self.gate = threading.Event()
        self._served = 0
        self._lock = threading.Lock()

    def reply_for(self, path: str) -> Reply:
        if path.startswith("/c/"):
            with self._lock:
                self._served += 1
                held = self._served > self.free
            if held:
                self.gate.wait(timeout=120)
        return super().reply_for(path)

    def stop(self) -> None:
        self.gate.set()
        super().stop()


def one_list_site(base_url: str) -> Routes:
    routes = dict(build_site(base_url))
    first, second = routes["/yw_n/index.shtml"], routes["/yw_n/index_2.shtml"]
    items = re.findall(rb"<li>.*?</li>", second.body, flags=re.S)
    body = first.body.replace(b"<li>", b"".join(items) + b"<li>", 1)
    routes["/yw_n/index.shtml"] = replace(first, body=body)
    return routes


def write_seeds(folder: Path, base_url: str) -> Path:
    seeds = folder / "seeds.toml"
    seeds.write_text(REPLICA_SEEDS.format(base_url=base_url), encoding="utf-8")
    return seeds


def reported(home: Path, run: int, name: str) -> int:
    """The last value of count `name` run `run`'s crawl reported so far."""
    path = home / REPORT.format(run=run)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
    events = [json.loads(line) for line in lines if line.endswith("\n")]
    return max((int(e["counts"][name]) for e in events if "counts" in e), default=0)


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


# -- PostgreSQL stopped mid-crawl ---------------------------------------------------------------


@pytest.fixture
def outage(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[tuple[str, TcpProxy]]:
    """A new PostgreSQL database (its URL), and a proxy to the server that a test can cut."""
    url = postgres_server.create_database()
    host_port = (POSTGRES_SERVER_URL.rsplit("@", 1)[1].split("/")[0]).split(":")
    try:
        with TcpProxy((host_port[0], int(host_port[1]))) as proxy:
            yield url, proxy
    finally:
        postgres_server.drop_database(url)


def crawl_until_cut(
    home: Path, seeds: Path, db: str, proxy: TcpProxy, retry: str, replica: HeldReplica
) -> subprocess.Popen[str]:
    """A crawl of the channel through the proxy, which is cut once the articles the replica
    serves at once are catalogued; then the rest are served."""
    crawl = subprocess.Popen(
        [str(CLI), "--home", str(home), "--seeds", str(seeds), "--db", db, "crawl", CHANNEL],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CPPCC_CATALOGUE_RETRY": retry},
    )
    wait_for(
        lambda: reported(home, 1, "articles_new") >= replica.free or crawl.poll() is not None,
        what="the crawl's first articles",
    )
    assert crawl.poll() is None, crawl.communicate()
    proxy.cut()
    replica.gate.set()
    return crawl


def assert_no_article_fetched_twice(requests: list[str], before: int) -> None:
    articles = [path for path in requests if path.startswith("/c/")]
    first, second = articles[:before], articles[before:]
    assert second == [] or not set(second) & set(first), second


def test_postgresql_back_within_the_retry_time_gets_the_run_recorded_and_catalogued(
    outage: tuple[str, TcpProxy], tmp_path: Path
) -> None:
    url, proxy = outage
    home = tmp_path / "home"
    with HeldReplica(free=2) as replica:
        seeds = write_seeds(tmp_path, replica.base_url)
        db = proxy.url_for(url)
        with crawl_until_cut(home, seeds, db, proxy, "60", replica) as crawl:
            said: list[str] = []
            listening = threading.Thread(target=lambda: said.extend(crawl.stderr or []))
            listening.start()
            wait_for(lambda: any("trying again" in line for line in said), what="a retry")
            proxy.restore()  # back while the launcher retries
            out = crawl.stdout.read() if crawl.stdout else ""
            crawl.wait(timeout=120)
            listening.join()
        err = "".join(said)
        fetched = len([p for p in replica.requests if p.startswith("/c/")])
        assert crawl.returncode == 1, err
        assert "Traceback" not in err
        assert "run 1 failed" in out and "catalogue_unreachable" in out
        assert "the catalogue stopped answering (is the database server up?)" in out
        runs = query(url, "SELECT id, status, finish_reason FROM runs")
        assert runs == [(1, "failed", "catalogue_unreachable")]
        assert query(url, "SELECT * FROM channel_locks") == []
        archived = archived_article_pages(home)
        assert archived  # the crawl archived articles its catalogue writes lost
        catalogued = catalogued_articles(url)
        assert {article for article, _ in catalogued} >= archived
        assert {channel for _, channel in catalogued} == {"yw"}
        assert not list((home / "warc").glob("*.open"))

        again = run_cli("--home", str(home), "--seeds", str(seeds), "--db", db, "crawl", CHANNEL)
        assert again.returncode == 0, again.stderr
        assert_no_article_fetched_twice(replica.requests, fetched)
        verify = run_cli_reading("--home", str(home), "--seeds", str(seeds), "--db", db, "verify")
        assert verify.returncode == 0, verify.stdout


def test_postgresql_gone_for_good_ends_in_one_line_and_the_next_crawl_catalogues_the_run(
    outage: tuple[str, TcpProxy], tmp_path: Path
) -> None:
    url, proxy = outage
    home = tmp_path / "home"
    with HeldReplica(free=2) as replica:
        seeds = write_seeds(tmp_path, replica.base_url)
        db = proxy.url_for(url)
        with crawl_until_cut(home, seeds, db, proxy, "3", replica) as crawl:
            err = crawl.communicate(timeout=120)[1]
        fetched = len([p for p in replica.requests if p.startswith("/c/")])
        assert crawl.returncode == 1
        assert "Traceback" not in err
        last = err.strip().splitlines()[-1]
        assert last.startswith("cppcc-archive: error: run 1: the catalogue database"), err
        assert "cannot be reached" in last and f"cppcc-archive crawl {CHANNEL}" in last
        assert not list((home / "warc").glob("*.open"))  # the crawl closed its WARC file
        archived = archived_article_pages(home)
        assert archived

        proxy.restore()
        assert query(url, "SELECT id, status FROM runs") == [(1, "running")]  # left to recovery
        again = run_cli("--home", str(home), "--seeds", str(seeds), "--db", db, "crawl", CHANNEL)
        assert again.returncode == 0, again.stderr
        assert "run 1 was left running by a process that is gone" in again.stderr
        assert_no_article_fetched_twice(replica.requests, fetched)
        runs = query(url, "SELECT id, status, finish_reason, pages_fetched FROM runs ORDER BY id")
        assert runs[0][:3] == (1, "interrupted", "catalogue_unreachable")
        assert isinstance(runs[0][3], int) and runs[0][3] >= 4  # what its crawl reported
        catalogued = catalogued_articles(url)
        assert {article for article, _ in catalogued} >= archived
        assert {channel for _, channel in catalogued} == {"yw"}
        verify = run_cli_reading("--home", str(home), "--seeds", str(seeds), "--db", db, "verify")
        assert verify.returncode == 0, verify.stdout


# -- kill -9 of a whole crawl -----------------------------------------------------------------


@pytest.fixture(scope="module")
def whole_channel(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    """The channel's articles, as a crawl nobody killed catalogues them: (path, channel)."""
    folder = tmp_path_factory.mktemp("reference")
    with OneListReplica(delay=0) as replica:
        seeds = write_seeds(folder, replica.base_url)
        done = run_cli("--home", str(folder / "home"), "--seeds", str(seeds), "crawl", CHANNEL)
    assert done.returncode == 0, done.stderr
    articles = catalogued_articles(f"sqlite:///{folder / 'home' / 'catalogue.sqlite3'}")
    assert len(articles) >= 6
    return {(urlsplit(url).path, channel) for url, channel in articles}


def list_page_archived(home: Path, replica: HeldReplica) -> Callable[[], bool]:
    def the_list_page_is_archived_no_article_yet() -> bool:
        return bool(archived_article_pages(home, part="/yw_n/"))

    return the_list_page_is_archived_no_article_yet


def article_archived(home: Path, replica: HeldReplica) -> Callable[[], bool]:
    def an_article_page_is_archived() -> bool:
        return bool(archived_article_pages(home))

    return an_article_page_is_archived


def articles_catalogued(home: Path, replica: HeldReplica) -> Callable[[], bool]:
    def articles_are_catalogued_others_held() -> bool:
        return reported(home, 1, "articles_new") >= replica.free - 1

    return articles_are_catalogued_others_held


@pytest.mark.parametrize(
    ("moment", "free"), [(list_page_archived, 0), (article_archived, 1), (articles_catalogued, 4)]
)
def test_the_crawl_after_a_kill_9_catalogues_the_whole_channel_once(
    moment: Callable[[Path, HeldReplica], Callable[[], bool]],
    free: int,
    whole_channel: set[tuple[str, str]],
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with HeldReplica(free) as replica:
        seeds = write_seeds(tmp_path, replica.base_url)
        at = then_serve(moment(home, replica), replica)
        trial = kill_9_trial(
            home, seeds, CHANNEL, at, whole_channel, lambda: list(replica.requests)
        )
    assert_recovered(trial, whole_channel)


def then_serve(moment: Callable[[], bool], replica: HeldReplica) -> Callable[[], bool]:
    """`moment`, opening the replica's gate when it comes: the crawl is killed then, and the
    next crawl is served at once."""

    def check() -> bool:
        if moment():
            replica.gate.set()
            return True
        return False

    check.__name__ = moment.__name__
    return check


def test_the_crawl_after_a_kill_9_into_postgresql_catalogues_the_whole_channel_once(
    postgres_server: PostgresServer, whole_channel: set[tuple[str, str]], tmp_path: Path
) -> None:
    url = postgres_server.create_database()
    try:
        with HeldReplica(free=4) as replica:
            seeds = write_seeds(tmp_path, replica.base_url)
            home = tmp_path / "home"
            at = then_serve(articles_catalogued(home, replica), replica)
            trial = kill_9_trial(
                home, seeds, CHANNEL, at, whole_channel, lambda: list(replica.requests), db=url
            )
        assert_recovered(trial, whole_channel)
    finally:
        postgres_server.drop_database(url)


def assert_recovered(trial: KillTrial, whole_channel: set[tuple[str, str]]) -> None:
    assert len(trial.killed) >= 2, trial  # the CLI and its crawl at least
    assert trial.next_crawl.returncode == 0, trial.next_crawl.stderr
    assert trial.verify.returncode == 0, trial.verify.stdout
    assert trial.verify.stdout.splitlines()[0].endswith(": clean")
    assert trial.lost == set(), trial
    assert trial.catalogued >= whole_channel  # each with its channel
    assert trial.duplicates == {}
    assert trial.refetched == [], trial.refetched
    assert trial.dead_run is not None
    _, status, pages = trial.dead_run
    assert status == "interrupted"
    assert pages == trial.reported_pages  # as its report said
