"""Start a crawl for POST /api/crawls: `cppcc-archive crawl` in a process of its own.

The web process never runs Scrapy, nor the launcher: the crawl is the command a user would
type, in its own session (it outlives a restart of the web process), and the answer waits
only until the crawl has recorded its run and taken its channels' locks.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.locks import STALE_AFTER, ChannelBusy, dead_reason, running_locks
from pipelines.catalogue.models import Run
from pipelines.errors import CppccArchiveError
from pipelines.home import ArchiveHome
from pipelines.processes import pid_is_alive
from web.settings import WebSettings

START_TIMEOUT = 60.0  # seconds a crawl may take to record its run (it recovers dead ones first)


class CrawlNotStarted(CppccArchiveError):
    """The crawl process ended, or gave no sign, before it recorded its run."""


class CrawlRefused(CrawlNotStarted):
    """The crawl found a channel taken by another live run (between our look and its start)."""


@dataclass(frozen=True)
class StartedCrawl:
    run_id: int
    pid: int


def busy_channel(session: Session, refs: Sequence[str]) -> ChannelBusy | None:
    """A ChannelBusy naming the live run crawling one of `refs`, or None when all are free.

    A lock left by a dead run does not count: the crawl takes it over, as `crawl` does.
    """
    host, now = socket.gethostname(), datetime.now(UTC)
    for lock, run in running_locks(session):
        ref = f"{lock.site}/{lock.channel}"
        if ref not in refs:
            continue
        alive = lambda lock_host, pid: lock_host == host and pid_is_alive(pid)  # noqa: E731
        if dead_reason(run, host=host, is_alive=alive, now=now, stale_after=STALE_AFTER):
            continue
        return ChannelBusy(
            ref, run_id=run.id, host=run.host or "?", pid=run.pid or 0, started_at=run.started_at
        )
    return None


def start_crawl(
    settings: WebSettings, sessions: sessionmaker[Session], refs: Sequence[str]
) -> StartedCrawl:
    """Start `cppcc-archive crawl REFS` and return its run id once it is recorded.

    A crawl that ends before (a channel taken meanwhile, a bad catalogue) raises ChannelBusy
    or CrawlNotStarted with its one-line error.
    """
    logs = ArchiveHome(settings.home).logs
    logs.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    log_path = logs / f"web-crawl-{stamp}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            crawl_argv(settings, refs),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # a Ctrl-C of the web server does not stop it
        )
    # Reap it when it ends, so it leaves no zombie behind.
    threading.Thread(target=process.wait, name=f"crawl-{process.pid}", daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT
    host = socket.gethostname()
    while time.monotonic() < deadline:
        with sessions() as session:
            run_id = session.scalar(
                select(Run.id)
                .where(Run.pid == process.pid, Run.host == host)
                .order_by(Run.id.desc())
            )
        if run_id is not None:
            return StartedCrawl(run_id, process.pid)
        if process.poll() is not None:
            raise _not_started(log_path.read_text(encoding="utf-8", errors="replace"), refs)
        time.sleep(0.1)
    raise CrawlNotStarted(
        f"the crawl (pid {process.pid}) recorded no run within {START_TIMEOUT:.0f} s; "
        f"see {log_path}"
    )


def queue_crawls(settings: WebSettings, refs: Sequence[str]) -> list[dict[str, object]]:
    """Queue a crawl job of each of `refs` for the workers (`cppcc-archive crawl --queue`);
    each job as that command's JSON gives it. CrawlNotStarted with its one line if it fails."""
    argv = crawl_argv(settings, refs)
    completed = subprocess.run(
        [*argv, "--queue"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=START_TIMEOUT,
    )  # fmt: skip
    if completed.returncode != 0:
        raise _not_started(completed.stderr, refs)
    jobs: list[dict[str, object]] = json.loads(completed.stdout)
    return jobs


def crawl_argv(settings: WebSettings, refs: Sequence[str]) -> list[str]:
    """The command line of the crawl: the `crawl` command of this installation."""
    argv = [sys.executable, "-c", "import sys; from scheduler.cli import main; sys.exit(main())"]
    argv += ["--home", str(settings.home), "--db", settings.database_url]
    if settings.seeds_path:
        argv += ["--seeds", settings.seeds_path]
    return [*argv, "crawl", *refs, "--format", "json"]


def _not_started(output: str, refs: Sequence[str]) -> CppccArchiveError:
    lines = [line for line in output.splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    last = last.removeprefix("cppcc-archive: error: ")
    if "is being crawled by run" in last:
        return CrawlRefused(last)
    return CrawlNotStarted(f"the crawl of {', '.join(refs)} did not start: {last}")
