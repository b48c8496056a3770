"""The job queue end to end: workers as real processes on one PostgreSQL catalogue, replicas
on loopback, a worker killed with SIGKILL, dispatchers electing a leader.

Each worker has its own home (its own WARC files), as on separate hosts; they share the
catalogue and the queue. The replicas log when each request arrived, which is how politeness
across workers is checked.
"""

from __future__ import annotations

import importlib
import itertools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from pipelines.catalogue.engine import make_engine
from replicas.server import ReplicaServer, Reply
from replicas.sites import REPLICA_SITES
from tests.conftest import CLI, REPO, run_cli, run_cli_in_process
from tests.db_fixtures import POSTGRES_SERVER_URL
from tests.faults import TcpProxy

LEASE = 4.0  # seconds: a killed worker's job runs again within about 1.5 leases
DELAY = 0.3  # the sites' download_delay in these seeds
SITES = ("rmzxb", "cppcc")  # two hosts: two workers can crawl at once, one per host


class LoggedReplica(ReplicaServer):
    """A bundled replica noting when each request arrived; article pages can be slowed."""

    def __init__(self, key: str, article_delay: float = 0.0) -> None:
        site = importlib.import_module(REPLICA_SITES[key].module)
        super().__init__(site.build_site, site.not_found_page)
        self.article_delay = article_delay
        self.arrivals: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def reply_for(self, path: str) -> Reply:
        with self._lock:
            self.arrivals.append((time.monotonic(), path))
        if self.article_delay and path.endswith("shtml") and "/index" not in path:
            time.sleep(self.article_delay)
        return super().reply_for(path)

    def closest_requests(self) -> float:
        """The shortest time between two requests that arrived here, one after the other."""
        with self._lock:
            times = sorted(at for at, _ in self.arrivals)
        return min(later - earlier for earlier, later in itertools.pairwise(times))


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    """A proxy to the PostgreSQL server that a test can cut: the catalogue out of reach for
    whoever connects through it, and for no one else."""
    host, port = POSTGRES_SERVER_URL.rsplit("@", 1)[1].split("/")[0].split(":")
    with TcpProxy((host, int(port))) as proxy:
        yield proxy


def seeds_for(replicas: dict[str, ReplicaServer], path: Path) -> Path:
    """Seeds pointing each site at its replica, at DELAY between requests."""
    text_ = "\n".join(
        REPLICA_SITES[key].seeds.format(base_url=server.base_url)
        for key, server in replicas.items()
    )
    path.write_text(text_.replace("download_delay = 0\n", f"download_delay = {DELAY}\n"), "utf-8")
    return path


class Worker:
    """`cppcc-archive worker` as a process of its own, with its own home."""

    def __init__(self, home: Path, seeds: Path, db: str, *options: str) -> None:
        self.home = home
        self.log = home.parent / f"{home.name}.log"
        home.mkdir(parents=True, exist_ok=True)
        with self.log.open("w") as log:  # the child has its own copy of the file
            self.process = subprocess.Popen(
                [str(CLI), "--home", str(home), "--seeds", str(seeds), "--db", db, "worker",
                 "--lease", str(LEASE), *options],
                stdout=subprocess.DEVNULL, stderr=log, cwd=REPO, start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=90)


def rows(db: str, query: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = make_engine(db)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query), params)]
    finally:
        engine.dispose()


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.3)


def jobs_left(db: str) -> int:
    return rows(db, "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")[0][
        0
    ]


def articles(db: str) -> int:
    """Articles catalogued so far (0 before the first worker made the catalogue's tables)."""
    try:
        return int(rows(db, "SELECT count(*) FROM articles")[0][0])
    except ProgrammingError:
        return 0


def queue_crawls(seeds: Path, db: str, *channels: str) -> None:
    result = run_cli("--seeds", str(seeds), "--db", db, "crawl", "--queue", *channels)
    assert result.returncode == 0, result.stderr


def catalogued_urls(db: str) -> list[str]:
    return [url for (url,) in rows(db, "SELECT url FROM articles ORDER BY url")]


def assert_catalogued_once(db: str, single: list[str]) -> None:
    """Every article a single plain crawl catalogues (nothing lost), each once."""
    urls = catalogued_urls(db)
    assert len(urls) == len(set(urls))  # nothing catalogued twice
    assert urls == single  # nothing lost


def single_worker_urls(seeds: Path, tmp_path: Path, *channels: str) -> list[str]:
    """The articles one plain `crawl` of the same channels catalogues (SQLite, own home)."""
    db = f"sqlite:///{tmp_path / 'single.sqlite3'}"
    home = tmp_path / "single"
    result = run_cli("--home", str(home), "--seeds", str(seeds), "--db", db, "crawl", *channels)
    assert result.returncode == 0, result.stderr
    return catalogued_urls(db)


def test_two_workers_run_each_channel_once_never_two_at_one_host(
    postgres_url: str, tmp_path: Path
) -> None:
    with LoggedReplica("rmzxb") as rmzxb, LoggedReplica("cppcc") as cppcc:
        seeds = seeds_for({"rmzxb": rmzxb, "cppcc": cppcc}, tmp_path / "seeds.toml")
        # The channels never ran: the leader queues each one's missed slot, once.
        log = tmp_path / "dispatch.log"
        dispatcher = start_logged(
            ["--seeds", str(seeds), "--db", postgres_url, "serve", "--dispatch",
             "--tidy-schedule", "off"], log,
        )  # fmt: skip
        # One job at a time each: while one worker crawls a host, the other takes the other.
        workers = [Worker(tmp_path / f"host{n}", seeds, postgres_url) for n in (1, 2)]
        try:
            wait_for(lambda: log.read_text().count("queued job") == 4, 60, "every slot queued")
            wait_for(lambda: jobs_left(postgres_url) == 0, 120, "every job done")
        finally:
            exits = [worker.stop() for worker in workers]
            dispatcher.send_signal(signal.SIGTERM)
            dispatcher.wait(timeout=30)
        assert exits == [0, 0], [worker.output() for worker in workers]
        assert dispatcher.returncode == 0, log.read_text()
        closest = {key: server.closest_requests() for key, server in
                   (("rmzxb", rmzxb), ("cppcc", cppcc))}  # fmt: skip
        arrivals = len(rmzxb.arrivals) + len(cppcc.arrivals)
        single = single_worker_urls(seeds, tmp_path, *SITES)

    runs = rows(postgres_url, "SELECT channels, status FROM runs ORDER BY id")
    channels = sorted(channel for (chosen, _) in runs for channel in chosen)
    assert channels == ["cppcc/yw", "cppcc/zxyw", "rmzxb/xs", "rmzxb/yw"], runs
    assert {status for _, status in runs} == {"finished"}, runs
    # Politeness across workers: never two requests to one host closer than its delay.
    assert min(closest.values()) >= 0.9 * DELAY, (closest, arrivals)
    # Each worker's own WARC files hold captures: the work was shared.
    assert all(list((w.home / "warc").glob("*.warc.gz")) for w in workers)
    assert catalogued_urls(postgres_url) == single
    assert rows(postgres_url, "SELECT count(*) FROM procrastinate_jobs") == [(0,)]


def test_a_killed_workers_job_runs_again_within_the_lease_and_nothing_is_lost(
    postgres_url: str, tmp_path: Path
) -> None:
    with LoggedReplica("rmzxb", article_delay=0.5) as rmzxb:
        seeds = seeds_for({"rmzxb": rmzxb}, tmp_path / "seeds.toml")
        queue_crawls(seeds, postgres_url, "rmzxb/yw")
        first = Worker(tmp_path / "host1", seeds, postgres_url)
        wait_for(lambda: articles(postgres_url) >= 2, 90, "the first worker's crawl under way")
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait()
        killed_at = time.monotonic()
        second = Worker(tmp_path / "host2", seeds, postgres_url)
        try:
            wait_for(lambda: "queued again" in second.output(), LEASE * 3, "the job released")
            released_after = time.monotonic() - killed_at
            wait_for(lambda: jobs_left(postgres_url) == 0, 120, "the job run again")
            single = single_worker_urls(seeds, tmp_path, "rmzxb/yw")
        finally:
            assert second.stop() == 0, second.output()

    runs = rows(postgres_url, "SELECT id, status, error FROM runs ORDER BY id")
    assert [status for _, status, _ in runs] == ["interrupted", "finished"], runs
    assert "gone" in runs[0][2] or "heartbeat" in runs[0][2], runs
    assert released_after <= LEASE * 2.5, released_after
    assert_catalogued_once(postgres_url, single)


def test_a_stopped_worker_stops_its_crawl_cleanly_and_puts_the_job_back(
    postgres_url: str, tmp_path: Path
) -> None:
    with LoggedReplica("rmzxb", article_delay=0.5) as rmzxb:
        seeds = seeds_for({"rmzxb": rmzxb}, tmp_path / "seeds.toml")
        queue_crawls(seeds, postgres_url, "rmzxb/yw")
        worker = Worker(tmp_path / "host1", seeds, postgres_url, "--grace", "0")
        wait_for(lambda: articles(postgres_url) >= 1, 90, "the crawl under way")
        assert worker.stop() == 0, worker.output()
    assert rows(postgres_url, "SELECT status FROM runs") == [("interrupted",)]
    # Back in the queue, waiting for any worker; nothing left `.open`.
    assert rows(postgres_url, "SELECT status::text, attempts FROM procrastinate_jobs") == [
        ("todo", 1)
    ]
    assert not list((worker.home / "warc").glob("*.open"))


def test_a_worker_cut_from_the_catalogue_for_longer_than_its_lease_exits_1_and_its_job_runs(
    postgres_url: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    through_proxy = proxy.url_for(postgres_url)
    with LoggedReplica("rmzxb", article_delay=0.5) as rmzxb:
        seeds = seeds_for({"rmzxb": rmzxb}, tmp_path / "seeds.toml")
        queue_crawls(seeds, postgres_url, "rmzxb/yw")
        worker = Worker(tmp_path / "host1", seeds, through_proxy)
        wait_for(lambda: articles(postgres_url) >= 2, 90, "the crawl under way")
        proxy.cut()
        try:
            # Silent for a lease, it may be taken for dead: it stops, and says why, at once.
            exit_code = worker.process.wait(timeout=LEASE * 2 + 20)
        finally:
            time.sleep(max(0.0, 10 - LEASE))  # a blip of about 10 s in all
            proxy.restore()
        err = worker.output()  # before the next worker on its host writes over it
        # Its supervisor (systemd's Restart=on-failure) starts it again.
        again = Worker(tmp_path / "host1", seeds, through_proxy)
        try:
            wait_for(lambda: jobs_left(postgres_url) == 0, 120, "the job run again")
            single = single_worker_urls(seeds, tmp_path, "rmzxb/yw")
        finally:
            assert again.stop() == 0, again.output()

    assert exit_code == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("cppcc-archive: error: this worker was taken for dead"), err
    assert "Traceback" not in err
    assert not list((worker.home / "warc").glob("*.open"))  # its crawl was stopped cleanly
    runs = rows(postgres_url, "SELECT status FROM runs ORDER BY id")
    assert runs[-1] == ("finished",) and ("running",) not in runs, runs
    assert_catalogued_once(postgres_url, single)


def test_one_dispatcher_leads_and_a_standby_takes_over_when_it_dies(
    postgres_url: str, tmp_path: Path
) -> None:
    seeds = tmp_path / "seeds.toml"  # a site nothing answers at: no crawl runs here
    seeds.write_text(
        REPLICA_SITES["rmzxb"].seeds.format(base_url="http://127.0.0.1:9"), encoding="utf-8"
    )
    args = ["--seeds", str(seeds), "--db", postgres_url, "serve", "--dispatch",
            "--tidy-schedule", "off"]  # fmt: skip
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    first = start_logged(args, logs[0])
    wait_for(lambda: "leading" in logs[0].read_text(), 30, "the first to lead")
    second = start_logged(args, logs[1])
    try:
        wait_for(lambda: "standing by" in logs[1].read_text(), 30, "the second to stand by")
        # The channels never ran: the leader queued each one's missed slot, once.
        queued = rows(postgres_url, "SELECT queueing_lock FROM procrastinate_jobs ORDER BY 1")
        assert queued == [("rmzxb/xs",), ("rmzxb/yw",)]
        first.kill()
        first.wait()
        wait_for(lambda: "leading" in logs[1].read_text(), 20, "the standby to take over")
        wait_for(lambda: "slot skipped" in logs[1].read_text(), 10, "the new leader to look")
        # The new leader found the missed slots already queued: no second job.
        assert rows(postgres_url, "SELECT count(*) FROM procrastinate_jobs") == [(2,)]
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    assert second.returncode == 0, logs[1].read_text()


def test_a_leader_cut_from_the_catalogue_stands_by_and_leads_again_when_it_answers(
    postgres_url: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    seeds = tmp_path / "seeds.toml"  # a site nothing answers at: no crawl runs here
    seeds.write_text(
        REPLICA_SITES["rmzxb"].seeds.format(base_url="http://127.0.0.1:9"), encoding="utf-8"
    )
    log = tmp_path / "dispatch.log"
    dispatcher = start_logged(
        ["--seeds", str(seeds), "--db", proxy.url_for(postgres_url), "serve", "--dispatch",
         "--tidy-schedule", "off"], log,
    )  # fmt: skip
    try:
        wait_for(lambda: "leading (" in log.read_text(), 30, "the dispatcher to lead")
        proxy.cut()
        try:
            wait_for(lambda: "cannot reach the catalogue" in log.read_text(), 30, "it to see")
            assert dispatcher.poll() is None, log.read_text()
        finally:
            proxy.restore()
        wait_for(lambda: log.read_text().count("leading (") == 2, 30, "it to lead again")
        wait_for(lambda: "slot skipped" in log.read_text(), 10, "it to look at the slots")
    finally:
        if dispatcher.poll() is None:
            dispatcher.send_signal(signal.SIGTERM)
        dispatcher.wait(timeout=30)
    said = log.read_text()
    assert dispatcher.returncode == 0, said
    assert "lost the connection that held the lead" in said
    assert "Traceback" not in said
    # Its missed slots were queued once, before the outage; not again after it.
    assert rows(postgres_url, "SELECT count(*) FROM procrastinate_jobs") == [(2,)]


def start_logged(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as stream:
        return subprocess.Popen([str(CLI), *args], stderr=stream, cwd=REPO)


def test_crawls_asked_for_over_the_api_are_queued_for_the_workers(
    postgres_url: str, tmp_path: Path
) -> None:
    from tests.test_web import start_web

    seeds = tmp_path / "seeds.toml"
    seeds.write_text(
        REPLICA_SITES["rmzxb"].seeds.format(base_url="http://127.0.0.1:9"), encoding="utf-8"
    )
    run_cli("--seeds", str(seeds), "--db", postgres_url, "db", "upgrade")
    web = start_web(tmp_path / "home", seeds, "--db", postgres_url, "--queue", token="secret")
    try:
        body = {"channels": ["rmzxb/yw"]}
        first = web.request("POST", "/api/crawls", body, token="secret")
        again = web.request("POST", "/api/crawls", body, token="secret")
    finally:
        assert web.stop() == 0
    assert first.status == 202, first.body
    [job] = first.json()["jobs"]
    assert (job["channel"], job["queued"], job["status"]) == ("rmzxb/yw", True, "todo")
    # Asked again while it waits: the same job, not a second.
    assert again.json()["jobs"] == [{**job, "queued": False}]
    assert rows(postgres_url, "SELECT id, status::text FROM procrastinate_jobs") == [
        (job["job"], "todo")
    ]


@pytest.mark.parametrize(
    "command", [["crawl", "--queue"], ["worker"], ["serve", "--dispatch"], ["web", "--queue"]]
)
def test_the_queue_on_a_sqlite_catalogue_is_one_line_and_exit_2(
    command: list[str], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    result = run_cli_in_process("--home", str(tmp_path), "--db", db, *command)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "PostgreSQL" in result.stderr and "Traceback" not in result.stderr


def test_ended_jobs_are_expired_after_their_keeping(postgres_url: str, tmp_path: Path) -> None:
    # Failed jobs stay to be seen for a while, not for ever: the queue runs for years.
    from scheduler.queue.database import ensure_queue_schema, queue_conninfo, sync_app
    from scheduler.queue.jobs import KEEP_ENDED_JOBS_DAYS, expire_ended_jobs

    seeds_path = tmp_path / "seeds.toml"
    seeds_path.write_text(
        REPLICA_SITES["rmzxb"].seeds.format(base_url="http://127.0.0.1:9"), encoding="utf-8"
    )
    queue_crawls(seeds_path, postgres_url, "rmzxb/xs", "rmzxb/yw")
    (old, recent), waiting = (
        rows(postgres_url, "SELECT id FROM procrastinate_jobs ORDER BY id"),
        None,
    )
    execute = make_engine(postgres_url)
    try:
        with execute.begin() as connection:
            connection.execute(text("UPDATE procrastinate_jobs SET status = 'failed'"))
            connection.execute(
                text("UPDATE procrastinate_events SET at = now() - make_interval(days => :days) "
                     "WHERE job_id = :job"),
                {"days": KEEP_ENDED_JOBS_DAYS + 1, "job": old[0]},
            )  # fmt: skip
    finally:
        execute.dispose()
    # A job still waiting is never expired, however old.
    queue_crawls(seeds_path, postgres_url, "rmzxb/xs")
    waiting = rows(postgres_url, "SELECT id FROM procrastinate_jobs WHERE status = 'todo'")
    conninfo = queue_conninfo(postgres_url)
    ensure_queue_schema(postgres_url)
    with sync_app(conninfo).open() as app:
        expire_ended_jobs(app)
    left = rows(postgres_url, "SELECT id FROM procrastinate_jobs ORDER BY id")
    assert left == [recent, *waiting]
