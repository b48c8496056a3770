"""WARC/1.1 records as bytes: header fields, digests, and the HTTP blocks of an exchange."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from urllib.parse import urlsplit

from pipelines.warc.digest import sha1_digest
from pipelines.warc.exchange import Headers, HttpExchange

WARC_VERSION = "WARC/1.1"
WARC_FIELDS_TYPE = "application/warc-fields"
# WARC 1.1 section 6.7.2: the two revisit profiles this archive writes.
IDENTICAL_PAYLOAD_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
SERVER_NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
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
    # A revisit stands for a payload it does not hold: its digest is the original's. A
    # response's digest is given when it was computed already (HttpExchange.body_digest).
    known_payload_digest: str | None = None

    @cached_property
    def payload_digest(self) -> str | None:
        if self.known_payload_digest:
            return self.known_payload_digest
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
        known_payload_digest=exchange.body_digest,
    )


@dataclass(frozen=True)
class Original:
    """The earlier capture a revisit record stands for."""

    record_id: str  # WARC-Refers-To
    url: str  # WARC-Refers-To-Target-URI
    date: datetime  # WARC-Refers-To-Date
    payload_digest: str  # the payload both captures share


def revisit_record(
    exchange: HttpExchange,
    record_id: str,
    original: Original,
    fields: Iterable[tuple[str, str]],
) -> WarcRecord:
    """A `revisit` record: the exchange's response, its payload replaced by a reference.

    A 304 is `server-not-modified`, anything else `identical-payload-digest`. The 200's status
    line and headers stay in the record; a 304's go into a `metadata` record of their own
    (`not_modified_record`), because replay tools (pywb, ReplayWeb.page) replay a revisit that
    holds a 304 status line as an empty 304, while one without an HTTP head replays the
    original's status, headers and payload.
    """
    not_modified = exchange.status == 304
    profile = SERVER_NOT_MODIFIED_PROFILE if not_modified else IDENTICAL_PAYLOAD_PROFILE
    status_line = f"{exchange.protocol} {exchange.status} {exchange.reason}"
    extra = [("WARC-IP-Address", exchange.ip_address)] if exchange.ip_address else []
    return WarcRecord(
        record_type="revisit",
        record_id=record_id,
        date=exchange.fetched_at,
        content_type=HTTP_RESPONSE_TYPE,
        head=b"" if not_modified else http_head(status_line, exchange.response_headers),
        payload=b"",
        target_uri=exchange.url,
        fields=(
            *extra,
            ("WARC-Profile", profile),
            ("WARC-Refers-To", original.record_id),
            ("WARC-Refers-To-Target-URI", original.url),
            ("WARC-Refers-To-Date", warc_date(original.date)),
            *fields,
        ),
        known_payload_digest=original.payload_digest,
        digest_payload=bool(original.payload_digest),  # never the digest of the empty block
    )


def not_modified_record(
    exchange: HttpExchange, record_id: str, revisit_id: str, fields: Iterable[tuple[str, str]]
) -> WarcRecord:
    """The 304's status line and headers, as received, beside the revisit that stands for it."""
    lines = [("http-status-line", f"{exchange.protocol} {exchange.status} {exchange.reason}")]
    lines += [("http-header", f"{name}: {value}") for name, value in exchange.response_headers]
    refers = [("WARC-Refers-To", revisit_id), *fields]
    return metadata_record(exchange.url, record_id, exchange.fetched_at, lines, refers)


def parse_not_modified(block: bytes) -> tuple[int, list[tuple[str, str]]] | None:
    """The status and headers a `not_modified_record` block holds; None for another block."""
    status, headers = None, []
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, _, value = line.partition(": ")
        if name == "http-status-line":
            code = value.split(" ")[1:2]
            status = int(code[0]) if code and code[0].isdigit() else None
        elif name == "http-header":
            header, _, header_value = value.partition(": ")
            headers.append((header, header_value))
    return (status, headers) if status is not None else None


def metadata_record(
    target_uri: str,
    record_id: str,
    date: datetime,
    info: Iterable[tuple[str, str]],
    fields: Iterable[tuple[str, str]],
) -> WarcRecord:
    """A `metadata` record of `application/warc-fields` about the record it refers to.

    warc-fields keep it out of replay indexes: cdxj-indexer and pywb skip such records, so a
    replay of the page's URL never lands on its metadata.
    """
    return WarcRecord(
        record_type="metadata",
        record_id=record_id,
        date=date,
        content_type=WARC_FIELDS_TYPE,
        payload=warc_fields(info),
        target_uri=target_uri,
        fields=tuple(fields),
        digest_payload=False,
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
    return WarcRecord(
        record_type="warcinfo",
        record_id=record_id,
        date=date,
        content_type=WARC_FIELDS_TYPE,
        payload=warc_fields((name, value) for name, value in info if value),
        fields=(("WARC-Filename", filename),),
        digest_payload=False,  # a warcinfo block has no HTTP payload (warcio agrees)
    )


def warc_fields(info: Iterable[tuple[str, str]]) -> bytes:
    """`name: value` lines (WARC 1.1 allows UTF-8 in values); a name may repeat."""
    return "".join(f"{name}: {_one_line(value)}\r\n" for name, value in info).encode("utf-8")


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
