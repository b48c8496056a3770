"""`cppcc-archive verify [--repair]`: a crawled archive is clean; each kind of damage is found,
and repaired where it can be.

The replica is crawled once (both channels, then `rmzxb/yw` again two months on, which writes
revisits); each test damages a copy of that home.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.archive.verify import (
    Problem,
    check_open_files,
    scan_file,
    verify_archive,
)
from pipelines.catalogue.engine import default_sqlite_url, make_engine, make_session_factory
from pipelines.catalogue.models import ChannelLock, Run
from pipelines.seeds import load_seeds
from pipelines.warc.naming import warc_filename
from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer
from tests.conftest import REPLICA_SEEDS, run_cli, run_cli_reading

ARTICLE = "/c/2023-03-05/3303391.shtml"  # in rmzxb/yw: fetched by both crawls


@dataclass
class Archive:
    home: Path
    seeds: Path
    base_url: str


@dataclass
class Member:
    offset: int
    length: int
    record_type: str
    url: str
    status: str | None


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    tmp = tmp_path_factory.mktemp("verify")
    with ReplicaServer(build_site, not_found_page) as server:
        seeds = tmp / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        home = tmp / "home"
        args = ("--home", str(home), "--seeds", str(seeds), "crawl")
        first = run_cli(*args, "rmzxb/xs", "rmzxb/yw")
        assert first.returncode == 0, first.stderr
        # Two months on every article is due a re-check: answered 304 or the same bytes.
        later = (datetime.now(UTC) + timedelta(days=60)).isoformat()
        second = run_cli(*args, "rmzxb/yw", env={"CPPCC_NOW": later})
        assert second.returncode == 0, second.stderr
        yield Archive(home, seeds, server.base_url)


@pytest.fixture
def copy(archive: Archive, tmp_path: Path) -> Archive:
    """A copy of the crawled home, to damage."""
    home = tmp_path / "home"
    shutil.copytree(archive.home, home)
    return Archive(home, archive.seeds, archive.base_url)


def verify(archive: Archive, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli_reading(
        *("--home", str(archive.home), "--seeds", str(archive.seeds)),
        *("verify", "--format", "json", *args),
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def kinds(report: dict[str, Any]) -> set[str]:
    return {problem["kind"] for problem in report["problems"] if not problem["repaired"]}


def warc_files(archive: Archive) -> list[Path]:
    return sorted((archive.home / "warc").glob("*.warc.gz"))


def members(path: Path) -> list[Member]:
    found = []
    with path.open("rb") as stream:
        records = ArchiveIterator(stream)
        for record in records:
            record.raw_stream.read()
            status = record.http_headers.get_statuscode() if record.http_headers else None
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            offset, length = records.get_record_offset(), records.get_record_length()
            found.append(Member(offset, length, record.rec_type, url, status))
    return found


def article_response(archive: Archive, path: str = ARTICLE) -> tuple[Path, Member]:
    """The first crawl's response record of the article at `path`."""
    first = warc_files(archive)[0]
    url = archive.base_url + path
    return first, next(m for m in members(first) if m.url == url and m.record_type == "response")


def catalogue(archive: Archive) -> sqlite3.Connection:
    return sqlite3.connect(archive.home / "catalogue.sqlite3")


# -- a clean archive ------------------------------------------------------------------------------


def test_a_crawled_archive_is_clean_revisits_included(archive: Archive) -> None:
    records = [m for path in warc_files(archive) for m in members(path)]
    assert any(m.record_type == "revisit" for m in records)  # the second crawl wrote revisits
    code, report = verify(archive)
    assert (code, report["problems"], report["clean"]) == (0, [], True)
    assert report["files"] == len(warc_files(archive)) == 2
    assert report["records"] == len(records)

    text = run_cli_reading("--home", str(archive.home), "--seeds", str(archive.seeds), "verify")
    assert text.returncode == 0
    assert text.stdout.splitlines() == [
        f"verify {archive.home / 'warc'}: 2 WARC files, {len(records)} records: clean"
    ]
    assert "verify: read " not in text.stderr  # the summary counts the files
    args = ("--home", str(archive.home), "--seeds", str(archive.seeds), "verify", "--verbose")
    assert run_cli(*args).stderr.count("verify: read ") == 2  # --verbose: a line per file


def test_usage_errors_exit_2(archive: Archive, tmp_path: Path) -> None:
    bad = run_cli_reading("--home", str(archive.home), "verify", "--format", "xml")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    empty = run_cli_reading("--home", str(tmp_path), "--seeds", str(archive.seeds), "verify")
    assert empty.returncode == 2 and "no WARC folder" in empty.stderr


# -- damage, and what --repair does about it ------------------------------------------------------


def test_a_truncated_file_is_reported_where_it_breaks(copy: Archive) -> None:
    path, cut = article_response(copy)
    data = path.read_bytes()
    path.write_bytes(data[: cut.offset + cut.length // 2])

    code, report = verify(copy)
    assert code == 1 and not report["clean"]
    truncated = [p for p in report["problems"] if p["kind"] == "truncated"]
    assert [(p["file"], p["offset"]) for p in truncated] == [(path.name, cut.offset)]
    # The article whose record was cut, and those after it, point past the break.
    missing = [p for p in report["problems"] if p["kind"] == "missing-record"]
    assert any(
        ARTICLE in p["detail"] and "past where the file breaks" in p["detail"] for p in missing
    )

    code, repaired = verify(copy, "--repair")
    assert code == 1 and kinds(repaired) >= {"truncated", "missing-record"}
    assert path.stat().st_size == cut.offset + cut.length // 2  # nothing cut or deleted


def test_a_flipped_byte_is_a_digest_mismatch(copy: Archive) -> None:
    path, member = article_response(copy)
    data = path.read_bytes()
    changed = _flipped_member(data[member.offset : member.offset + member.length])
    path.write_bytes(data[: member.offset] + changed + data[member.offset + member.length :])

    assert [(p.kind, p.offset) for p in scan_file(path).problems] == [
        ("digest-mismatch", member.offset)
    ]
    engine = make_engine(default_sqlite_url(copy.home))
    try:
        with make_session_factory(engine)() as session:
            found = verify_archive(session, copy.home / "warc", load_seeds(str(copy.seeds)))
    finally:
        engine.dispose()
    # Offsets are unchanged, so only the digest is wrong: nothing else is reported.
    assert [(p.kind, p.file, p.offset) for p in found.problems] == [
        ("digest-mismatch", path.name, member.offset)
    ]
    assert "block digest failed" in found.problems[0].detail


def test_a_deleted_file_stays_a_problem(copy: Archive) -> None:
    gone = warc_files(copy)[0]
    gone.unlink()
    code, report = verify(copy)
    assert code == 1 and kinds(report) == {"missing-file"}
    assert all(p["file"] == gone.name for p in report["problems"])
    assert any(ARTICLE in p["detail"] for p in report["problems"])  # capture by capture

    code, repaired = verify(copy, "--repair")
    assert code == 1 and kinds(repaired) == {"missing-file"} and repaired["repairs"] == []
    text = run_cli_reading("--home", str(copy.home), "--seeds", str(copy.seeds), "verify")
    assert text.returncode == 1
    assert "restore it from a backup" in text.stdout
    assert text.stdout.splitlines()[0].endswith(f"{len(report['problems'])} problems")


def test_an_open_file_of_a_dead_writer_is_closed(copy: Archive) -> None:
    source = warc_files(copy)[0]
    keep = members(source)[10]
    name = warc_filename(
        "CPPCC", datetime(2026, 1, 2, tzinfo=UTC), 0, _dead_pid(), socket.gethostname()
    )
    opened = copy.home / "warc" / (name + ".open")
    opened.write_bytes(source.read_bytes()[: keep.offset + keep.length + 100])

    code, report = verify(copy)
    assert code == 1 and [(p["kind"], p["file"]) for p in report["problems"]] == [
        ("open-file", opened.name)
    ]
    code, repaired = verify(copy, "--repair")
    assert code == 0 and repaired["clean"], repaired
    assert [r["action"] for r in repaired["repairs"]] == ["truncated"]
    assert repaired["problems"] == [{**report["problems"][0], "repaired": True}]
    assert not opened.exists() and (copy.home / "warc" / name).stat().st_size == (
        keep.offset + keep.length
    )
    assert verify(copy) == (0, {**repaired, "problems": [], "repairs": []})


def test_an_open_file_being_written_is_left_alone(copy: Archive) -> None:
    name = warc_filename(
        "CPPCC", datetime(2026, 1, 2, tzinfo=UTC), 0, os.getpid(), socket.gethostname()
    )
    opened = copy.home / "warc" / (name + ".open")
    opened.write_bytes(b"being written")

    code, report = verify(copy, "--repair")
    assert code == 0 and report["problems"] == [] and report["repairs"] == []
    assert any(opened.name in note and "running crawl" in note for note in report["notes"])
    assert opened.read_bytes() == b"being written"


def test_an_uncatalogued_article_is_catalogued_again(copy: Archive) -> None:
    url = copy.base_url + ARTICLE
    with catalogue(copy) as db:
        (article_id,) = db.execute("SELECT id FROM articles WHERE url = ?", (url,)).fetchone()
        for table, column in (
            ("captures", "article_id"),
            ("article_versions", "article_id"),
            ("articles", "id"),
        ):
            db.execute(f"DELETE FROM {table} WHERE {column} = ?", (article_id,))
    path, member = article_response(copy)

    code, report = verify(copy)
    assert code == 1 and [(p["kind"], p["file"], p["offset"]) for p in report["problems"]] == [
        ("uncatalogued-article", path.name, member.offset)
    ]
    code, repaired = verify(copy, "--repair")
    assert code == 0 and repaired["clean"]
    assert [r["action"] for r in repaired["repairs"]] == ["recatalogued"]
    assert verify(copy)[0] == 0
    shown = run_cli_reading("--home", str(copy.home), "--seeds", str(copy.seeds), "show", url)
    assert shown.returncode == 0 and json.loads(shown.stdout)["captures"]


# -- pure parts -----------------------------------------------------------------------------------


def test_a_running_crawl_is_named_and_its_files_left_alone(copy: Archive) -> None:
    host, now = socket.gethostname(), datetime.now(UTC)
    name = warc_filename("CPPCC", now, 0, os.getpid(), host)
    (copy.home / "warc" / (name + ".open")).write_bytes(b"")
    engine = make_engine(default_sqlite_url(copy.home))
    try:
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            run = Run(
                trigger="manual",
                status="running",
                channels=["rmzxb/yw"],
                started_at=now,
                heartbeat_at=now,
                pid=os.getpid(),
                host=host,
            )
            session.add(run)
            session.flush()
            session.add(
                ChannelLock(
                    site="rmzxb",
                    channel="yw",
                    run_id=run.id,
                    host=host,
                    pid=os.getpid(),
                    started_at=now,
                )
            )
        with sessions() as session:
            found = verify_archive(session, copy.home / "warc", load_seeds(str(copy.seeds)))
    finally:
        engine.dispose()
    assert found.problems == []
    assert [note.split(":")[0] for note in found.notes] == ["a crawl is running", name + ".open"]
    assert f"run {run.id} (rmzxb/yw), pid {os.getpid()}" in found.notes[0]


def test_open_files_on_another_host_are_left_to_that_host(tmp_path: Path) -> None:
    name = warc_filename("CPPCC", datetime(2026, 1, 2, tzinfo=UTC), 0, 42, "otherhost")
    (tmp_path / (name + ".open")).write_bytes(b"")
    problems, notes = check_open_files(tmp_path, [], host="here", is_alive=lambda pid: False)
    assert [p.kind for p in problems] == ["open-file"] and "otherhost" in problems[0].detail
    assert notes == []


def test_problem_lines() -> None:
    assert Problem("truncated", "a.warc.gz", 12, "cut").line() == "a.warc.gz:12: cut"
    capture = Problem("missing-file", "a.warc.gz", 3, "capture 1 of http://x/ points to a")
    assert capture.line() == "catalogue: capture 1 of http://x/ points to a"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: its pid names no process now
    return child.pid


def _flipped_member(member: bytes) -> bytes:
    """The gzip member with one byte of its payload changed, recompressed to the same length
    (padded in the gzip header's extra field), so every offset after it stays right."""
    record = bytearray(zlib.decompress(member, 16 + zlib.MAX_WBITS))
    at = record.rfind(b"</p>") - 1
    for level in (9, 8, 7, 6):
        record[at] ^= 0x01
        compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = compressor.compress(bytes(record)) + compressor.flush()
        pad = len(member) - (10 + 2 + len(body) + 8)
        if pad >= 0:
            header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff" + struct.pack("<H", pad)
            trailer = struct.pack("<II", zlib.crc32(record), len(record) & 0xFFFFFFFF)
            return header + b"\x00" * pad + body + trailer
        record[at] ^= 0x01  # put it back; try the byte before
        at -= 1
    raise AssertionError("could not recompress the member into its own length")
