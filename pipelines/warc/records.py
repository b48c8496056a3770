"""WARC/1.1 records as bytes: header fields, digests, and the HTTP blocks of an exchange."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from urllib.parse import urlsplit

from pipelines.warc.exchange import Headers, HttpExchange

WARC_VERSION = "WARC/1.1"
WARC_FIELDS_TYPE = "application/warc-fields"
HTTP_REQUEST_TYPE = "application/http; msgtype=request"
HTTP_RESPONSE_TYPE = "application/http; msgtype=response"
CRLF = b"\r\n"


@dataclass(frozen=True)
class WarcRecord:
    """One record: its named WARC fields, and a block made of an HTTP head and a payload.

    The block digest covers head and payload; the payload digest, when `digest_payload` is set,
    covers the payload alone, as warcio computes it.
    """

    record_type: str
    record_id: str
    date: datetime
    content_type: str
    payload: bytes
    head: bytes = b""
    target_uri: str | None = None
    fields: tuple[tuple[str, str], ...] = ()  # further WARC fields, after WARC-Target-URI
    digest_payload: bool = True

    @cached_property
    def payload_digest(self) -> str | None:
        return sha1_digest(self.payload) if self.digest_payload else None

    def to_bytes(self) -> bytes:
        """The record as it goes into a file, ending with the two CRLFs that close it."""
        return b"".join((self._warc_head(), self.head, self.payload, CRLF, CRLF))

    def _warc_head(self) -> bytes:
        named = [
            ("WARC-Type", self.record_type),
            ("WARC-Record-ID", self.record_id),
            ("WARC-Date", warc_date(self.date)),
        ]
        if self.target_uri is not None:
            named.append(("WARC-Target-URI", self.target_uri))
        named.extend(self.fields)
        named.append(("Content-Type", self.content_type))
        named.append(("WARC-Block-Digest", sha1_digest(self.head, self.payload)))
        if self.payload_digest:
            named.append(("WARC-Payload-Digest", self.payload_digest))
        named.append(("Content-Length", str(len(self.head) + len(self.payload))))
        lines = [WARC_VERSION, *(f"{name}: {_one_line(value)}" for name, value in named), "", ""]
        # WARC 1.1 allows UTF-8 in field values (a Chinese URL stays readable).
        return "\r\n".join(lines).encode("utf-8")


def warc_date(moment: datetime) -> str:
    """WARC 1.1 `WARC-Date`: UTC with microseconds, e.g. `2024-05-01T08:00:00.123456Z`."""
    if moment.tzinfo is None:
        raise ValueError(f"a WARC date needs a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha1_digest(*parts: bytes) -> str:
    """`sha1:<base32>`, the labelled digest form warcio, pywb and Heritrix write and check."""
    sha1 = hashlib.sha1()
    for part in parts:
        sha1.update(part)
    return "sha1:" + base64.b32encode(sha1.digest()).decode("ascii")


def response_record(
    exchange: HttpExchange, record_id: str, fields: Iterable[tuple[str, str]]
) -> WarcRecord:
    """The `response` record of an exchange; `fields` come after WARC-Target-URI."""
    extra = [("WARC-IP-Address", exchange.ip_address)] if exchange.ip_address else []
    if exchange.truncated:
        extra.append(("WARC-Truncated", exchange.truncated))
    status_line = f"{exchange.protocol} {exchange.status} {exchange.reason}"
    return WarcRecord(
        record_type="response",
        record_id=record_id,
        date=exchange.fetched_at,
        content_type=HTTP_RESPONSE_TYPE,
        head=http_head(status_line, exchange.response_headers),
        payload=exchange.body,
        target_uri=exchange.url,
        fields=(*extra, *fields),
    )


def request_record(
    exchange: HttpExchange, record_id: str, fields: Iterable[tuple[str, str]]
) -> WarcRecord:
    """The `request` record of an exchange; `fields` carry WARC-Concurrent-To and the like."""
    request_line = f"{exchange.method} {request_target(exchange.url)} {exchange.request_protocol}"
    return WarcRecord(
        record_type="request",
        record_id=record_id,
        date=exchange.fetched_at,
        content_type=HTTP_REQUEST_TYPE,
        head=http_head(request_line, exchange.request_headers),
        payload=exchange.request_body,
        target_uri=exchange.url,
        fields=tuple(fields),
    )


def warcinfo_record(
    record_id: str, date: datetime, filename: str, info: Iterable[tuple[str, str]]
) -> WarcRecord:
    """The `warcinfo` record that opens a file: who wrote it, with what, under which rules."""
    body = "".join(f"{name}: {_one_line(value)}\r\n" for name, value in info if value)
    return WarcRecord(
        record_type="warcinfo",
        record_id=record_id,
        date=date,
        content_type=WARC_FIELDS_TYPE,
        payload=body.encode("utf-8"),
        fields=(("WARC-Filename", filename),),
        digest_payload=False,  # a warcinfo block has no HTTP payload (warcio agrees)
    )


def http_head(start_line: str, headers: Headers) -> bytes:
    """Start line, one line per header pair in the given order, and the blank line."""
    lines = [start_line, *(f"{name}: {value}" for name, value in headers), "", ""]
    return CRLF.join(_wire_bytes(line) for line in lines)


def request_target(url: str) -> str:
    """The origin-form target of a request line: path and query, never the fragment."""
    parts = urlsplit(url)
    target = parts.path or "/"
    return f"{target}?{parts.query}" if parts.query else target


def _wire_bytes(text: str) -> bytes:
    # Exchange headers hold wire bytes decoded as latin-1; a caller who passed real Unicode
    # (beyond U+00FF) gets UTF-8, the only reading a browser would try next.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _one_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"a WARC field value cannot span lines: {value!r}")
    return value
