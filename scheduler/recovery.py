"""Clean up after crawls whose process died: mark their runs, free their locks, salvage WARCs."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.locks import recover_dead_runs
from pipelines.catalogue.models import RUN_COUNTS, Run
from pipelines.catalogue.writes import finish_run
from pipelines.processes import pid_is_alive
from pipelines.warc.salvage import salvage_open_files

# The launcher's own reader of the report files, so both read them the same way.
from scheduler.launcher import STALE_AFTER, ReportReader, report_path


def recover_archive(
    sessions: sessionmaker[Session], warc_dir: Path, log: Callable[[str], None]
) -> None:
    """Runs left `running` by a dead process become `interrupted` (their channel locks
    freed), with the counts their crawls last reported, and `.open` WARC files of dead
    writers are closed, cut back to their last complete record where a crash cut one."""
    host, me = socket.gethostname(), os.getpid()
    # The launcher writes HOME/warc and HOME/logs, where each crawl leaves its report.
    logs_dir = warc_dir.parent / "logs"
    with sessions.begin() as session:
        recovered = recover_dead_runs(
            session,
            host=host,
            # No run can be ours yet: one recorded with our PID is from an earlier process
            # that had the same PID (a container's service often does, after a restart).
            is_alive=lambda run_host, pid: run_host == host and pid != me and pid_is_alive(pid),
            now=datetime.now(UTC),
            stale_after=STALE_AFTER,
        )
        for run_id in recovered:
            record_last_report(session, run_id, logs_dir, log)
    for run_id in recovered:
        log(f"run {run_id} was left running by a process that is gone: marked interrupted")
    recover_warc_files(warc_dir, log)


def record_last_report(
    session: Session, run_id: int, logs_dir: Path, log: Callable[[str], None]
) -> None:
    """Give a recovered run what its crawls' reports last said: their counts, and the finish
    reason and stats of those that got as far as their `finished` line. Its status stays."""
    run = session.get(Run, run_id)
    if run is None:
        return
    counts: dict[str, int] = {}
    stats: dict[str, Any] = {}
    finish_reason = None
    for site in dict.fromkeys(ref.partition("/")[0] for ref in run.channels):
        reader = ReportReader(report_path(logs_dir, run_id, site), site, None)
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
    if counts or stats:
        finish_run(
            session,
            run_id,
            status=run.status,
            finished_at=run.finished_at or datetime.now(UTC),
            exit_code=run.exit_code,
            finish_reason=finish_reason,
            error=run.error,
            counts=counts,
            stats=stats or None,
        )


def recover_warc_files(warc_dir: Path, log: Callable[[str], None]) -> None:
    """Close the `.open` WARC files whose writers are gone, and say what was done to each."""
    if warc_dir.is_dir():
        for report in salvage_open_files(warc_dir):
            if not report.status.startswith("skipped"):
                log(report.message)
