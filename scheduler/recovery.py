"""Clean up after crawls whose process died: mark their runs, free their locks, salvage WARCs."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.locks import recover_dead_runs
from pipelines.processes import pid_is_alive
from pipelines.warc.salvage import salvage_open_files
from scheduler.launcher import STALE_AFTER


def recover_archive(
    sessions: sessionmaker[Session], warc_dir: Path, log: Callable[[str], None]
) -> None:
    """Runs left `running` by a dead process become `interrupted` (their channel locks
    freed), and `.open` WARC files of dead writers are closed, cut back to their last complete
    record where a crash cut one."""
    host, me = socket.gethostname(), os.getpid()
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
        log(f"run {run_id} was left running by a process that is gone: marked interrupted")
    recover_warc_files(warc_dir, log)


def recover_warc_files(warc_dir: Path, log: Callable[[str], None]) -> None:
    """Close the `.open` WARC files whose writers are gone, and say what was done to each."""
    if warc_dir.is_dir():
        for report in salvage_open_files(warc_dir):
            if not report.status.startswith("skipped"):
                log(report.message)
