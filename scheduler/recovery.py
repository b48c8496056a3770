"""Clean up after crawls whose process died: catalogue what they archived, mark their runs,
free their locks, salvage their WARC files. One path for the service's start and for a crawl
that finds its channel held by a dead run."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipelines.archive.recover import Log, catalogue_archived, recover_warc_files
from pipelines.catalogue.locks import STALE_AFTER, IsAlive, dead_runs, recover_dead_runs
from pipelines.catalogue.models import RUN_COUNTS
from pipelines.catalogue.queries import get_run, runs_by_ids
from pipelines.catalogue.writes import finish_run
from pipelines.home import ArchiveHome
from pipelines.processes import pid_is_alive
from pipelines.seeds import Seeds
from pipelines.stats import crawl_failure
from scheduler.crawl_process import ReportReader
from scheduler.run_storage import store_run_files

logger = logging.getLogger(__name__)


def recover_archive(
    sessions: sessionmaker[Session],
    home: ArchiveHome,
    seeds: Seeds,
    log: Log,
    *,
    channels: Collection[str] | None = None,
    no_run_is_ours: bool = False,
) -> list[int]:
    """Recover the runs left `running` by a process that is gone (with `channels`, only those
    holding one of their locks); returns their ids.

    First what they archived is catalogued from their WARC files (their `.open` files closed
    first, cut back to their last complete record where a crash cut one), so a run is never
    marked before that is done: if it fails, the next attempt does it again. Then each run
    becomes `interrupted`, with the counts, finish reason and stats its crawls last reported,
    and its channel locks are freed. `no_run_is_ours`: a run recorded with this process's
    PID is from an earlier process that had the same PID (a container's service often does,
    after a restart); never so where this process runs crawls of its own.
    """
    host, me = socket.gethostname(), os.getpid()

    def is_alive(run_host: str, pid: int) -> bool:
        return run_host == host and not (no_run_is_ours and pid == me) and pid_is_alive(pid)

    now = datetime.now(UTC)
    with sessions() as session:
        dead = dead_runs(
            session, host=host, is_alive=is_alive, now=now, stale_after=STALE_AFTER,
            channels=channels,
        )  # fmt: skip
        found = {run.id: run.started_at for run in dead}
        crawled = {ref for run in dead for ref in run.channels}
    recover_warc_files(home.warc, log)
    if found:
        catalogue_archived(sessions, home.warc, seeds, min(found.values()), crawled, log)
    # Closed files not yet in the object store (salvaged now, or a put that failed): again.
    store_run_files(sessions, home.warc, log)
    return _mark_dead(sessions, home, found, host, is_alive, log)


def _mark_dead(
    sessions: sessionmaker[Session],
    home: ArchiveHome,
    found: dict[int, datetime],
    host: str,
    is_alive: IsAlive,
    log: Log,
) -> list[int]:
    """Mark the runs `found` dead `interrupted` from their reports, and free their locks."""
    with sessions.begin() as session:
        # Found dead again under the lock: another process may have recovered one meanwhile.
        recovered = recover_dead_runs(
            session, host=host, is_alive=is_alive, now=datetime.now(UTC),
            stale_after=STALE_AFTER, run_ids=list(found),
        )  # fmt: skip
        for run_id in recovered:
            record_last_report(session, run_id, home, log)
    for run_id in recovered:
        log(f"run {run_id} was left running by a process that is gone: marked interrupted")
    return recovered


def recover_taken_over(
    sessions: sessionmaker[Session],
    run_ids: Collection[int],
    home: ArchiveHome,
    seeds: Seeds,
    log: Log,
) -> None:
    """What `recover_archive` does for runs whose locks a crawl took over (already marked
    `interrupted` by then): catalogue what they archived, and record their reports."""
    if not run_ids:
        return
    with sessions() as session:
        runs = runs_by_ids(session, run_ids)
        crawled = {ref for run in runs for ref in run.channels}
        started = [run.started_at for run in runs]
    recover_warc_files(home.warc, log)
    if started:
        catalogue_archived(sessions, home.warc, seeds, min(started), crawled, log)
    with sessions.begin() as session:
        for run_id in run_ids:
            record_last_report(session, run_id, home, log)


def record_last_report(session: Session, run_id: int, home: ArchiveHome, log: Log) -> None:
    """Give a recovered run what its crawls' reports last said: their counts, and the finish
    reason and stats of those that got as far as their `finished` line.

    Its status stays `interrupted`, unless every crawl of it ran to its end on its own (its
    launcher died before judging it): then it is judged from the reports as the launcher
    would have, `finished`, or `failed` and why.
    """
    run = get_run(session, run_id)
    if run is None:
        return
    counts: dict[str, int] = {}
    stats: dict[str, Any] = {}
    finish_reason = None
    reasons: dict[str, str | None] = {}  # site -> its crawl's finish reason, once it finished
    sites = list(dict.fromkeys(ref.partition("/")[0] for ref in run.channels))
    for site in sites:
        reader = ReportReader(home.run_report(run_id, site), site, None)
        try:
            reader.read()  # a missing file reads as nothing
        except (OSError, ValueError, KeyError) as exc:  # a line garbled by the crash
            log(f"run {run_id}: cannot read {reader.path} ({exc}): its counts are left out")
            continue
        finished = reader.finished or {}
        for name, value in finished.get("counts", reader.counts).items():
            if name in RUN_COUNTS:  # a count newer crawlers report is kept in the stats only
                counts[name] = counts.get(name, 0) + int(value)
        if reader.finished is not None:
            stats[site] = finished.get("stats", {})
            finish_reason = finished.get("finish_reason", finish_reason)
            reasons[site] = finished.get("finish_reason")
    status, error = run.status, run.error
    if len(reasons) == len(sites) and set(reasons.values()) == {"finished"}:
        failures = [why for site in sites if (why := crawl_failure("finished", stats[site]))]
        status, error = ("failed", "; ".join(failures)) if failures else ("finished", None)
        log(f"run {run_id}: its crawls ran to their end before it was recorded: {status}")
    if counts or stats:
        finish_run(
            session,
            run_id,
            status=status,
            finished_at=run.finished_at or datetime.now(UTC),
            exit_code=run.exit_code,
            finish_reason=finish_reason,
            error=error,
            counts=counts,
            stats=stats or None,
        )
