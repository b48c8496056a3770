"""The object store a run puts its closed WARC files in (`--storage`), and the sweep itself."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.archive.storing import StoreReport, store_closed_files
from pipelines.storage.opening import store_from
from pipelines.storage.store import ObjectStore

Notice = Callable[[str], None]


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
