"""Read one archived HTTP response back from a WARC file, at the offset the catalogue gives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from pipelines.errors import CppccArchiveError
from pipelines.warc.location import RecordLocation
from pipelines.warc.naming import OPEN_SUFFIX


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
    """The `response` record at `location` in `warc_dir`; RecordUnreadable when it is not there."""
    path = warc_dir / location.filename
    if not path.exists() and (warc_dir / (location.filename + OPEN_SUFFIX)).exists():
        path = warc_dir / (location.filename + OPEN_SUFFIX)  # still being written by a crawl
    try:
        with path.open("rb") as stream:
            stream.seek(location.offset)
            record = next(iter(ArchiveIterator(stream)), None)
            if record is None or record.rec_headers.get_header("WARC-Record-ID") != (
                location.record_id
            ):
                raise RecordUnreadable(
                    f"{path}: record {location.record_id} is not at offset {location.offset}; "
                    "`cppcc-archive verify` checks the archive against the catalogue"
                )
            if record.rec_type != "response" or record.http_headers is None:
                raise RecordUnreadable(f"{path}: record {location.record_id} is no HTTP response")
            body = record.raw_stream.read()
    except FileNotFoundError:
        raise RecordUnreadable(f"WARC file {path} is missing (moved or deleted?)") from None
    except (OSError, ArchiveLoadFailed, EOFError) as exc:
        message = f"{path}: cannot read the record at {location.offset}: {exc}"
        raise RecordUnreadable(message) from exc
    return StoredResponse(
        url=record.rec_headers.get_header("WARC-Target-URI"),
        status=int(record.http_headers.get_statuscode()),
        headers=list(record.http_headers.headers),
        body=body,
    )
