"""What `verify` asks of the catalogue: every place its rows say a WARC record is.

Every function takes a Session and only reads.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.catalogue.models import ArchivedRecord, Capture, Rejection


def capture_places(session: Session) -> Iterator[tuple[int, str, str, int, str]]:
    """(capture id, URL, WARC file, offset, record id) of every capture, in id order."""
    query = select(
        Capture.id, Capture.url, Capture.warc_filename, Capture.warc_offset, Capture.record_id
    ).order_by(Capture.id)
    for row in session.execute(query):
        yield tuple(row)  # type: ignore[misc]


def record_places(session: Session) -> Iterator[tuple[str, int, str]]:
    """(WARC file, offset, record id) of every row of the records table, in id order."""
    query = select(
        ArchivedRecord.warc_filename, ArchivedRecord.warc_offset, ArchivedRecord.record_id
    ).order_by(ArchivedRecord.id)
    for row in session.execute(query):
        yield tuple(row)  # type: ignore[misc]


def recorded_ids(session: Session) -> set[str]:
    """The record ids of the records table."""
    return set(session.scalars(select(ArchivedRecord.record_id)))


def catalogued_page_ids(session: Session) -> set[str]:
    """The record ids an article's capture or a rejection names."""
    named = set(session.scalars(select(Capture.record_id)))
    return named | {rid for rid in session.scalars(select(Rejection.record_id)) if rid}
