"""Every record of a WARC file in order, with where it is, and what is damaged where.

Each record of our files is its own gzip member. A member that is corrupt, holds no WARC
record, or holds one whose headers or Content-Length lie is reported as `Damage` with its
offset, and the scan resumes at the next gzip member that starts a WARC record: one bad
member costs its own record, never the records after it. A member is decompressed whole and a
sound record read from its bytes (memberrecord.py); any other is read by warcio, whose words
say what is wrong.
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from warcio.bufferedreaders import BufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.limitreader import LimitReader
from warcio.recordloader import ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeadersParserException
from warcio.timeutils import iso_date_to_datetime

from pipelines.warc.location import RecordLocation
from pipelines.warc.memberrecord import MemberRecord, read_member_record
from pipelines.warc.members import (
    GZIP_MAGIC,
    RECORD_START,
    MemberDamaged,
    MemberReader,
    member_head,
    next_record_start,
)

CHUNK = 1 << 16  # block bytes read at a time when the block is not kept
# Decompressed bytes of a member read in one piece: a longer member (a video) is streamed.
WHOLE_MEMBER = 8 << 20
RECORD_END = b"\r\n\r\n"  # what closes every WARC record, after its Content-Length bytes
# Damage found without leaving the member: the scan goes on at its end, from where it stands.
IN_PLACE = frozenset({"bad-headers", "length-mismatch"})
# What warcio raises for headers it cannot read; AttributeError for a response, request or
# revisit record without a WARC-Target-URI (it calls .startswith on the missing value).
HEADER_ERRORS = (
    ArchiveLoadFailed,
    StatusAndHeadersParserException,
    ValueError,
    TypeError,
    AttributeError,
)

DamageKind = Literal[
    "empty-file",  # zero bytes
    "not-warc",  # no gzip member of the file holds a WARC record
    "truncated",  # the file ends inside a gzip member: the last one cut short
    "garbage",  # bytes between members that are no gzip member holding a WARC record
    "corrupt-member",  # a gzip member that does not decompress (bad deflate data or CRC)
    "bad-headers",  # a member whose WARC headers do not parse
    "length-mismatch",  # a record whose Content-Length is not what its member holds
]


@dataclass(frozen=True)
class ScannedRecord:
    """One record of a file: its type, WARC fields, HTTP head, block, and location."""

    record_type: str
    fields: dict[str, str]  # WARC header fields (the first of a repeated name)
    http_status: int | None
    http_headers: list[tuple[str, str]]
    block: bytes  # the payload after any HTTP head, as stored (not content-decoded)
    location: RecordLocation
    digest_problems: tuple[str, ...] = ()  # with check_digests: what warcio found wrong


@dataclass(frozen=True)
class Damage:
    """Bytes of a file that give no record: from `offset` to `end` (None: the file's end)."""

    kind: DamageKind
    offset: int
    end: int | None
    detail: str  # what is wrong, in a sentence for the user


def scan_warc(
    path: Path,
    *,
    check_digests: bool = False,
    keep_blocks: bool = True,
    start: int = 0,
    stop: int | None = None,
) -> Generator[ScannedRecord | Damage, None, None]:
    """Every record of the file at `path` and every damaged span, in file order.

    With `check_digests`, each record's digest problems are listed on it; without
    `keep_blocks`, blocks are read (and checked) but not kept. `start` and `stop` scan a part
    of the file: from the member at `start` (a record's start) to the first item starting at
    or after `stop`, exclusive; an item starting before `stop` is read to its end. Raises
    OSError when the file cannot be read at all.
    """
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            yield Damage("empty-file", 0, None, "empty file: 0 bytes, no WARC record")
            return
        scan = _Scan(file, path.name, size, check_digests, keep_blocks, start=start)
        yield from scan.items(size if stop is None else min(stop, size))


def read_record(path: Path, offset: int) -> ScannedRecord | Damage:
    """The record whose gzip member starts at `offset` (digests checked), or what is wrong there.

    Raises OSError when the file cannot be read.
    """
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        scan = _Scan(file, path.name, size, True, True, resync=False, start=offset)
        return scan.one(offset)


class _Scan:
    """One walk over a file's gzip members (without `resync`: one member, no search after it)."""

    def __init__(
        self,
        file: BinaryIO,
        name: str,
        size: int,
        check_digests: bool,
        keep_blocks: bool,
        *,
        resync: bool = True,
        start: int = 0,
    ) -> None:
        self.file, self.name, self.size = file, name, size
        self.check_digests, self.keep_blocks = check_digests, keep_blocks
        self.resync = resync
        self.start = start
        self.members = MemberReader(file, start)
        self.loader = ArcWarcRecordLoader(verify_http=False)
        self.found_record = False

    def items(self, stop: int) -> Iterator[ScannedRecord | Damage]:
        """The items from the scan's start up to the first that starts at `stop` or later."""
        offset: int | None = self.start
        while offset is not None and offset < stop:
            item, offset = self._member(offset)
            self.found_record |= isinstance(item, ScannedRecord)
            yield item
            if offset is None:
                break
            if isinstance(item, ScannedRecord) or item.kind in IN_PLACE:
                self.members.next_member()  # the reader stands at the member's end
            else:
                self.members.restart(offset)  # a search has moved the file's position

    def one(self, offset: int) -> ScannedRecord | Damage:
        """The record or damage at `offset`, where the reader stands."""
        if offset >= self.size:
            return Damage("garbage", offset, None, f"offset {offset} is past the file's end")
        return self._member(offset)[0]

    def _member(self, offset: int) -> tuple[ScannedRecord | Damage, int | None]:
        """The record or damage at `offset`, and where the scan goes on (None: nowhere)."""
        try:
            head = self.members.peek(len(RECORD_START))
        except MemberDamaged as damaged:
            if damaged.cut:
                return self._truncated(offset), None
            if self._starts_gzip(offset):
                return self._corrupt(offset, str(damaged))
            return self._garbage(offset)
        if head != RECORD_START:
            return self._garbage(offset)
        try:
            return self._record(offset)
        except MemberDamaged as damaged:
            if damaged.cut:
                return self._truncated(offset), None
            return self._corrupt(offset, str(damaged))

    def _record(self, offset: int) -> tuple[ScannedRecord | Damage, int | None]:
        """The record whose member starts at `offset`, read to the member's end: from the
        member's bytes when it is a sound record (memberrecord.py), by warcio otherwise."""
        member = self.members.read_member(WHOLE_MEMBER)
        if member is None:
            self.members.restart(offset)
            return self._read_by_warcio(offset, self.members)
        found = read_member_record(member, self.check_digests)
        record = None if found is None else self._member_record(offset, found)
        if record is None:
            return self._read_by_warcio(offset, io.BytesIO(member))
        return record, self.members.end

    def _member_record(self, offset: int, found: MemberRecord) -> ScannedRecord | None:
        """The record read from its member's bytes; None when its WARC-Date does not parse
        (warcio's reading of it says why)."""
        fields = dict(found.fields[::-1])  # first value of a name wins
        try:
            date = _date(fields.get("WARC-Date"))
        except HEADER_ERRORS:
            return None
        http = found.http if found.record_type in ("response", "revisit") else None
        status = None if http is None else _status(found.record_type, _statusline(http.first_line))
        length = self.members.end - offset
        location = _location(self.name, offset, length, found.record_type, status, fields, date)
        block = bytes(found.payload) if self.keep_blocks else b""
        return ScannedRecord(
            found.record_type, fields, status or None, [] if http is None else http.fields,
            block, location,
        )  # fmt: skip

    def _read_by_warcio(
        self, offset: int, member: BinaryIO | MemberReader
    ) -> tuple[ScannedRecord | Damage, int | None]:
        """The record whose member starts at `offset`, read by warcio from `member`, the
        member's bytes from its start, to their end."""
        stream = BufferedReader(member)
        try:
            record = self.loader.parse_record_stream(
                stream, known_format="warc", check_digests=self.check_digests
            )
            declared = _content_length(record.rec_headers.get_header("Content-Length"))
            fields = dict(record.rec_headers.headers[::-1])  # first value of a name wins
            date = _date(fields.get("WARC-Date"))
        except HEADER_ERRORS as error:
            _drain(stream)  # to the member's end, where the next one starts
            detail = f"bad WARC headers: the record at offset {offset} does not parse ({error})"
            return Damage("bad-headers", offset, self.members.end, _one_line(detail)), (
                self.members.end
            )
        block, held = self._content(record.raw_stream, stream, declared)
        if held != declared:
            return self._length_mismatch(offset, fields, declared, held), self.members.end
        statusline = None if record.http_headers is None else record.http_headers.statusline
        status = _status(record.rec_type, statusline)
        length = self.members.end - offset
        location = _location(self.name, offset, length, record.rec_type, status, fields, date)
        problems = tuple(record.digest_checker.problems)
        return ScannedRecord(
            record.rec_type, fields, status or None, _http_headers(record), block,
            location, problems,
        ), self.members.end  # fmt: skip

    def _content(
        self, block_stream: Any, stream: BufferedReader, declared: int
    ) -> tuple[bytes, int]:
        """(the block if kept, how many bytes of content the member holds), read to its end."""
        block, tail, missing = self._block(block_stream)
        rest, rest_size, rest_tail = _drain(stream)
        if not missing and rest == RECORD_END:
            return block, declared
        closed = (tail + rest_tail)[-4:] == RECORD_END  # the closing CRLFs are not content
        return block, declared - missing + rest_size - (4 if closed else 0)

    def _length_mismatch(
        self, offset: int, fields: dict[str, str], declared: int, held: int
    ) -> Damage:
        detail = (
            f"record {fields.get('WARC-Record-ID', '')} declares Content-Length {declared} "
            f"but its gzip member holds {held} bytes"
        )
        return Damage("length-mismatch", offset, self.members.end, detail)

    def _block(self, stream: Any) -> tuple[bytes, bytes, int]:
        """(the block if kept, its last 4 bytes, Content-Length bytes the member lacked)."""
        if self.keep_blocks:
            block = stream.read()
            tail = block[-4:]
        else:
            block = tail = b""
            while chunk := stream.read(CHUNK):
                tail = (tail + chunk)[-4:]
        missing = stream.limit if isinstance(stream, LimitReader) else 0
        return block, tail, missing

    def _truncated(self, offset: int) -> Damage:
        who = _who(member_head(self.file, offset))
        detail = (
            f"truncated: the file ends inside the gzip member of {who} at offset {offset}, "
            f"{self.size - offset} bytes into it (the last member cut short)"
        )
        return Damage("truncated", offset, None, detail)

    def _garbage(self, offset: int) -> tuple[Damage, int | None]:
        if not self.resync:
            return Damage("garbage", offset, None, f"no WARC record at offset {offset}"), None
        resumed = next_record_start(self.file, offset + 1)
        if resumed is None and not self.found_record and offset == 0:
            first = self._first_bytes()
            detail = f"not a WARC file: none of its {self.size} bytes is a WARC record ({first})"
            return Damage("not-warc", 0, None, detail), None
        end = self.size if resumed is None else resumed
        where = "to the end of the file" if resumed is None else f"resumed at {resumed}"
        detail = f"{end - offset} bytes that are no WARC record at offset {offset} ({where})"
        return Damage("garbage", offset, resumed, detail), resumed

    def _corrupt(self, offset: int, why: str) -> tuple[Damage, int | None]:
        who = _who(member_head(self.file, offset))
        detail = f"corrupt gzip member: {who} at offset {offset} cannot be decompressed ({why})"
        if not self.resync:
            return Damage("corrupt-member", offset, None, detail), None
        resumed = next_record_start(self.file, offset + 1)
        detail += "; no WARC record after it" if resumed is None else f"; resumed at {resumed}"
        return Damage("corrupt-member", offset, resumed, detail), resumed

    def _starts_gzip(self, offset: int) -> bool:
        self.file.seek(offset)
        return self.file.read(len(GZIP_MAGIC)) == GZIP_MAGIC

    def _first_bytes(self) -> str:
        self.file.seek(0)
        return f"it starts {self.file.read(16)!r}"


def _content_length(value: str | None) -> int:
    if value is None or not value.strip().isdigit():
        raise ValueError(f"Content-Length {value!r} is not a number of bytes")
    return int(value)


@functools.lru_cache(maxsize=16)  # a response, its request and metadata share their date
def _date(text: str | None) -> datetime:
    if not text:
        raise ValueError("a WARC record without WARC-Date")
    return iso_date_to_datetime(text, tz_aware=True)


def _drain(stream: BufferedReader) -> tuple[bytes, int, bytes]:
    """Read the member to its end: (its first bytes, up to 64; how many; its last 4)."""
    first = tail = stream.read(64)
    size = len(first)
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        tail = (tail + chunk)[-4:]
    return first, size, tail[-4:]


def _location(
    name: str,
    offset: int,
    length: int,
    record_type: str,
    status: int | None,
    fields: dict[str, str],
    date: datetime,
) -> RecordLocation:
    return RecordLocation(
        filename=name,
        offset=offset,
        length=length,
        record_id=fields.get("WARC-Record-ID", ""),
        payload_digest=fields.get("WARC-Payload-Digest", ""),
        fetched_at=date,
        status=status or 0,
        url=fields.get("WARC-Target-URI", ""),
        record_type=record_type,
        refers_to=fields.get("WARC-Refers-To"),
    )


def _status(record_type: str, statusline: str | None) -> int | None:
    """The HTTP status of a response or revisit, from its status line after the protocol."""
    if statusline is None or record_type not in ("response", "revisit"):
        return None
    code = statusline.split(" ", 1)[0]
    return int(code) if code and code.isdigit() else None


def _statusline(first_line: str) -> str:
    """An HTTP head's status line after its protocol, as warcio keeps it."""
    parts = first_line.split(" ", 1)
    return parts[1].strip() if len(parts) > 1 else ""


def _http_headers(record: Any) -> list[tuple[str, str]]:
    if record.http_headers is None or record.rec_type not in ("response", "revisit"):
        return []
    return list(record.http_headers.headers)


_FIELD = re.compile(rb"^(WARC-Record-ID|WARC-Target-URI):[ \t]*(\S+)", re.I | re.M)


def _who(head: bytes) -> str:
    """'record <id> (<url>)' from what a damaged member's headers still say, or 'a record'."""
    found = {name.lower(): value.decode("latin-1") for name, value in _FIELD.findall(head)}
    record_id, url = found.get(b"warc-record-id"), found.get(b"warc-target-uri")
    if record_id is None:
        return "a record" + (f" of {url}" if url else "")
    return f"record {record_id}" + (f" of {url}" if url else "")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
