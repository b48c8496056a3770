"""Tests for pipelines.warc.salvage: `.open` files a killed crawl left, closed or kept aside."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.warc.location import RecordLocation
from pipelines.warc.naming import WarcFileName, parse_warc_filename, warc_filename
from pipelines.warc.salvage import SalvageReport, salvage_open_files
from pipelines.warc.writer import gzip_member
from tests.test_warc_writer import GOLDEN_NAME, WARCIO, make_exchange, make_writer, records_of

HOST = "crawler.test"  # the host make_writer names its files after
# Incompressible, so the middle of a response's gzip member is the middle of its payload.
BODY = random.Random(0).randbytes(20_000)


def open_file(directory: Path, **writer_options) -> tuple[Path, list[RecordLocation]]:
    """Two exchanges written and flushed under the `.open` name, as a killed crawl leaves them."""
    with make_writer(directory, **writer_options) as writer:
        locations = [
            writer.write_exchange(make_exchange(f"http://a.test/{n}", body=BODY)) for n in range(2)
        ]
    closed = directory / locations[0].filename
    return closed.rename(closed.with_name(closed.name + ".open")), locations


def salvage(directory: Path, **options) -> list[SalvageReport]:
    """Salvage as on the crawl's own host, every writer gone unless the test says otherwise."""
    defaults: dict = {"is_alive": lambda pid: False, "host": HOST}
    reports = salvage_open_files(directory, **(defaults | options))
    assert all("\n" not in report.message for report in reports)
    return reports


def warcio_check(path: Path) -> str:
    result = subprocess.run(
        [WARCIO, "check", "-v", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fail" not in result.stdout
    return result.stdout


def member_data(data: bytes, location: RecordLocation) -> bytes:
    return zlib.decompress(data[location.offset : location.offset + location.length], 31)


def test_clean_file_is_renamed_unchanged(tmp_path: Path) -> None:
    path, _ = open_file(tmp_path)
    data = path.read_bytes()

    (report,) = salvage(tmp_path)

    assert report == SalvageReport(
        original=path,
        final=tmp_path / GOLDEN_NAME,
        records_kept=5,
        bytes_cut=0,
        status="closed",
        message=f"{path.name}: closed as {GOLDEN_NAME}, 5 complete records, nothing cut",
    )
    assert [p.name for p in tmp_path.iterdir()] == [GOLDEN_NAME]
    assert (tmp_path / GOLDEN_NAME).read_bytes() == data


def cut_in_gzip_member(data: bytes, last: RecordLocation) -> bytes:
    return data[: last.offset + last.length // 2]


def cut_inside_whole_member(data: bytes, last: RecordLocation) -> bytes:
    """Content-Length runs past the record's end, though its gzip member is whole."""
    record = member_data(data, last)
    return data[: last.offset] + gzip_member(record[: len(record) // 2], 6)


def payload_altered(data: bytes, last: RecordLocation) -> bytes:
    record = bytearray(member_data(data, last))
    record[-100] ^= 0xFF  # inside the payload, which ends 4 bytes (two CRLFs) before the end
    return data[: last.offset] + gzip_member(bytes(record), 6)


def bytes_after_record(data: bytes, last: RecordLocation) -> bytes:
    """Bytes where the two CRLFs closing the record should be, inside a whole gzip member."""
    record = member_data(data, last)[:-4] + b"left over\r\n\r\n"
    return data[: last.offset] + gzip_member(record, 6)


def content_length_garbled(data: bytes, last: RecordLocation) -> bytes:
    record = member_data(data, last).replace(b"\r\nContent-Length: ", b"\r\nContent-Length: x", 1)
    return data[: last.offset] + gzip_member(record, 6)


@pytest.mark.parametrize(
    "damage",
    [
        cut_in_gzip_member,
        cut_inside_whole_member,
        payload_altered,
        bytes_after_record,
        content_length_garbled,
    ],
)
def test_incomplete_last_response_is_cut(
    tmp_path: Path, damage: Callable[[bytes, RecordLocation], bytes]
) -> None:
    path, (_, last) = open_file(tmp_path)
    data = path.read_bytes()
    damaged = damage(data, last)
    path.write_bytes(damaged)

    (report,) = salvage(tmp_path)

    final = tmp_path / GOLDEN_NAME
    assert (report.status, report.final, report.records_kept) == ("truncated", final, 3)
    assert report.bytes_cut == len(damaged) - last.offset
    assert f"cut at offset {last.offset}" in report.message
    assert final.read_bytes() == data[: last.offset]
    records = records_of(final)  # every digest checked
    assert [(r.rec_type, r.rec_headers["WARC-Target-URI"]) for r in records[1:]] == [
        ("response", "http://a.test/0"),
        ("request", "http://a.test/0"),
    ]
    assert records[1].raw == BODY
    assert warcio_check(final).count("digest pass") == 3


def test_response_is_kept_when_its_request_was_cut(tmp_path: Path) -> None:
    # The writer puts a response before its request: a cut request leaves a whole capture.
    path, (_, last) = open_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: last.offset + last.length + 30])

    (report,) = salvage(tmp_path)

    assert (report.status, report.records_kept, report.bytes_cut) == ("truncated", 4, 30)
    *_, response = records_of(report.final)
    assert (response.rec_type, response.raw) == ("response", BODY)
    warcio_check(report.final)


def test_damage_in_the_middle_keeps_the_records_after_it(tmp_path: Path) -> None:
    # A bad disk block in the first response: the records after it are complete, so only the
    # incomplete tail is cut and the damaged bytes stay for verify to name.
    path, (first, last) = open_file(tmp_path)
    data = bytearray(path.read_bytes())
    data[first.offset + first.length // 2] ^= 0x01
    path.write_bytes(bytes(data[: last.offset + last.length // 2]))

    (report,) = salvage(tmp_path)

    assert (report.status, report.records_kept) == ("truncated", 2)  # warcinfo, first request
    assert report.final.read_bytes() == bytes(data[: last.offset])
    assert report.message.endswith(
        f"cut at offset {last.offset}; damaged bytes kept at offset(s) {first.offset} "
        "(`cppcc-archive verify` names them)"
    )


@pytest.mark.parametrize(
    "tail",
    [b"\x1f\x8b\x08\x00\x00", bytes(4096)],
    ids=["cut-in-gzip-header", "zeros-after-power-loss"],
)
def test_tail_that_is_no_whole_gzip_member_is_cut(tmp_path: Path, tail: bytes) -> None:
    path, _ = open_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data + tail)

    (report,) = salvage(tmp_path)

    assert (report.status, report.records_kept, report.bytes_cut) == ("truncated", 5, len(tail))
    assert report.final.read_bytes() == data
    assert warcio_check(report.final).count("digest pass") == 5


@pytest.mark.parametrize("size", [0, 100], ids=["empty", "cut-warcinfo"])
def test_file_without_a_complete_record_is_kept_as_damaged(tmp_path: Path, size: int) -> None:
    path, _ = open_file(tmp_path)
    damaged = path.read_bytes()[:size]
    path.write_bytes(damaged)

    (report,) = salvage(tmp_path)

    final = tmp_path / (GOLDEN_NAME + ".damaged")
    assert (report.status, report.final, report.records_kept, report.bytes_cut) == (
        "damaged",
        final,
        0,
        0,
    )
    assert f"no complete WARC record in its {size} bytes" in report.message
    assert [p.name for p in tmp_path.iterdir()] == [final.name]
    assert final.read_bytes() == damaged  # nothing deleted


def test_only_files_whose_writer_is_gone_are_closed(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()  # reaped: its pid names no process now
    options = {"hostname": socket.gethostname(), "clock": lambda: datetime.now(UTC)}
    alive, _ = open_file(tmp_path, pid=os.getpid(), **options)
    gone, _ = open_file(tmp_path, pid=child.pid, **options)
    alive_bytes = alive.read_bytes()

    reports = salvage_open_files(tmp_path)  # the real host name and process table

    statuses = {report.original: report.status for report in reports}
    assert statuses == {alive: "skipped-alive", gone: "closed"}
    assert alive.read_bytes() == alive_bytes
    assert not gone.exists()
    assert gone.with_name(gone.name.removesuffix(".open")).exists()


def test_file_of_another_host_is_left_unless_asked(tmp_path: Path) -> None:
    path, _ = open_file(tmp_path)
    data = path.read_bytes()

    (skipped,) = salvage(tmp_path, host="other.test")
    assert (skipped.status, skipped.final) == ("skipped-other-host", path)
    assert "written on host crawler.test" in skipped.message
    assert path.read_bytes() == data

    (closed,) = salvage(tmp_path, host="other.test", include_other_hosts=True)
    assert (closed.status, closed.final) == ("closed", tmp_path / GOLDEN_NAME)


def test_taken_name_is_a_conflict_and_nothing_changes(tmp_path: Path) -> None:
    path, (_, last) = open_file(tmp_path)
    damaged = path.read_bytes()[: last.offset + 10]
    path.write_bytes(damaged)
    (tmp_path / GOLDEN_NAME).write_bytes(b"an older file")

    (report,) = salvage(tmp_path)

    assert (report.status, report.final, report.bytes_cut) == ("conflict", path, 0)
    assert f"{GOLDEN_NAME} exists already" in report.message
    assert path.read_bytes() == damaged
    assert (tmp_path / GOLDEN_NAME).read_bytes() == b"an older file"


def test_other_files_are_ignored_and_unknown_names_left(tmp_path: Path) -> None:
    assert salvage(tmp_path / "missing") == []
    (tmp_path / "notes.warc.gz.open").write_bytes(b"")
    (tmp_path / "CPPCC-done.warc.gz").write_bytes(b"")
    (tmp_path / "folder.warc.gz.open").mkdir()

    (report,) = salvage(tmp_path)

    assert (report.status, report.final.name) == ("skipped-unknown-writer", "notes.warc.gz.open")
    assert len(list(tmp_path.iterdir())) == 3


def test_file_name_parses_back() -> None:
    opened_at = datetime(2024, 5, 1, 8, 0, 1, 987000, tzinfo=UTC)
    name = warc_filename("CPPCC-xs", opened_at, 12, 4242, "crawl-01.example.org")

    assert parse_warc_filename(name) == WarcFileName(
        "CPPCC-xs", opened_at, 12, 4242, "crawl-01.example.org"
    )
    assert parse_warc_filename(name + ".open") is None
    assert parse_warc_filename("CPPCC-20241301080001987-00000-1~h~0.warc.gz") is None
