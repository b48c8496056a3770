"""A run in the catalogue: recorded and locked at its start, judged and recorded at its end."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.engine import (
    is_unreachable,
    masked,
)
from pipelines.catalogue.locks import (
    STALE_AFTER,
    acquire_channel_locks,
    release_channel_locks,
)
from pipelines.catalogue.writes import finish_run, start_run, upsert_site_channels
from pipelines.errors import CatalogueUnreachable, CppccArchiveError, CrawlError
from pipelines.home import ArchiveHome
from pipelines.processes import pid_is_alive
from pipelines.seeds import Channel, Seeds, site_rows
from pipelines.stats import crawl_failure, lost_catalogue_writes
from scheduler.crawl_process import RunPlan, SiteOutcome
from scheduler.heartbeat import one_line

ProgressCallback = Callable[[str, dict[str, int]], None]
Notice = Callable[[str], None]
logger = logging.getLogger(__name__)

INTERRUPTED = "stopped by a signal before it finished"

# How long a run whose end cannot be recorded (the catalogue stopped answering) keeps trying,
# and how often (seconds). Past that it gives up, and the next start recovers it as dead.
CATALOGUE_RETRY_ENV = "CPPCC_CATALOGUE_RETRY"
CATALOGUE_RETRY = 120.0
RETRY_EVERY = 2.0


@dataclass
class RunResult:
    """A whole run (one or more sites), as recorded in the catalogue."""

    run_id: int
    status: str
    error: str | None
    counts: dict[str, int]
    http_errors: list[dict[str, Any]] = field(default_factory=list)
    log_paths: list[Path] = field(default_factory=list)
    robots_txt: dict[str, int | None] = field(default_factory=dict)  # site: robots.txt status


def classify(outcome: SiteOutcome) -> tuple[str, str | None]:
    """(status, why) of one site's crawl: `finished`, `failed` or `interrupted`.

    How it was stopped comes first (its time limit, a signal), then how it exited; a crawl
    that ran to its end is judged by its report (pipelines/stats.py).
    """
    finished = outcome.finished
    reason = (finished or {}).get("finish_reason")
    if outcome.timed_out or reason == "closespider_timeout":
        return "failed", f"hit its time limit of {outcome.time_limit} s"
    if outcome.interrupted or reason == "shutdown":
        return "interrupted", INTERRUPTED
    if finished is None:
        return "failed", f"the crawl exited with code {outcome.exit_code} before it finished"
    if outcome.exit_code != 0:
        return "failed", f"the crawl exited with code {outcome.exit_code}"
    why = crawl_failure(reason, finished.get("stats", {}))
    return ("finished", None) if why is None else ("failed", why)


@dataclass
class RunTally:
    status: str = "finished"
    error: str | None = None
    exit_code: int = 0
    finish_reason: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    http_errors: list[dict[str, Any]] = field(default_factory=list)
    log_paths: list[Path] = field(default_factory=list)
    robots_txt: dict[str, int | None] = field(default_factory=dict)

    def add(self, site: str, outcome: SiteOutcome) -> None:
        status, error = classify(outcome)
        self.log_paths.append(outcome.log_path)
        if status != "finished":
            self.fail(status, f"{site}: {error} (log: {outcome.log_path})")
        self.exit_code = self.exit_code or outcome.exit_code
        finished = outcome.finished or {}
        self.finish_reason = finished.get("finish_reason", self.finish_reason)
        # A crawl stopped before its report's end still said how far it got.
        for name, value in finished.get("counts", outcome.counts).items():
            self.counts[name] = self.counts.get(name, 0) + value
        self.stats[site] = finished.get("stats", {})
        self.http_errors += finished.get("http_errors", [])
        self.robots_txt[site] = finished.get("robots_txt_status")

    def fail(self, status: str, error: str) -> None:
        """Mark the run `status` for `error`, unless an earlier problem already did."""
        if self.status == "finished":
            self.status, self.error = status, error

    def result(self, run_id: int) -> RunResult:
        return RunResult(
            run_id,
            self.status,
            self.error,
            self.counts,
            self.http_errors,
            self.log_paths,
            self.robots_txt,
        )


def begin_run(
    sessions: sessionmaker[Session],
    seeds: Seeds,
    channels: Sequence[Channel],
    trigger: str,
    lease: float | None = None,
) -> tuple[int, datetime, list[int]]:
    """Record the run and take its channels' locks, in one transaction: both or neither.

    `lease`: seconds without a heartbeat after which the run may be taken for dead (None: the
    fixed STALE_AFTER). Returns the run's id, its start, and the runs it took locks over from
    (dead ones).
    """
    now, host, refs = datetime.now(UTC), socket.gethostname(), [c.ref for c in channels]
    with sessions.begin() as session:
        upsert_site_channels(session, site_rows(seeds))
        run_id = start_run(
            session, trigger=trigger, channels=refs, pid=os.getpid(), host=host, started_at=now,
            lease_seconds=lease,
        )  # fmt: skip
        taken_over = acquire_channel_locks(
            session,
            refs,
            run_id=run_id,
            host=host,
            pid=os.getpid(),
            now=now,
            is_alive=lambda lock_host, pid: lock_host == host and pid_is_alive(pid),
            stale_after=STALE_AFTER,
        )
        return run_id, now, taken_over


def record_end(
    sessions: sessionmaker[Session],
    plan: RunPlan,
    aggregate: RunTally,
    notice: Notice,
    retry: float = 0.0,
) -> None:
    """Catalogue what the run archived but could not catalogue, then record how it ended and
    release its locks. While the catalogue cannot be reached, try again for `retry` seconds;
    then raise a one-line CrawlError (the run stays `running`, for recovery to find dead)."""
    from scheduler.recovery import catalogue_archived

    deadline = time.monotonic() + retry
    uncatalogued = _lost_writes(aggregate, notice)
    told = False
    while True:
        try:
            if uncatalogued:
                warc_dir = ArchiveHome(plan.home).warc
                refs = [channel.ref for channel in plan.channels]
                catalogue_archived(sessions, warc_dir, plan.seeds, plan.started_at, refs, notice)
                uncatalogued = False
            _record_end(sessions, plan.run_id, aggregate)
            return
        except (SQLAlchemyError, CatalogueUnreachable) as exc:
            unreachable = isinstance(exc, CatalogueUnreachable) or is_unreachable(exc)
            if not unreachable or time.monotonic() + RETRY_EVERY > deadline:
                raise _unrecorded(plan, exc, unreachable) from None
            if not told:
                told = True
                notice(
                    f"run {plan.run_id}: {_unreachable_line(plan, exc)}; trying again for "
                    f"{retry:.0f} s to record how it ended (Ctrl-C gives up)"
                )
            time.sleep(RETRY_EVERY)


def _lost_writes(aggregate: RunTally, notice: Notice) -> bool:
    """Whether a crawl of the run may have archived records its catalogue lacks: its stats
    say catalogue writes failed, or it ended without its report (killed, crashed)."""
    reported = [stats for stats in aggregate.stats.values() if stats]
    if any(lost_catalogue_writes(stats) for stats in reported):
        return True
    if len(reported) == len(aggregate.stats):
        return False
    if aggregate.status == "interrupted":
        # Stopped at once: catalogued at the next recovery only if asked, not while the
        # user (or a stopping service) waits.
        notice(
            "the crawl was stopped before it could finish: `cppcc-archive verify --repair` "
            "catalogues what it archived last"
        )
        return False
    return True


def _record_end(sessions: sessionmaker[Session], run_id: int, aggregate: RunTally) -> None:
    with sessions.begin() as session:
        release_channel_locks(session, run_id)
        finish_run(
            session,
            run_id,
            status=aggregate.status,
            finished_at=datetime.now(UTC),
            exit_code=aggregate.exit_code,
            finish_reason=aggregate.finish_reason,
            error=aggregate.error,
            counts=aggregate.counts,
            stats=aggregate.stats,
        )


def _unrecorded(plan: RunPlan, exc: BaseException, unreachable: bool) -> CrawlError:
    """The one line for a run whose end could not be recorded."""
    if not unreachable:
        return CrawlError(f"run {plan.run_id} could not be recorded: {one_line(exc)}")
    channels = " ".join(channel.ref for channel in plan.channels)
    return CrawlError(
        f"run {plan.run_id}: {_unreachable_line(plan, exc)}, so the run could not be "
        "recorded; its WARC files are closed and keep what it fetched. Once the catalogue "
        f"answers again, `cppcc-archive crawl {channels}` (or the service's next start) "
        "catalogues it from them"
    )


def _unreachable_line(plan: RunPlan, exc: BaseException) -> str:
    if isinstance(exc, CatalogueUnreachable):
        return str(exc)
    return f"the catalogue database {masked(plan.database_url)} cannot be reached ({one_line(exc)})"


def record_crash(
    sessions: sessionmaker[Session], plan: RunPlan, aggregate: RunTally, notice: Notice
) -> None:
    try:
        record_end(sessions, plan, aggregate, notice)
    except (SQLAlchemyError, CppccArchiveError) as exc:
        raise CrawlError(
            f"{aggregate.error}; run {plan.run_id} could not be recorded as failed either "
            f"({' '.join(str(exc).split())})"
        ) from exc


def crash_message(exc: Exception, home: Path) -> str:
    """One line for what broke the launcher: the archive folder, or our own bug."""
    if isinstance(exc, CppccArchiveError):
        return str(exc)
    if isinstance(exc, OSError):
        where = Path(exc.filename) if exc.filename else home
        if where == home or home in where.parents:
            return (
                f"cannot use the archive folder {home}: {exc.strerror or exc} ({where}); "
                "choose a folder you can write to with --home"
            )
        return f"cannot use {where}: {exc.strerror or exc}"
    return f"the launcher failed: {type(exc).__name__}: {exc}"
