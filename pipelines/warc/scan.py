"""Every record of a WARC file in order, with where it is: what rebuilding and checking read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_datetime

from pipelines.warc.location import RecordLocation


@dataclass(frozen=True)
class ScannedRecord:
    """One record of a file: its type, WARC fields, HTTP head, block, and location."""

    record_type: str
    fields: dict[str, str]  # WARC header fields (the first of a repeated name)
    http_status: int | None
    http_headers: list[tuple[str, str]]
    block: bytes  # the payload after any HTTP head, as stored (not content-decoded)
    location: RecordLocation


def scan_warc(path: Path) -> Iterator[ScannedRecord]:
    """Every record of the file at `path`, in file order.

    Raises warcio's ArchiveLoadFailed (or OSError, EOFError) where the file stops being
    readable; the records before it have been yielded.
    """
    with path.open("rb") as stream:
        records = ArchiveIterator(stream)
        for record in records:
            block = record.raw_stream.read()
            fields = dict(record.rec_headers.headers[::-1])  # first value of a name wins
            status = None
            headers: list[tuple[str, str]] = []
            if record.http_headers is not None and record.rec_type in ("response", "revisit"):
                code = record.http_headers.get_statuscode()
                status = int(code) if code and code.isdigit() else None
                headers = list(record.http_headers.headers)
            location = RecordLocation(
                filename=path.name,
                offset=records.get_record_offset(),
                length=records.get_record_length(),
                record_id=fields.get("WARC-Record-ID", ""),
                payload_digest=fields.get("WARC-Payload-Digest", ""),
                fetched_at=_date(fields.get("WARC-Date")),
                status=status or 0,
                url=fields.get("WARC-Target-URI", ""),
                record_type=record.rec_type,
                refers_to=fields.get("WARC-Refers-To"),
            )
            yield ScannedRecord(record.rec_type, fields, status, headers, block, location)


def _date(text: str | None) -> datetime:
    if not text:
        raise ValueError("a WARC record without WARC-Date")
    return iso_date_to_datetime(text, tz_aware=True)
