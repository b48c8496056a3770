"""A WARC record read from its whole gzip member's bytes, as warcio's loader would read it.

The scanner's fast path (pipelines/warc/scan.py). warcio parses a record through four layers
of readers, a line at a time; here the member's decompressed bytes are in memory and each head
is split in one call. Only a record this module is sure warcio reads the same way, whole and
with matching digests, is read here: anything else (no CRLF head, a blank-looking line, a
Content-Length missing or not plain digits, a member holding more or less than it declares, a
digest that does not match or is not written as warcio writes it, …) gives None, and the
scanner reads the member with warcio, which says what is wrong in its own words.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

WARC_VERSIONS = ("WARC/1.1", "WARC/1.0", "WARC/0.17", "WARC/0.18")  # as warcio accepts them
HTTP_RECORDS = ("response", "request", "revisit")  # the record types warcio gives an HTTP head
HTTP_SCHEMES = ("http:", "https:")
HEAD_END = b"\r\n\r\n"
RECORD_END = b"\r\n\r\n"  # what closes every WARC record, after its Content-Length bytes
DIGEST = "sha1"  # the digests checked here, the writer's (others are warcio's to check)
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# A base32 text made the digits of a number in base 32, for int(): b32encode is slow Python.
BASE32_DIGITS = str.maketrans(BASE32, "0123456789abcdefghijklmnopqrstuv")


class Head(NamedTuple):
    """A WARC or HTTP head: its first line, its fields in order, and where it ends."""

    first_line: str  # without its line end or trailing blanks
    fields: list[tuple[str, str]]  # names and values as warcio gives them
    end: int  # offset just past the blank line that closes it


class MemberRecord(NamedTuple):
    """What warcio's loader makes of a whole, sound record, read from its member's bytes."""

    record_type: str
    fields: list[tuple[str, str]]  # the WARC header fields, in order
    http: Head | None  # the HTTP head of a response, request or revisit of an http(s) URI
    payload: memoryview  # the block after any HTTP head


def parse_head(data: bytes, start: int, end: int) -> Head | None:
    """The head at data[start:end], closed by a blank line, as warcio's StatusAndHeadersParser
    reads it; None for a head it might read otherwise (not CRLF lines, a line blank but for
    spaces, no blank line before `end`)."""
    stop = data.find(HEAD_END, start, end)
    if stop < 0:
        return None
    raw = data[start:stop]
    if raw.count(b"\n") != raw.count(b"\r\n"):
        return None  # a line ending in a bare LF: warcio's lines end at any LF
    text = raw.decode("ascii").split("\r\n") if raw.isascii() else _decoded(raw)
    lines = [line.rstrip() for line in text]  # warcio strips each line's end
    if not all(lines):
        return None  # warcio's head would end at this line, blank once stripped
    if b"\n " in raw or b"\n\t" in raw:
        return Head(lines[0], _folded_fields(lines), stop + len(HEAD_END))
    fields = [
        (name.rstrip(" \t"), value.lstrip())
        for name, colon, value in (line.partition(":") for line in lines[1:])
        if colon  # warcio drops a line without a colon
    ]
    return Head(lines[0], fields, stop + len(HEAD_END))


def _folded_fields(lines: list[str]) -> list[tuple[str, str]]:
    """The fields of a head's lines after its first, where some are folded onto the last."""
    fields = []
    count, index = len(lines), 1
    while index < count:
        name, colon, value = lines[index].partition(":")
        index += 1
        value = value.lstrip()
        while index < count and lines[index].startswith((" ", "\t")):  # folded onto the last
            value += lines[index]
            index += 1
        if colon:  # warcio drops a line without a colon, and what is folded onto it
            fields.append((name.rstrip(" \t"), value))
    return fields


def _decoded(raw: bytes) -> list[str]:
    """The head's lines, each decoded as warcio does: UTF-8, or Latin-1 when it is not."""
    lines = []
    for line in raw.split(b"\r\n"):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(line.decode("latin-1"))
    return lines


def read_member_record(member: bytes, check_digests: bool) -> MemberRecord | None:
    """The record that is the whole of `member` (a gzip member's decompressed bytes), when it
    is sound: its Content-Length bytes then the closing CRLFs, nothing more, digests matching
    (when checked). None when warcio must say what it is."""
    head = parse_head(member, 0, len(member))
    if head is None or not head.first_line.upper().startswith(WARC_VERSIONS):
        return None
    first = _first_values(head.fields)
    record_type, uri = first.get("warc-type"), first.get("warc-target-uri")
    length = first.get("content-length", "")
    if record_type is None or not (length.isascii() and length.isdigit()) or int(length) == 0:
        return None
    if uri is not None and (" " in uri or (uri.startswith("<") and uri.endswith(">"))):
        return None  # warcio rewrites such a URI in the record's fields
    end = head.end + int(length)
    if len(member) != end + len(RECORD_END) or not member.endswith(RECORD_END):
        return None
    http = None
    if record_type in HTTP_RECORDS:
        if uri is None:
            return None  # warcio fails on it (AttributeError): it is warcio's to say
        if uri.startswith(HTTP_SCHEMES):
            http = parse_head(member, head.end, end)
            if http is None:
                return None
    block = memoryview(member)[head.end : end]
    payload = block if http is None else block[http.end - head.end :]
    if check_digests and not _digests_match(record_type, first, block, payload):
        return None
    return MemberRecord(record_type, head.fields, http, payload)


def _first_values(fields: list[tuple[str, str]]) -> dict[str, str]:
    """Each field's first value by its name in lower case: warcio's get_header."""
    return {name.lower(): value for name, value in reversed(fields)}


def _digests_match(
    record_type: str, first: dict[str, str], block: memoryview, payload: memoryview
) -> bool:
    """Whether the block and payload digests warcio checks match (a revisit's are not)."""
    if record_type == "revisit":
        return True
    block_digest = first.get("warc-block-digest")
    payload_digest = None if "warc-segment-number" in first else first.get("warc-payload-digest")
    return (not block_digest or _matches(block_digest, block)) and (
        not payload_digest or _matches(payload_digest, payload)
    )


def _matches(digest: str, data: memoryview) -> bool:
    """Whether `digest` is `sha1:` and the base32 text of the SHA-1 of `data` (its 160 bits,
    32 letters of 5 bits, as warcio writes a digest and compares it, letter for letter)."""
    algorithm, _, value = digest.partition(":")
    if algorithm != DIGEST or len(value) != 32 or value.strip(BASE32):
        return False
    return int(value.translate(BASE32_DIGITS), 32) == int.from_bytes(hashlib.sha1(data).digest())
