"""Expire crawl logs: remove the Scrapy logs and reports of runs that ended long enough ago.

A crawl leaves `HOME/logs/run-<id>-<site>.log` (Scrapy's log) and
`run-<id>-<site>.report.jsonl` (its progress and final report). Once the run has ended, what
a user needs of them is in the catalogue (the run's status, error, counts, finish reason and
Scrapy stats), so after the retention they are removed rather than compressed: compressing
would keep the file count, which is what grows (two files a crawl, thousands a day at one
crawl a minute). The report of a run still `running` (alive, or dead and not yet recovered)
is what recovery reads its counts from, so nothing of such a run is ever removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipelines.archive.defaults import DEFAULT_LOG_RETENTION
from pipelines.catalogue.run_endings import RunEnding, run_endings
from pipelines.errors import UsageError

LOG_NAME = re.compile(r"run-(?P<run>\d+)-[^/]+?\.(?:log|report\.jsonl)")


@dataclass
class LogExpiryReport:
    """What `expire_logs` did in `logs_dir`: file names, each list sorted."""

    logs_dir: Path
    retention: timedelta
    dry_run: bool = False
    removed: list[str] = field(default_factory=list)
    bytes_removed: int = 0
    kept_running: list[str] = field(default_factory=list)  # of runs not ended (or recovered)
    kept_recent: int = 0  # of runs ended, or files written, within the retention
    failed: dict[str, str] = field(default_factory=dict)  # file -> why it could not be removed

    def as_json(self) -> dict[str, Any]:
        return {
            "logs_dir": str(self.logs_dir),
            "retention_days": self.retention / timedelta(days=1),
            "dry_run": self.dry_run,
            "removed": self.removed,
            "bytes_removed": self.bytes_removed,
            "kept_running": self.kept_running,
            "kept_recent": self.kept_recent,
            "failed": [{"file": name, "error": error} for name, error in self.failed.items()],
        }

    def lines(self) -> list[str]:
        """A summary line, then a line per file kept for a run not ended, per failure."""
        days = f"{self.retention / timedelta(days=1):g}"
        verb = "would remove" if self.dry_run else "removed"
        lines = [
            f"{verb} {len(self.removed)} crawl log files ({self.bytes_removed:,} bytes) of "
            f"runs that ended more than {days} days ago; kept {self.kept_recent} newer, "
            f"{len(self.kept_running)} of runs not ended"
        ]
        lines += [
            f"kept {name}: its run has not ended (or died and was not recovered yet)"
            for name in self.kept_running
        ]
        lines += [f"cannot remove {name}: {error}" for name, error in self.failed.items()]
        return lines


def expire_logs(
    logs_dir: Path,
    sessions: sessionmaker[Session],
    *,
    retention: timedelta = DEFAULT_LOG_RETENTION,
    now: datetime | None = None,
    dry_run: bool = False,
) -> LogExpiryReport:
    """Remove the crawl logs in `logs_dir` of runs that ended more than `retention` before
    `now`, themselves last written that long ago; report what was removed and kept.

    Logs of a run still `running` are kept, however old. Logs of a run the catalogue does not
    know (a catalogue rebuilt by `reindex`) go by their age alone: nothing reads them. Other
    files are left alone. `dry_run` removes nothing and reports what would be removed.
    """
    if retention <= timedelta(0):
        raise UsageError(f"a log retention must be longer than 0, not {retention}")
    report = LogExpiryReport(logs_dir, retention, dry_run=dry_run)
    logs = _crawl_logs(logs_dir)
    with sessions() as session:
        endings = run_endings(session, set(logs.values()))
    cutoff = (now or datetime.now(UTC)) - retention
    for path, run_id in sorted(logs.items()):
        ending = endings.get(run_id)
        if ending is not None and ending.status == "running":
            report.kept_running.append(path.name)
        elif _expired(path, ending, cutoff):
            _remove(path, report, dry_run)
        else:
            report.kept_recent += 1
    return report


def _crawl_logs(logs_dir: Path) -> dict[Path, int]:
    """The crawl logs in `logs_dir`, each with its run's id."""
    if not logs_dir.is_dir():
        return {}
    logs = {}
    for path in logs_dir.iterdir():
        match = LOG_NAME.fullmatch(path.name)
        if match is not None and path.is_file():
            logs[path] = int(match["run"])
    return logs


def _expired(path: Path, ending: RunEnding | None, cutoff: datetime) -> bool:
    # A run recovered today ended today, however old its files: recovery may be reading them.
    if ending is not None and ending.finished_at is not None and ending.finished_at > cutoff:
        return False
    try:
        written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except FileNotFoundError:  # removed meanwhile
        return False
    return written <= cutoff


def _remove(path: Path, report: LogExpiryReport, dry_run: bool) -> None:
    try:
        size = path.stat().st_size
        if not dry_run:
            path.unlink()
    except FileNotFoundError:
        return
    except OSError as error:
        report.failed[path.name] = str(error)
        return
    report.removed.append(path.name)
    report.bytes_removed += size
