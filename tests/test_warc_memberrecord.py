"""Tests for pipelines.warc.memberrecord: the scanner reads a member's bytes as warcio reads them.

Each case is one record, well or oddly written: header names in any case, folded fields, LF
line ends, blanks around a Content-Length, non-ASCII values, digests right, wrong or in base16,
a record that holds more or less than it declares. The scanner gives the same items with its
member path as with it off (every member then read by warcio, as before it existed), and each
case says which verdict that is and whether the member path read the record itself.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.warc import scan
from pipelines.warc.memberrecord import read_member_record
from pipelines.warc.scan import Damage, ScannedRecord, read_record, scan_warc
from pipelines.warc.writer import gzip_member
from tests.test_warc_scan import BODY, EXCHANGES, MIDDLE, warcio_locations
from tests.test_warc_writer import GOLDEN_NAME, make_exchange, make_writer

PAGE = "<html><body>政协新闻</body></html>".encode()
HTTP_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
    b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"
)
RECORD_ID = "<urn:uuid:00000000-0000-4000-8000-000000000001>"


def sha1(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def warc_fields(
    block: bytes, payload: bytes, record_type: str = "response", uri: str = "http://a.test/1"
) -> list[tuple[str, str]]:
    return [
        ("WARC-Type", record_type),
        ("WARC-Record-ID", RECORD_ID),
        ("WARC-Date", "2024-05-01T08:00:00Z"),
        ("WARC-Target-URI", uri),
        ("Content-Type", f"application/http; msgtype={record_type}"),
        ("WARC-Block-Digest", sha1(block)),
        ("WARC-Payload-Digest", sha1(payload)),
        ("Content-Length", str(len(block))),
    ]


def record(
    fields: list[tuple[str, str]],
    block: bytes,
    *,
    first: bytes = b"WARC/1.0",
    line_end: bytes = b"\r\n",
    end: bytes = b"\r\n\r\n",
) -> bytes:
    """A record's bytes: its first line, `fields` as `name: value` lines, a blank line, the
    block and `end`."""
    lines = [first] + [f"{name}: {value}".encode() for name, value in fields]
    return line_end.join(lines) + line_end + line_end + block + end


def response(change: Callable[[list[tuple[str, str]]], object] = lambda fields: None) -> bytes:
    block = HTTP_HEAD + PAGE
    fields = warc_fields(block, PAGE)
    change(fields)
    return record(fields, block)


def replaced(name: str, value: str) -> Callable[[list[tuple[str, str]]], None]:
    def change(fields: list[tuple[str, str]]) -> None:
        fields[:] = [(n, value if n == name else v) for n, v in fields]

    return change


def lower_case_names(keep: tuple[str, ...]) -> Callable[[list[tuple[str, str]]], None]:
    def change(fields: list[tuple[str, str]]) -> None:
        fields[:] = [(n if n in keep else n.lower(), v) for n, v in fields]

    return change


def http_block(head: bytes, payload: bytes = PAGE, **changes: str) -> bytes:
    block = head + payload
    fields = warc_fields(block, payload)
    for name, value in changes.items():
        replaced(name.replace("_", "-"), value)(fields)
    return record(fields, block)


def lf_only() -> bytes:
    block = HTTP_HEAD.replace(b"\r\n", b"\n") + PAGE
    return record(warc_fields(block, PAGE), block, line_end=b"\n")


def kind_of(block: bytes, record_type: str, uri: str, payload: bytes | None = None) -> bytes:
    payload = block if payload is None else payload
    return record(warc_fields(block, payload, record_type, uri), block)


def request() -> bytes:
    head = b"GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\n"
    return kind_of(head, "request", "http://a.test/1", payload=b"")


def revisit() -> bytes:
    block = HTTP_HEAD
    fields = warc_fields(block, PAGE, "revisit")
    fields += [("WARC-Refers-To", "<urn:uuid:00000000-0000-4000-8000-000000000009>")]
    return record(fields, block)


def inserted(line: bytes, before: str) -> bytes:
    data = response()
    return data.replace(before.encode(), line + b"\r\n" + before.encode(), 1)


def base16_payload_digest() -> bytes:
    return response(replaced("WARC-Payload-Digest", "sha1:" + hashlib.sha1(PAGE).hexdigest()))


def block_digest_respelled() -> bytes:
    """The right digest with its first letter swapped for the digit of the same value in
    base 32 (A for 0, K for a, …): warcio compares the letters, so this one does not match."""
    block = HTTP_HEAD + PAGE
    right = sha1(block)
    letter = right[len("sha1:")]
    digits = "0123456789abcdefghijklmnopqrstuv"
    digit = digits["ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".index(letter)]
    return response(replaced("WARC-Block-Digest", right.replace(letter, digit, 1)))


def without(name: str) -> Callable[[list[tuple[str, str]]], None]:
    def change(fields: list[tuple[str, str]]) -> None:
        fields[:] = [(n, v) for n, v in fields if n != name]

    return change


# name -> (the record's bytes, the scanner's verdict, whether the member path reads it)
CASES: dict[str, tuple[Callable[[], bytes], str, bool]] = {
    "as written": (response, "record", True),
    "WARC/1.1": (lambda: response().replace(b"WARC/1.0", b"WARC/1.1", 1), "record", True),
    "names in lower case but WARC-Date and WARC-Record-ID": (
        lambda: response(lower_case_names(("WARC-Date", "WARC-Record-ID"))),
        "record",
        True,
    ),
    "every name in lower case (no WARC-Date then)": (
        lambda: response(lower_case_names(())),
        "bad-headers",
        True,
    ),
    "folded WARC and HTTP fields": (
        lambda: http_block(
            b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1;\r\n  Path=/\r\n\tHttpOnly\r\n\r\n"
        ).replace(b"Content-Length", b"X-Note: one\r\n two\r\nContent-Length", 1),
        "record",
        True,
    ),
    "a line without a colon": (
        lambda: inserted(b"no colon here", "Content-Length"),
        "record",
        True,
    ),
    "UTF-8 and Latin-1 values": (
        lambda: http_block(
            b"HTTP/1.1 200 OK\r\nX-Title: \xe6\x94\xbf\xe5\x8d\x8f\r\nX-Latin: caf\xe9\r\n\r\n"
        ),
        "record",
        True,
    ),
    "blanks around a Content-Length": (
        lambda: (
            response()
            .replace(b"Content-Length: ", b"Content-Length:\t  ")
            .replace(b"\r\n\r\nHTTP", b"  \r\n\r\nHTTP", 1)
        ),
        "record",
        True,
    ),
    "blanks before a colon": (
        lambda: http_block(b"HTTP/1.1 200 OK\r\nContent-Type \t: text/html\r\n\r\n").replace(
            b"Content-Type:", b"Content-Type \t:", 1
        ),
        "record",
        True,
    ),
    "LF line ends": (lf_only, "record", False),
    "a line blank but for spaces in the WARC head": (
        lambda: inserted(b" \t", "Content-Length"),
        "bad-headers",
        False,
    ),
    "a WARC-Date with no day": (
        lambda: response(replaced("WARC-Date", "2024-05")),
        "bad-headers",
        True,
    ),
    "a WARC-Date that is no date": (
        lambda: response(replaced("WARC-Date", "yesterday")),
        "bad-headers",
        True,
    ),
    "no Content-Length": (lambda: response(without("Content-Length")), "bad-headers", False),
    "a Content-Length that is no number": (
        lambda: response(replaced("Content-Length", "12x")),
        "bad-headers",
        False,
    ),
    "a Content-Length too long": (
        lambda: response(replaced("Content-Length", str(len(HTTP_HEAD + PAGE) + 5))),
        "length-mismatch",
        False,
    ),
    "bytes after the record": (lambda: response() + b"xx", "length-mismatch", False),
    "no closing CRLFs": (lambda: response()[:-4], "record", False),
    "four other bytes where the closing CRLFs go": (
        lambda: response()[:-4] + b"\r\n\r\r",
        "length-mismatch",
        False,
    ),
    "a block digest that does not match": (
        lambda: response(replaced("WARC-Block-Digest", sha1(b"other"))),
        "record",
        False,
    ),
    "a payload digest in base16": (base16_payload_digest, "record", False),
    "a block digest respelled in base-32 digits": (block_digest_respelled, "record", False),
    "a SHA-1 value named sha256": (
        lambda: response(replaced("WARC-Payload-Digest", sha1(PAGE).replace("sha1", "sha256"))),
        "record",
        False,
    ),
    "a digest of an unknown algorithm": (
        lambda: response(replaced("WARC-Payload-Digest", "xyz:ABCD")),
        "record",
        False,
    ),
    "a segment, whose payload digest warcio does not check": (
        lambda: response(replaced("WARC-Payload-Digest", sha1(b"other"))).replace(
            b"Content-Length", b"WARC-Segment-Number: 1\r\nContent-Length", 1
        ),
        "record",
        True,
    ),
    "a revisit": (revisit, "record", True),
    "a request": (request, "record", True),
    "a metadata record": (
        lambda: kind_of(b"via: http://a.test/\r\n", "metadata", "http://a.test/1"),
        "record",
        True,
    ),
    "a response of a dns: URI": (
        lambda: kind_of(b"a.test. 300 IN A 10.0.0.7\n", "response", "dns:a.test"),
        "record",
        True,
    ),
    "a target URI in angle brackets": (
        lambda: response(replaced("WARC-Target-URI", "<http://a.test/1>")),
        "record",
        False,
    ),
    "a target URI with a space": (
        lambda: response(replaced("WARC-Target-URI", "http://a.test/a b")),
        "record",
        False,
    ),
    "a WARC version warcio does not know": (
        lambda: response().replace(b"WARC/1.0", b"WARC/2.0", 1),
        "bad-headers",
        False,
    ),
    "an HTTP head with no blank line in the block": (
        lambda: http_block(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", b""),
        "record",
        False,
    ),
    "an empty block": (lambda: kind_of(b"", "metadata", "http://a.test/1"), "record", False),
    "no WARC-Type": (lambda: response(without("WARC-Type")), "record", False),
}


@pytest.fixture
def whole_members_off(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Turns the member path off: every member is then longer than what is read whole."""
    return lambda: monkeypatch.setattr(scan, "WHOLE_MEMBER", 0)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("check_digests", [True, False], ids=["digests", "no-digests"])
def test_a_record_reads_as_warcio_reads_it(
    tmp_path: Path, whole_members_off: Callable[[], None], case: str, check_digests: bool
) -> None:
    make, verdict, member_path = CASES[case]
    data = make()
    path = tmp_path / "one.warc.gz"
    path.write_bytes(gzip_member(data, 6) + gzip_member(response(), 6))

    read = list(scan_warc(path, check_digests=check_digests))
    whole_members_off()
    by_warcio = list(scan_warc(path, check_digests=check_digests))

    assert read == by_warcio
    item = read[0]
    assert (item.kind if isinstance(item, Damage) else "record") == verdict
    assert isinstance(read[1], ScannedRecord) and read[1].location.record_id == RECORD_ID
    if check_digests:
        assert (read_member_record(data, check_digests) is not None) == member_path


def test_digest_problems_are_warcio_s_words(tmp_path: Path) -> None:
    path = tmp_path / "one.warc.gz"
    path.write_bytes(gzip_member(CASES["a block digest that does not match"][0](), 6))
    (item,) = scan_warc(path, check_digests=True)
    assert isinstance(item, ScannedRecord)
    assert item.digest_problems == (f"block digest failed: {sha1(b'other')}",)


def test_what_the_member_path_reads(tmp_path: Path) -> None:
    path = tmp_path / "one.warc.gz"
    path.write_bytes(gzip_member(CASES["UTF-8 and Latin-1 values"][0](), 6))
    (item,) = scan_warc(path, check_digests=True)
    assert isinstance(item, ScannedRecord)
    assert (item.record_type, item.http_status, item.block) == ("response", 200, PAGE)
    assert item.http_headers == [("X-Title", "政协"), ("X-Latin", "café")]
    assert item.fields["WARC-Target-URI"] == item.location.url == "http://a.test/1"


def test_a_damaged_file_scans_alike_with_the_member_path_off(
    tmp_path: Path, whole_members_off: Callable[[], None]
) -> None:
    with make_writer(tmp_path) as writer:
        for number in range(EXCHANGES // 5):
            writer.write_exchange(make_exchange(f"http://a.test/{number}", body=BODY))
    path = tmp_path / GOLDEN_NAME
    data = bytearray(path.read_bytes())
    locations = warcio_locations(bytes(data))
    flipped, lying = locations[1 + MIDDLE // 5], locations[5]
    data[flipped.offset + flipped.length // 2] ^= 0x10
    member = zlib.decompress(data[lying.offset : lying.offset + lying.length], 16 + zlib.MAX_WBITS)
    longer = gzip_member(member.replace(b"Content-Length: ", b"Content-Length: 1", 1), 6)
    data[lying.offset : lying.offset + lying.length] = longer
    del data[-10:]
    path.write_bytes(bytes(data))

    read = list(scan_warc(path, check_digests=True))
    offsets = [item.location.offset if isinstance(item, ScannedRecord) else item.offset
               for item in read]  # fmt: skip
    one_by_one = [read_record(path, offset) for offset in offsets]
    whole_members_off()

    assert read == list(scan_warc(path, check_digests=True))
    assert one_by_one == [read_record(path, offset) for offset in offsets]
    kinds = [item.kind for item in read if isinstance(item, Damage)]
    assert kinds == ["length-mismatch", "corrupt-member", "truncated"]
