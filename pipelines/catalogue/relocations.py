"""The catalogue side of packing WARC files: which files a run may still name, and moving the
locations that name a packed file to its pack.

Every function takes a Session and only flushes: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
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
