"""Tidy a long-running archive: pack small WARC files, expire old crawl logs.

One crawl a minute leaves a WARC file and two log files a minute; this is what keeps that in
bounds, run by `cppcc-archive tidy` and daily by the service. Each half is safe to stop at
any moment (packing resumes from its manifest, log expiry only removes whole files), so a
tidy asked to stop simply stops at its next step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipelines.archive.defaults import DEFAULT_LOG_RETENTION, DEFAULT_MIN_AGE, DEFAULT_PACK_BELOW
from pipelines.archive.logs import LogExpiryReport, expire_logs
from pipelines.archive.pack import PackReport, pack_warc_files
from pipelines.errors import CppccArchiveError
from pipelines.home import ArchiveHome


@dataclass(frozen=True)
class TidySettings:
    """Which WARC files are packed, and how long crawl logs are kept."""

    pack_below: int = DEFAULT_PACK_BELOW  # bytes: closed files smaller than this are packed
    pack_min_age: timedelta = DEFAULT_MIN_AGE  # files closed less long ago are left for later
    log_retention: timedelta = DEFAULT_LOG_RETENTION


class TidyStopped(CppccArchiveError):
    """A tidy was asked to stop (the service is stopping); the next one finishes its work."""

    exit_code = 130


@dataclass(frozen=True)
class TidyReport:
    """What a tidy did: its packing, then its log expiry."""

    packing: PackReport
    logs: LogExpiryReport

    @property
    def failed(self) -> bool:
        return bool(self.packing.failed or self.logs.failed)

    def as_json(self) -> dict[str, Any]:
        return {"pack": self.packing.as_json(), "logs": self.logs.as_json()}

    def lines(self) -> list[str]:
        return self.packing.lines() + self.logs.lines()

    def problems(self) -> list[str]:
        """A line per pack that could not be made and per log that could not be removed."""
        failed = [f"not packed: {f.file}: {f.detail}" for f in self.packing.failed]
        return failed + [f"cannot remove {name}: {why}" for name, why in self.logs.failed.items()]

    def summary(self) -> str:
        """One line for the service's log."""
        return f"{self.packing.summary()}; {self.logs.lines()[0]}"


def tidy_archive(
    home: ArchiveHome,
    sessions: sessionmaker[Session],
    settings: TidySettings | None = None,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    stop_requested: Callable[[], bool] = lambda: False,
) -> TidyReport:
    """Pack the home's small closed WARC files, then expire its old crawl logs.

    Raises TidyStopped between steps once `stop_requested()` is true; what was begun is
    finished by the next tidy (or `pack`).
    """

    settings = settings or TidySettings()

    def checkpoint(_step: str) -> None:
        if stop_requested():
            raise TidyStopped("stopped while packing WARC files; the next packing finishes")

    packing = pack_warc_files(
        home.warc,
        home.indexes,
        sessions,
        pack_below=settings.pack_below,
        min_age=settings.pack_min_age,
        now=now,
        dry_run=dry_run,
        checkpoint=checkpoint,
    )
    checkpoint("logs")
    logs = expire_logs(
        home.logs, sessions, retention=settings.log_retention, now=now, dry_run=dry_run
    )
    return TidyReport(packing, logs)
