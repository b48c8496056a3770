"""Tests for pipelines.warc.scan: every intact record of a damaged file, and each damage named.

Each test damages a file the project's writer made: a member overwritten with garbage, bytes
inserted, a member cut short, a byte flipped, a Content-Length that lies either way, WARC
headers that do not parse, an empty file, a text file. Every record the scanner gives back is
read again at its offset by warcio, digests checked.
"""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.warc.location import RecordLocation
from pipelines.warc.reader import RecordUnreadable, read_stored_response
from pipelines.warc.scan import Damage, ScannedRecord, read_record, scan_warc
from pipelines.warc.writer import gzip_member
from tests.test_warc_writer import GOLDEN_NAME, make_exchange, make_writer

EXCHANGES = 150  # 301 records: a warcinfo, then a response and a request each
MIDDLE = 60  # the exchange damaged in the middle of the file
# Incompressible, so a byte flipped in a response's gzip member lands in its payload.
BODY = random.Random(0).randbytes(3_000)


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, list[RecordLocation]]:
    """A clean file and where each record is (warcinfo first), as warcio reads it."""
    with make_writer(tmp_path) as writer:
        for number in range(EXCHANGES):
            writer.write_exchange(make_exchange(f"http://a.test/{number}", body=BODY))
    path = tmp_path / GOLDEN_NAME
    return path, warcio_locations(path.read_bytes())


def warcio_locations(data: bytes) -> list[RecordLocation]:
    """(offset, length, id) of every record, as warcio's own iterator finds them."""
    found = []
    records = ArchiveIterator(io.BytesIO(data), check_digests="raise")
    for record in records:
        record.raw_stream.read()
        found.append(
            RecordLocation(
                filename="",
                offset=records.get_record_offset(),
                length=records.get_record_length(),
                record_id=record.rec_headers.get_header("WARC-Record-ID"),
                payload_digest="",
                fetched_at=None,  # type: ignore[arg-type]  # not compared
                status=0,
                url=record.rec_headers.get_header("WARC-Target-URI") or "",
            )
        )
    return found


def scanned(path: Path) -> tuple[list[ScannedRecord], list[Damage]]:
    records, damage = [], []
    for item in scan_warc(path, check_digests=True):
        (damage if isinstance(item, Damage) else records).append(item)
    return records, damage


def assert_read_back_by_warcio(path: Path, records: list[ScannedRecord]) -> None:
    """Each record is at its offset, whole and matching its digests, for warcio too."""
    with path.open("rb") as stream:
        for record in records:
            location = record.location
            stream.seek(location.offset)
            member = io.BytesIO(stream.read(location.length))
            (again,) = ArchiveIterator(member, check_digests="raise")
            assert again.rec_headers.get_header("WARC-Record-ID") == location.record_id
            assert record.digest_problems == ()


def member(data: bytes, location: RecordLocation) -> bytes:
    return data[location.offset : location.offset + location.length]


def ids(records: list[ScannedRecord]) -> list[str]:
    return [record.location.record_id for record in records]


def test_a_clean_file_reads_as_warcio_reads_it(written: tuple[Path, list[RecordLocation]]) -> None:
    path, locations = written
    records, damage = scanned(path)
    assert damage == []
    assert [(r.location.offset, r.location.length) for r in records] == [
        (loc.offset, loc.length) for loc in locations
    ]
    assert ids(records) == [loc.record_id for loc in locations]
    assert records[1].block == BODY and records[1].http_status == 200
    assert_read_back_by_warcio(path, records)


def test_a_garbage_member_in_the_middle_costs_only_itself(
    written: tuple[Path, list[RecordLocation]],
) -> None:
    path, locations = written
    bad = locations[1 + 2 * MIDDLE]  # a response
    data = path.read_bytes()
    garbage = random.Random(1).randbytes(bad.length).replace(b"\x1f\x8b", b"xx")
    path.write_bytes(data[: bad.offset] + garbage + data[bad.offset + bad.length :])

    records, damage = scanned(path)

    after = bad.offset + bad.length
    assert damage == [
        Damage(
            "garbage",
            bad.offset,
            after,
            f"{bad.length} bytes that are no WARC record at offset {bad.offset} "
            f"(resumed at {after})",
        )
    ]
    assert ids(records) == [loc.record_id for loc in locations if loc != bad]
    # Every record after it: its own request, then the remaining exchanges.
    assert len([r for r in records if r.location.offset > bad.offset]) == 1 + 2 * (
        EXCHANGES - MIDDLE - 1
    )
    assert_read_back_by_warcio(path, records)


def test_bytes_inserted_between_members_are_skipped(
    written: tuple[Path, list[RecordLocation]],
) -> None:
    path, locations = written
    at = locations[10].offset
    data = path.read_bytes()
    path.write_bytes(data[:at] + b"\x00" * 700 + b"\x1f\x8b\x08 not gzip" + data[at:])

    records, damage = scanned(path)

    assert [(d.kind, d.offset, d.end) for d in damage] == [("garbage", at, at + 712)]
    assert (
        damage[0].detail
        == f"712 bytes that are no WARC record at offset {at} (resumed at {at + 712})"
    )
    assert ids(records) == [loc.record_id for loc in locations]
    assert_read_back_by_warcio(path, records)


def test_zeros_at_the_end_are_garbage_to_the_end(
    written: tuple[Path, list[RecordLocation]],
) -> None:
    path, locations = written
    size = path.stat().st_size
    path.write_bytes(path.read_bytes() + bytes(4096))

    records, damage = scanned(path)

    assert damage == [
        Damage(
            "garbage", size, None, f"4096 bytes that are no WARC record at offset {size} "
            "(to the end of the file)",
        )
    ]  # fmt: skip
    assert len(records) == len(locations)


def test_a_member_cut_at_the_end_is_truncated(written: tuple[Path, list[RecordLocation]]) -> None:
    path, locations = written
    last = locations[-2]  # the last response; its request after it is cut off too
    path.write_bytes(path.read_bytes()[: last.offset + last.length // 2])

    records, damage = scanned(path)

    assert damage == [
        Damage(
            "truncated",
            last.offset,
            None,
            f"truncated: the file ends inside the gzip member of record {last.record_id} of "
            f"{last.url} at offset {last.offset}, {last.length // 2} bytes into it "
            "(the last member cut short)",
        )
    ]
    assert ids(records) == [loc.record_id for loc in locations[:-2]]


def test_a_flipped_byte_names_its_record_and_the_rest_is_read(
    written: tuple[Path, list[RecordLocation]],
) -> None:
    path, locations = written
    bad = locations[1 + 2 * MIDDLE]
    data = bytearray(path.read_bytes())
    data[bad.offset + bad.length // 2] ^= 0x10
    path.write_bytes(bytes(data))

    records, damage = scanned(path)

    after = bad.offset + bad.length
    ((kind, offset, end, detail),) = [(d.kind, d.offset, d.end, d.detail) for d in damage]
    assert (kind, offset, end) == ("corrupt-member", bad.offset, after)
    assert detail.startswith(
        f"corrupt gzip member: record {bad.record_id} of {bad.url} at offset {bad.offset} "
        "cannot be decompressed ("
    )
    assert detail.endswith(f"); resumed at {after}")
    assert ids(records) == [loc.record_id for loc in locations if loc != bad]
    assert_read_back_by_warcio(path, records)


@pytest.mark.parametrize(
    "change", [+500, -500, +2, -3], ids=["longer", "shorter", "2-longer", "3-shorter"]
)
def test_a_lying_content_length_is_named_with_what_the_member_holds(
    written: tuple[Path, list[RecordLocation]], change: int
) -> None:
    path, locations = written
    bad = locations[1 + 2 * MIDDLE]
    data = path.read_bytes()
    record = gzip_decompress(member(data, bad))
    head, block = record.split(b"\r\n\r\n", 1)
    held = len(block) - 4  # the block, less the two CRLFs that close the record
    declared = held + change
    head = head.replace(f"Content-Length: {held}".encode(), f"Content-Length: {declared}".encode())
    replaced = gzip_member(head + b"\r\n\r\n" + block, 6)
    path.write_bytes(data[: bad.offset] + replaced + data[bad.offset + bad.length :])

    records, damage = scanned(path)

    end = bad.offset + len(replaced)
    assert damage == [
        Damage(
            "length-mismatch",
            bad.offset,
            end,
            f"record {bad.record_id} declares Content-Length {declared} but its gzip member "
            f"holds {held} bytes",
        )
    ]
    assert len(records) == len(locations) - 1
    assert_read_back_by_warcio(path, records)


def test_warc_headers_that_do_not_parse(written: tuple[Path, list[RecordLocation]]) -> None:
    path, locations = written
    bad = locations[5]
    data = path.read_bytes()
    record = gzip_decompress(member(data, bad)).replace(b"Content-Length: ", b"Content-Length: x")
    replaced = gzip_member(record, 6)
    path.write_bytes(data[: bad.offset] + replaced + data[bad.offset + bad.length :])

    records, damage = scanned(path)

    ((kind, offset, end, detail),) = [(d.kind, d.offset, d.end, d.detail) for d in damage]
    assert (kind, offset, end) == ("bad-headers", bad.offset, bad.offset + len(replaced))
    assert detail.startswith(f"bad WARC headers: the record at offset {bad.offset} does not parse")
    assert "Content-Length 'x" in detail
    assert len(records) == len(locations) - 1


def test_a_response_without_a_target_uri_is_bad_headers(
    written: tuple[Path, list[RecordLocation]],
) -> None:
    # warcio itself fails on it with an AttributeError: the scan names it and goes on.
    path, locations = written
    bad = locations[5]
    data = path.read_bytes()
    record = re.sub(rb"WARC-Target-URI: [^\r]*\r\n", b"", gzip_decompress(member(data, bad)))
    replaced = gzip_member(record, 6)
    path.write_bytes(data[: bad.offset] + replaced + data[bad.offset + bad.length :])

    records, damage = scanned(path)

    ((kind, offset, end),) = [(d.kind, d.offset, d.end) for d in damage]
    assert (kind, offset, end) == ("bad-headers", bad.offset, bad.offset + len(replaced))
    assert len(records) == len(locations) - 1


def test_an_empty_file_and_a_text_file_are_no_warc_files(tmp_path: Path) -> None:
    empty, text = tmp_path / "empty.warc.gz", tmp_path / "notes.warc.gz"
    empty.write_bytes(b"")
    text.write_text("这不是 WARC 文件\nonly notes\n", encoding="utf-8")

    assert list(scan_warc(empty)) == [
        Damage("empty-file", 0, None, "empty file: 0 bytes, no WARC record")
    ]
    ((kind, offset, end, detail),) = [(d.kind, d.offset, d.end, d.detail) for d in scan_warc(text)]
    assert (kind, offset, end) == ("not-warc", 0, None)
    assert detail.startswith(f"not a WARC file: none of its {text.stat().st_size} bytes")


def test_one_record_read_at_a_damaged_offset_says_what_is_there(
    written: tuple[Path, list[RecordLocation]],
) -> None:
    path, locations = written
    bad, good = locations[1 + 2 * MIDDLE], locations[3 + 2 * MIDDLE]
    data = bytearray(path.read_bytes())
    data[bad.offset + bad.length // 2] ^= 0x10
    path.write_bytes(bytes(data))

    damage = read_record(path, bad.offset)
    assert isinstance(damage, Damage) and damage.kind == "corrupt-member"
    assert damage.detail.endswith(")")  # no search after a single record
    found = read_record(path, good.offset)
    assert isinstance(found, ScannedRecord) and found.location.record_id == good.record_id
    with pytest.raises(RecordUnreadable, match=f"record {bad.record_id} of http://a.test/"):
        read_stored_response(path.parent, _location(bad))
    assert read_stored_response(path.parent, _location(good)).body == BODY


def gzip_decompress(data: bytes) -> bytes:
    import zlib

    return zlib.decompress(data, 16 + zlib.MAX_WBITS)


def _location(location: RecordLocation) -> RecordLocation:
    return RecordLocation(
        filename=GOLDEN_NAME,
        offset=location.offset,
        length=location.length,
        record_id=location.record_id,
        payload_digest="",
        fetched_at=None,  # type: ignore[arg-type]  # the reader does not look at it
        status=200,
        url=location.url,
    )
