"""The object store a run puts its closed WARC files in (`--storage`), and its sweeps: one
every `[storage] sweep_every` seconds while its crawls run (a file the 1 GB rotation closed
goes then, not hours later at the end of a long crawl), and one when they have ended."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.archive.storing import StoreReport, store_closed_files
from pipelines.config import environ_value
from pipelines.storage.opening import store_from
from pipelines.storage.store import ObjectStore

Notice = Callable[[str], None]
logger = logging.getLogger(__name__)

SWEEP_EVERY_ENV = "CPPCC_STORAGE_SWEEP_EVERY"
SWEEP_EVERY = 60.0  # seconds between two sweeps while a run's crawls run


def configured_store() -> ObjectStore | None:
    """The store CPPCC_STORAGE names (`--storage`, `[storage] url`); None: local only."""
    return store_from(os.environ)


def store_run_files(
    sessions: sessionmaker[Session], warc_dir: Path, notice: Notice
) -> StoreReport | None:
    """Store the closed files of `warc_dir` when storage is configured; the sweep's report.

    A catalogue that fails meanwhile is said in one line: the files stay local, uncommitted,
    and the next sweep (the next run, recovery) stores them.
    """
    store = configured_store()
    if store is None:
        return None
    try:
        return store_closed_files(sessions, warc_dir, store, notice)
    except SQLAlchemyError as exc:
        text = " ".join(str(getattr(exc, "orig", None) or exc).split())
        notice(f"cannot record the WARC files stored in {store.url}: {text}; the next run does")
        return None


def failure_reason(report: StoreReport | None, warc_dir: Path) -> str | None:
    """Why a run fails for its storage: files that could not be stored; None when all were."""
    if report is None or not report.failed:
        return None
    name, why = report.failed[0]
    return (
        f"storage: {len(report.failed)} WARC file(s) could not be stored ({name}: {why}); "
        f"they stay in {warc_dir} and the next run stores them"
    )


class SweepsWhileCrawling:
    """While a run's crawls run, store the closed files of `warc_dir` every `every` seconds
    (default: CPPCC_STORAGE_SWEEP_EVERY, else 60), in a thread of its own; nothing without
    storage configured.

    A file that cannot be stored now stays for the next sweep; the run's last sweep, after
    its crawls, is the one that fails the run for it. What a sweep says is said once (a
    store down for an hour is not sixty times the same lines). Leaving waits for a sweep
    under way, so that last sweep never runs beside one of these.
    """

    def __init__(self, warc_dir: Path, sessions: sessionmaker[Session], notice: Notice):
        self.warc_dir, self.sessions, self.notice = warc_dir, sessions, notice
        self.told: set[str] = set()
        self.every = _sweep_every()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._sweep, name="storage-sweeps", daemon=True)

    def __enter__(self) -> SweepsWhileCrawling:
        if configured_store() is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join()

    def _sweep(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                store_run_files(self.sessions, self.warc_dir, self._tell_once)
            except Exception:  # never the crawl's end: the last sweep tries these files again
                logger.exception("a storage sweep failed; the run's last sweep tries again")

    def _tell_once(self, line: str) -> None:
        if line not in self.told:
            self.told.add(line)
            self.notice(line)


def _sweep_every() -> float:
    # A number > 0: the command line checks it (check_environ) before any run begins.
    return float(environ_value(os.environ, SWEEP_EVERY_ENV, str(SWEEP_EVERY)))
