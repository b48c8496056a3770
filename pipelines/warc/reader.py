"""Read one archived HTTP response back from a WARC file, at the offset the catalogue gives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import CppccArchiveError
from pipelines.warc.location import RecordLocation
from pipelines.warc.naming import OPEN_SUFFIX
from pipelines.warc.scan import Damage, read_record


class RecordUnreadable(CppccArchiveError):
    """A record the catalogue names cannot be read back (file gone, wrong offset, damaged)."""


@dataclass(frozen=True)
class StoredResponse:
    """An archived response as the server sent it: status, headers in order, raw body."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes  # still content-encoded (gzip) when the server sent it so


def read_stored_response(warc_dir: Path, location: RecordLocation) -> StoredResponse:
    """The `response` record at `location` in `warc_dir`; RecordUnreadable when it is not there,
    is damaged, or fails its digests."""
    path = warc_dir / location.filename
    if not path.exists() and (warc_dir / (location.filename + OPEN_SUFFIX)).exists():
        path = warc_dir / (location.filename + OPEN_SUFFIX)  # still being written by a crawl
    try:
        record = read_record(path, location.offset)
    except FileNotFoundError:
        raise RecordUnreadable(f"WARC file {path} is missing (moved or deleted?)") from None
    except OSError as exc:
        message = f"{path}: cannot read the record at {location.offset}: {exc}"
        raise RecordUnreadable(message) from exc
    if isinstance(record, Damage):
        raise RecordUnreadable(
            f"{path}: cannot read the record at {location.offset}: {record.detail}; "
            "`cppcc-archive verify` checks the whole archive"
        )
    found = record.location
    if found.record_id != location.record_id:
        raise RecordUnreadable(
            f"{path}: record {location.record_id} is not at offset {location.offset}; "
            "`cppcc-archive verify` checks the archive against the catalogue"
        )
    if record.record_type != "response" or record.http_status is None:
        raise RecordUnreadable(f"{path}: record {location.record_id} is no HTTP response")
    if record.digest_problems:
        failed = "; ".join(record.digest_problems)
        raise RecordUnreadable(f"{path}: record {location.record_id} is damaged ({failed})")
    return StoredResponse(found.url, record.http_status, record.http_headers, record.block)
