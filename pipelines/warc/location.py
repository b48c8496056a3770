"""Where one WARC record was written: what the catalogue stores to find a capture again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RecordLocation:
    """A `response` (or `revisit`) record in a WARC file, and what it captured.

    A revisit holds no payload: `refers_to` is the record id of the capture whose payload it
    shares, and `payload_digest` that payload's digest.
    """

    filename: str  # the closed file's name (without `.open`), relative to the WARC folder
    offset: int  # byte offset of the record's gzip member in the file
    length: int  # bytes of that gzip member
    record_id: str  # WARC-Record-ID, `<urn:uuid:…>`
    payload_digest: str  # WARC-Payload-Digest, `sha1:<base32>`
    fetched_at: datetime  # WARC-Date, timezone-aware UTC
    status: int  # HTTP status code of the captured response
    url: str  # WARC-Target-URI
    record_type: str = "response"  # or "revisit"
    refers_to: str | None = None  # WARC-Refers-To of a revisit
