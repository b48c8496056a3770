"""The catalogue side of packing WARC files: which files a run may still name, moving the
locations that name a packed file to its pack, and making that move durable.

The functions taking a Session only flush: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, func, select, update
from sqlalchemy.orm import Session

from pipelines.catalogue.models import ArchivedRecord, Capture, Rejection, Run

# Every table holding a WARC location (warc_filename, warc_offset). A new one must be added
# here, or packing would leave its rows naming files that are gone.
LOCATED = (Capture, ArchivedRecord, Rejection)


@dataclass(frozen=True)
class Relocation:
    """The bytes of WARC file `original` now start at `start` in file `pack`."""

    original: str
    pack: str
    start: int


def relocate(session: Session, moves: Iterable[Relocation]) -> dict[str, int]:
    """Point every location naming a moved file at its pack, the offset shifted by its start;
    returns the rows moved per table (`captures`, `records`, `rejections`).

    Rows are picked by file name, so running it again moves nothing twice: what was moved
    names the pack, no longer the original.
    """
    moved = {model.__tablename__: 0 for model in LOCATED}
    for move in moves:
        for model in LOCATED:
            statement = (
                update(model)
                .where(model.warc_filename == move.original)
                .values(warc_filename=move.pack, warc_offset=model.warc_offset + move.start)
                .execution_options(synchronize_session=False)
            )
            result = cast(CursorResult[Any], session.execute(statement))
            moved[model.__tablename__] += result.rowcount
    session.flush()
    return moved


def rows_naming(session: Session, names: Iterable[str]) -> int:
    """How many catalogue rows hold a location in one of the files `names`."""
    names = list(names)
    total = 0
    for model in LOCATED:
        query = select(func.count()).select_from(model).where(model.warc_filename.in_(names))
        total += session.scalar(query) or 0
    return total


def earliest_unended_run(session: Session) -> tuple[int, datetime] | None:
    """(id, start) of the run still `running` (alive, or dead and not yet recovered) that
    started first; None when every run has ended.

    A file opened since is not the packer's to move: that run's crawl, or the recovery of a
    dead one (which finds a run's files by the time in their names), may still catalogue
    records in it by its name.
    """
    query = (
        select(Run.id, Run.started_at)
        .where(Run.status == "running")
        .order_by(Run.started_at, Run.id)
        .limit(1)
    )
    row = session.execute(query).first()
    return None if row is None else (row.id, row.started_at)


def make_commits_durable(engine: Engine) -> bool:
    """Make every commit so far survive a power cut; False when that could not be done now.

    PostgreSQL's commits are durable when they return. A SQLite catalogue in WAL mode with
    synchronous=NORMAL (pipelines/catalogue/engine.py) makes them durable at checkpoints: a
    power cut can undo the last ones, which `verify --repair` puts back from the WARC files,
    except a move of locations once the files they named are gone. So a full checkpoint is
    run; it waits (the busy timeout) for readers of an older snapshot, and is busy if they
    stay.
    """
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as connection:
        # On the DB-API connection: outside a transaction, as a checkpoint must be (the
        # engine's begin hook would open one on the SQLAlchemy connection).
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("PRAGMA wal_checkpoint(FULL)")
            row = cursor.fetchone()
        finally:
            cursor.close()
    return row is not None and row[0] == 0  # (busy, WAL frames, frames checkpointed)
