"""Put the closed WARC files of a folder in the object store, and commit them in the catalogue.

Each file not yet committed is, in turn: measured (size, SHA-256) and recorded in the
catalogue, uncommitted; put in the store with a conditional put; then marked committed. A
put that fails leaves the file where it is, local and uncommitted, its row saying why, and
the next sweep (the end of the next run, a recovery, `verify --repair`) tries it again:
nothing is lost and nothing is silent. Whoever sweeps first stores a file; a second process
sweeping the same folder finds the object there with the same digest and commits it too.

The launcher sweeps, not the crawl subprocess at each rotation: every minute while a run's
crawls run and once when they have ended (scheduler/run_storage.py). One path, with the
catalogue at hand, for the files a crawl closed, the files recovery salvaged and the files a
failed put left, and none in Scrapy's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.warc_files import (
    committed_names,
    mark_committed,
    mark_failed,
    record_file,
)
from pipelines.storage.store import ObjectStore, StorageError, file_digest
from pipelines.warc.naming import WARC_SUFFIX

Log = Callable[[str], None]


@dataclass
class StoreReport:
    """What a sweep did: files stored now, found stored already, and those that failed."""

    stored: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # the store had them (an earlier try)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, why)
    bytes: int = 0

    def summary(self, where: str) -> str:
        text = f"stored {len(self.stored)} WARC file(s) ({self.bytes:,} bytes) in {where}"
        if self.already:
            text += f", {len(self.already)} found there already"
        if self.failed:
            text += f"; {len(self.failed)} could not be stored and stay local"
        return text


def closed_files(warc_dir: Path) -> list[Path]:
    """The closed WARC files of `warc_dir` (not `.open`, not `.damaged`), by name."""
    if not warc_dir.is_dir():
        return []
    return sorted(path for path in warc_dir.glob(f"*{WARC_SUFFIX}") if path.is_file())


def store_closed_files(
    sessions: sessionmaker[Session], warc_dir: Path, store: ObjectStore, log: Log | None = None
) -> StoreReport:
    """Store and commit every closed file of `warc_dir` the catalogue has not committed.

    Raises what SQLAlchemy raises when the catalogue fails (the files stay for the next
    sweep); a store that fails is said per file in the report and on the files' rows.
    """
    report = StoreReport()
    files = closed_files(warc_dir)
    with sessions() as session:
        done = committed_names(session, [path.name for path in files])
    for path in files:
        if path.name not in done:
            store_file(sessions, path, store, report)
    if log and (report.stored or report.failed):
        log(report.summary(str(store.url)))
        for name, why in report.failed:
            log(f"not stored, kept in {warc_dir} for the next try: {name}: {why}")
    return report


def store_file(
    sessions: sessionmaker[Session], path: Path, store: ObjectStore, report: StoreReport
) -> None:
    """Record, put and commit one file; its outcome into `report`."""
    name = path.name
    try:
        digest = file_digest(path)
    except FileNotFoundError:  # packed, or stored and removed, meanwhile by another process
        return
    url = store.url.object_url(name)
    with sessions.begin() as session:
        record_file(session, name, digest.size, digest.sha256, url, datetime.now(UTC))
    try:
        written = store.put_if_absent(path, name, digest)
    except StorageError as exc:  # said by the sweep's caller, from the report
        report.failed.append((name, str(exc)))
        with sessions.begin() as session:
            mark_failed(session, name, str(exc))
        return
    with sessions.begin() as session:
        mark_committed(session, name, datetime.now(UTC))
    if written:
        report.stored.append(name)
        report.bytes += digest.size
    else:
        report.already.append(name)
