"""The `warc_files` table: WARC files put in the object store, and which are committed.

Every function takes a Session and only flushes: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipelines.catalogue.conflicts import dialect_of, insert_for, table_of
from pipelines.catalogue.models import WarcFile

_files = table_of(WarcFile)


def committed_names(session: Session, names: Collection[str] | None = None) -> set[str]:
    """The names of the files the store holds (among `names`, when given)."""
    query = select(WarcFile.name).where(WarcFile.committed_at.is_not(None))
    if names is not None:
        found: set[str] = set()
        listed = sorted(names)
        for start in range(0, len(listed), 500):
            chunk = listed[start : start + 500]
            found.update(session.scalars(query.where(WarcFile.name.in_(chunk))))
        return found
    return set(session.scalars(query))


def recorded_names(session: Session) -> set[str]:
    """The names of every file recorded for the store: committed, or on its way there."""
    return set(session.scalars(select(WarcFile.name)))


def stored_files(session: Session) -> list[WarcFile]:
    """Every file recorded for the store, committed or not, by name."""
    return list(session.scalars(select(WarcFile).order_by(WarcFile.name)))


def record_file(
    session: Session, name: str, size: int, sha256: str, stored_url: str, now: datetime
) -> None:
    """Record the file about to be put in the store (its row, not yet committed).

    A row there already (another process stores it too, or an earlier try failed) keeps its
    commit; a file not committed gets the size and digest it has now.
    """
    row = {"name": name, "size": size, "sha256": sha256, "stored_url": stored_url,
           "recorded_at": now}  # fmt: skip
    statement = insert_for(dialect_of(session), _files).on_conflict_do_nothing(
        index_elements=["name"]
    )
    session.connection().execute(statement, [row])
    session.execute(
        update(WarcFile)
        .where(WarcFile.name == name, WarcFile.committed_at.is_(None))
        .values(size=size, sha256=sha256, stored_url=stored_url)
    )


def mark_committed(session: Session, name: str, now: datetime) -> None:
    """The store holds the file now: it is committed (a commit made before is kept)."""
    session.execute(
        update(WarcFile)
        .where(WarcFile.name == name, WarcFile.committed_at.is_(None))
        .values(committed_at=now, error=None)
    )


def mark_failed(session: Session, name: str, error: str) -> None:
    """The put failed: say why on the file's row, which stays uncommitted."""
    session.execute(
        update(WarcFile)
        .where(WarcFile.name == name, WarcFile.committed_at.is_(None))
        .values(error=error)
    )


def record_stored(session: Session, name: str, size: int, sha256: str, stored_url: str) -> None:
    """Record a file found in the store (reindex from stored objects) as committed: its
    size and digest as read from the object."""
    now = datetime.now(UTC)
    record_file(session, name, size, sha256, stored_url, now)
    mark_committed(session, name, now)
