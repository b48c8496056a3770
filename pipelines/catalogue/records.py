"""The archived records table: write what a crawl archived, find captures by URL and digest.

Every function takes a Session and only flushes: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from pipelines.catalogue.conflicts import dialect_of, insert_for, table_of
from pipelines.catalogue.models import ArchivedRecord, Capture, WarcFile
from pipelines.warc.location import RecordLocation


@dataclass(frozen=True)
class ArchivedResponse:
    """A record as written, with the validators its response carried (for conditional GETs)."""

    location: RecordLocation
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class ConditionalState:
    """What a conditional request for a URL needs: validators, and the capture they stand for."""

    etag: str | None
    last_modified: str | None
    original: RecordLocation  # the full `response` record holding the payload


_records = table_of(ArchivedRecord)
IN_CHUNK = 500  # values per SQL IN (…), well under every back end's parameter limit


def save_records(session: Session, records: Sequence[ArchivedResponse], run_id: int | None) -> None:
    """Add the records not yet in the table (same record id: skipped)."""
    if records:
        statement = insert_for(dialect_of(session), _records).on_conflict_do_nothing(
            index_elements=["record_id"]
        )
        session.connection().execute(statement, [record_row(record, run_id) for record in records])


# The look-ups a crawl makes for every response (digest) and every request (conditional):
# plain statements built once, their values as parameters, so each costs tens of
# microseconds, not the millisecond an ORM query built per call does.
_NEWEST_FIRST = (_records.c.fetched_at.desc(), _records.c.id.desc())
_ORIGINAL_WITH_DIGEST = (
    select(_records)
    .where(
        _records.c.payload_digest == bindparam("digest"),
        _records.c.record_type == "response",
    )
    .order_by(*_NEWEST_FIRST)
    .limit(1)
)
_LATEST_USABLE_CAPTURE = (
    select(_records)
    .where(
        _records.c.url == bindparam("url"),
        or_(
            and_(_records.c.record_type == "response", _records.c.status == 200),
            _records.c.record_type == "revisit",
        ),
    )
    .order_by(*_NEWEST_FIRST)
    .limit(1)
)
_RECORD_BY_ID = select(_records).where(_records.c.record_id == bindparam("record_id"))
# With object storage (issue 17) a revisit may refer only to a record of a committed file: one
# the store holds. A file still local to one machine may yet be lost with it, and a revisit
# of a record in it would then stand for nothing.
_IN_COMMITTED_FILE = _records.c.warc_filename.in_(
    select(WarcFile.name).where(WarcFile.committed_at.is_not(None))
)
_COMMITTED_ORIGINAL_WITH_DIGEST = _ORIGINAL_WITH_DIGEST.where(_IN_COMMITTED_FILE)
_COMMITTED_RECORD_BY_ID = _RECORD_BY_ID.where(_IN_COMMITTED_FILE)


def original_with_digest(
    session: Session, payload_digest: str, committed_only: bool = False
) -> RecordLocation | None:
    """The latest full `response` record holding this payload, if any was archived
    (`committed_only`: in a file the object store holds)."""
    statement = _COMMITTED_ORIGINAL_WITH_DIGEST if committed_only else _ORIGINAL_WITH_DIGEST
    row = session.connection().execute(statement, {"digest": payload_digest}).first()
    return location_of(row) if row else None


def record_by_id(session: Session, record_id: str) -> RecordLocation | None:
    """The record with this WARC-Record-ID, if the table has it."""
    query = select(ArchivedRecord).where(ArchivedRecord.record_id == record_id)
    row = session.scalars(query).one_or_none()
    return location_of(row) if row else None


def records_with_urls(session: Session, urls: Sequence[str]) -> list[ArchivedRecord]:
    """Every record of these URLs (responses and revisits)."""
    found: list[ArchivedRecord] = []
    for chunk in _chunks(urls):
        found += session.scalars(select(ArchivedRecord).where(ArchivedRecord.url.in_(chunk)))
    return found


def records_with_ids(session: Session, record_ids: Sequence[str]) -> list[ArchivedRecord]:
    """The records with these WARC-Record-IDs (those the table has)."""
    found: list[ArchivedRecord] = []
    for chunk in _chunks(record_ids):
        query = select(ArchivedRecord).where(ArchivedRecord.record_id.in_(chunk))
        found += session.scalars(query)
    return found


def conditional_state(
    session: Session, url: str, committed_only: bool = False
) -> ConditionalState | None:
    """Validators of the URL's latest capture and the full 200 response it stands for.

    The latest capture is a 200 `response` or a `revisit` (a 304, or a payload seen before);
    a revisit's validators are its own, else its original's when that is the same URL. None
    when the URL was never archived so, or its revisit's original is not in the table, or
    (`committed_only`) not in a committed file: a 304 is archived as a revisit of it.
    """
    connection = session.connection()
    latest = connection.execute(_LATEST_USABLE_CAPTURE, {"url": url}).first()
    if latest is None:
        return None
    original = latest
    by_id = _COMMITTED_RECORD_BY_ID if committed_only else _RECORD_BY_ID
    if latest.record_type == "revisit" or committed_only:
        record_id = latest.refers_to if latest.record_type == "revisit" else latest.record_id
        found = connection.execute(by_id, {"record_id": record_id}).first()
        if found is None or found.status != 200:
            return None
        original = found
    # Another URL's validators (a revisit of a payload archived under it) mean nothing here.
    inherited = original.url == url
    return ConditionalState(
        etag=latest.etag or (original.etag if inherited else None),
        last_modified=latest.last_modified or (original.last_modified if inherited else None),
        original=location_of(original),
    )


def location_of(row: ArchivedRecord | Capture | Row[Any]) -> RecordLocation:
    """Where the row's record is, as the WARC writer reported it (a capture: as catalogued;
    whether it is a revisit, only the records table says)."""
    return RecordLocation(
        filename=row.warc_filename,
        offset=row.warc_offset,
        length=row.warc_length,
        record_id=row.record_id,
        payload_digest=row.payload_digest or "",
        fetched_at=row.fetched_at,
        status=row.status,
        url=row.url,
        record_type=getattr(row, "record_type", "response"),
        refers_to=getattr(row, "refers_to", None),
    )


def record_row(record: ArchivedResponse, run_id: int | None) -> dict[str, Any]:
    """The `records` row of a record a crawl wrote."""
    location = record.location
    return {
        "record_id": location.record_id,
        "record_type": location.record_type,
        "url": location.url,
        "fetched_at": location.fetched_at,
        "status": location.status,
        "payload_digest": location.payload_digest or None,
        "warc_filename": location.filename,
        "warc_offset": location.offset,
        "warc_length": location.length,
        "refers_to": location.refers_to,
        "etag": record.etag,
        "last_modified": record.last_modified,
        "run_id": run_id,
    }


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]
