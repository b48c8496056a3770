"""Packing small WARC files (pipelines/archive/pack/): every record, capture and CDXJ line moves
to the pack, and a packing killed at any step leaves an archive `verify` finds clean, which
the next packing finishes.

The replica is crawled three times (both channels; `yw` two months on; `xs` two months on),
which leaves three small WARC files, their CDXJ and a catalogue naming them; each test packs
a copy of that home.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker
from warcio.archiveiterator import ArchiveIterator

from pipelines.archive.pack import LOCK_NAME, WarcPackError, pack_warc_files
from pipelines.archive.pack.report import PackReport
from pipelines.archive.tidy import TidySettings, TidyStopped, tidy_archive
from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.models import ArchivedRecord, Capture, Rejection
from pipelines.catalogue.writes import start_run
from pipelines.home import ArchiveHome
from pipelines.warc.exchange import HttpExchange
from pipelines.warc.location import RecordLocation
from pipelines.warc.naming import parse_warc_filename
from pipelines.warc.reader import read_stored_response
from pipelines.warc.scan import ScannedRecord, read_record, scan_warc
from pipelines.warc.writer import WarcWriter
from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer
from tests.conftest import REPLICA_SEEDS, REPO, run_cli, run_cli_reading, start_cli

# The steps a packing passes, in order (packing.py calls its checkpoint with each).
STEPS = [
    "manifest",  # the manifest is written; no byte of the pack yet
    "copying",  # the pack holds its warcinfo and the first file, not the others
    "written",  # the pack is whole and fsynced, not yet checked
    "verified",  # checked, not yet renamed
    "renamed",  # under its final name beside the files it packs; the catalogue names those
    "moved",  # the catalogue names the pack; no CDXJ of it yet
    "indexed",  # its CDXJ written; the packed files still there
    "deleting",  # the first packed file and its CDXJ removed, the others not
    "deleted",  # every packed file removed; the manifest not
]
BEFORE_RENAME = STEPS[: STEPS.index("renamed")]
DEAD_PID = 999_999_999  # above any pid_max: no process has it


@dataclass
class Archive:
    home: Path
    seeds: Path
    db_url: str

    @property
    def warc(self) -> Path:
        return self.home / "warc"

    @property
    def indexes(self) -> Path:
        return self.home / "indexes"

    def cli(self, *args: str) -> tuple[int, str, str]:
        options = ("--home", str(self.home), "--seeds", str(self.seeds), "--db", self.db_url)
        result = run_cli_reading(*options, *args)
        return result.returncode, result.stdout, result.stderr


@dataclass(frozen=True)
class Before:
    """What the archive held before packing, to compare with after."""

    files: dict[str, int]  # name -> size
    bodies: dict[str, bytes]  # capture record id -> its response body
    cdxj: dict[tuple[str, ...], list[tuple[str, int]]]  # capture's CDXJ fields -> where
    rows: dict[str, int]  # located rows per table


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    tmp = tmp_path_factory.mktemp("pack")
    with ReplicaServer(build_site, not_found_page) as server:
        seeds = tmp / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        home = tmp / "home"
        args = ("--home", str(home), "--seeds", str(seeds), "crawl")
        later = (datetime.now(UTC) + timedelta(days=60)).isoformat()
        for channels, env in [
            (("rmzxb/xs", "rmzxb/yw"), {}),
            (("rmzxb/yw",), {"CPPCC_NOW": later}),  # revisits, in a file of their own
            (("rmzxb/xs",), {"CPPCC_NOW": later}),
        ]:
            crawl = run_cli(*args, *channels, env=env)
            assert crawl.returncode == 0, crawl.stderr
    assert len(list((home / "warc").glob("*.warc.gz"))) == 3
    yield Archive(home, seeds, f"sqlite:///{home / 'catalogue.sqlite3'}")


@pytest.fixture
def archive(crawled: Archive, tmp_path: Path) -> Archive:
    """A copy of the crawled home, to pack."""
    home = tmp_path / "home"
    shutil.copytree(crawled.home, home)
    return Archive(home, crawled.seeds, f"sqlite:///{home / 'catalogue.sqlite3'}")


@pytest.fixture
def sessions(archive: Archive) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(archive.db_url)
    yield make_session_factory(engine)
    engine.dispose()


def pack(archive: Archive, sessions: sessionmaker[Session], **options: Any) -> PackReport:
    options.setdefault("min_age", timedelta(0))
    return pack_warc_files(archive.warc, archive.indexes, sessions, **options)


def verify(archive: Archive) -> dict[str, Any]:
    code, out, err = archive.cli("verify", "--format", "json")
    outcome = json.loads(out)
    assert (code, outcome["problems"]) == (0, []), err
    return outcome


# -- what the archive holds -----------------------------------------------------------------------


def captures(sessions: sessionmaker[Session]) -> list[RecordLocation]:
    with sessions() as session:
        return [_location(row) for row in session.scalars(select(Capture).order_by(Capture.id))]


def _location(row: Capture) -> RecordLocation:
    return RecordLocation(
        filename=row.warc_filename,
        offset=row.warc_offset,
        length=row.warc_length,
        record_id=row.record_id,
        payload_digest=row.payload_digest or "",
        fetched_at=row.fetched_at,
        status=row.status,
        url=row.url,
    )


def located_rows(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return {
            model.__tablename__: len(session.scalars(select(model.id)).all())
            for model in (Capture, ArchivedRecord, Rejection)
        }


def files_named(sessions: sessionmaker[Session]) -> set[str]:
    """Every WARC file name the catalogue's locations give."""
    with sessions() as session:
        names = set()
        for model in (Capture, ArchivedRecord, Rejection):
            names |= {n for n in session.scalars(select(model.warc_filename)) if n}
        return names


def cdxj_lines(index_dir: Path) -> dict[tuple[str, ...], list[tuple[str, int]]]:
    """Each CDXJ line's capture (key, time, URL, digest, status, mime, length) -> where, in
    order (a page retried within a second is listed twice)."""
    found: dict[tuple[str, ...], list[tuple[str, int]]] = {}
    for index in index_dir.glob("*.cdxj"):
        for line in index.read_text(encoding="utf-8").splitlines():
            key, stamp, data = line.split(" ", 2)
            fields = json.loads(data)
            capture = (key, stamp, *(fields.get(n, "") for n in ("url", "digest", "status")))
            capture += (fields.get("mime", ""), fields["length"])
            found.setdefault(capture, []).append((fields["filename"], int(fields["offset"])))
    return {capture: sorted(places) for capture, places in found.items()}


def snapshot(archive: Archive, sessions: sessionmaker[Session]) -> Before:
    files = {path.name: path.stat().st_size for path in archive.warc.glob("*.warc.gz")}
    bodies = {
        location.record_id: read_stored_response(archive.warc, location).body
        for location in captures(sessions)
        if location.status == 200
    }
    return Before(files, bodies, cdxj_lines(archive.indexes), located_rows(sessions))


def assert_packed_whole(archive: Archive, sessions: sessionmaker[Session], before: Before) -> str:
    """Everything `before` held is in one pack now, where the catalogue and CDXJ say; returns
    the pack's name."""
    (pack,) = (path.name for path in archive.warc.glob("*.warc.gz"))
    leftovers = [p.name for p in archive.warc.iterdir() if p.name not in (pack, LOCK_NAME)]
    assert leftovers == []
    assert [p.name for p in archive.indexes.iterdir()] == [pack + ".cdxj"]
    assert files_named(sessions) == {pack}
    assert located_rows(sessions) == before.rows
    # Every article page reads back from the pack, as it was archived.
    bodies = {
        location.record_id: read_stored_response(archive.warc, location).body
        for location in captures(sessions)
        if location.status == 200
    }
    assert bodies == before.bodies
    # Replay: the pack's CDXJ lists every capture the packed files' CDXJ did, each at an
    # offset where its record is.
    listed = cdxj_lines(archive.indexes)
    assert listed.keys() == before.cdxj.keys()
    for capture, places in listed.items():
        assert len(places) == len(before.cdxj[capture])
        for name, offset in places:
            record = read_record(archive.warc / name, offset)
            assert isinstance(record, ScannedRecord) and name == pack
            url, digest, length = capture[2], capture[3], capture[6]
            assert (record.location.url, record.location.payload_digest) == (url, digest)
            assert str(record.location.length) == length
    return pack


def pack_starts(pack: Path) -> dict[str, int]:
    """Where each packed file starts in `pack`, from its own warcinfo record."""
    first = next(scan_warc(pack))
    assert isinstance(first, ScannedRecord) and first.record_type == "warcinfo"
    fields, offset = first.block.decode(), first.location.length
    starts = {}
    for line in fields.splitlines():
        if line.startswith("packed-from: "):
            name, size = line.removeprefix("packed-from: ").removesuffix(" bytes)").split(" (")
            starts[name] = offset
            offset += int(size)
    assert offset == pack.stat().st_size
    return starts


# -- packing --------------------------------------------------------------------------------------


def test_small_files_are_packed_into_one_and_everything_moves_with_them(
    archive: Archive, sessions: sessionmaker[Session]
) -> None:
    before = snapshot(archive, sessions)
    first = min(before.files, key=opened_at)
    records = sum(1 for name in before.files for _ in scan_warc(archive.warc / name))

    report = pack(archive, sessions)

    pack_name = assert_packed_whole(archive, sessions, before)
    starts = pack_starts(archive.warc / pack_name)  # every offset moved by its file's start
    moved = {
        capture: sorted((pack_name, starts[name] + at) for name, at in places)
        for capture, places in before.cdxj.items()
    }
    assert cdxj_lines(archive.indexes) == moved
    assert report.files_packed == 3 and len(report.packs) == 1
    assert report.bytes_packed == sum(before.files.values())
    assert report.records_moved == records  # every record of the three, requests included
    assert report.rows_moved == before.rows
    assert report.skipped == [] and report.failed == []
    size = f"{report.bytes_packed:,} bytes, {records} records"
    assert report.lines()[0].startswith(f"packed 3 WARC files ({size}) into 1 pack; catalogue")
    assert json.loads(json.dumps(report.as_json()))["packs"][0]["pack"] == pack_name
    # Named after the IIPC convention: the first file's time, a serial, pid 0 (no writer left).
    name = parse_warc_filename(pack_name)
    assert name is not None
    assert (name.prefix, name.pid, name.hostname) == ("CPPCC-PACK", 0, socket.gethostname())
    assert name.opened_at == opened_at(first)
    assert_warcinfo_ids_right(archive.warc / pack_name)
    verify(archive)
    code, out, err = archive.cli("reextract")  # every article re-read from its record
    assert code == 0, out + err


def opened_at(name: str) -> datetime:
    """When the writer opened the file `name`, as its name says."""
    parsed = parse_warc_filename(name)
    assert parsed is not None
    return parsed.opened_at


def assert_warcinfo_ids_right(pack: Path) -> None:
    """Each record names the warcinfo record of the file it was written in, which precedes it."""
    seen, current = 0, None
    with pack.open("rb") as stream:
        for record in ArchiveIterator(stream, check_digests="raise"):
            if record.rec_type == "warcinfo":
                seen, current = seen + 1, record.rec_headers.get_header("WARC-Record-ID")
                continue
            assert record.rec_headers.get_header("WARC-Warcinfo-ID") == current
    assert seen == 4  # the pack's own, then each packed file's


def test_files_a_writer_may_still_use_or_that_are_damaged_are_left_alone(
    archive: Archive, sessions: sessionmaker[Session]
) -> None:
    """Files by a running writer or of another host, with a name no writer of ours makes, and
    damaged: each left as it is, and why said; `.open` files are not even looked at."""
    originals = {path.name for path in archive.warc.glob("*.warc.gz")}
    extra = {
        "writer-running": write_warc(archive.warc, pid=os.getpid()),
        "other-host": write_warc(archive.warc, hostname="elsewhere"),
        "unknown-writer": rename(write_warc(archive.warc), "mine.warc.gz"),
        "damaged": damage(write_warc(archive.warc)),
        "open": write_warc(archive.warc, close=False),
    }
    contents = {path: path.read_bytes() for path in extra.values()}

    report = pack(archive, sessions)

    assert [set(p.files) for p in report.packs] == [originals]
    reasons = {skip.file: skip.reason for skip in report.skipped}
    assert reasons == {path.name: kind for kind, path in extra.items() if kind != "open"}
    assert all(path.read_bytes() == data for path, data in contents.items())
    lines = "\n".join(report.lines())
    assert f"its writer (pid {os.getpid()}) is still running" in lines
    assert "written on host elsewhere" in lines
    assert "corrupt-member at offset" in lines


def test_files_just_closed_or_of_a_run_not_ended_are_left_alone(
    archive: Archive, sessions: sessionmaker[Session]
) -> None:
    names = sorted(path.name for path in archive.warc.glob("*.warc.gz"))
    soon = pack(archive, sessions, min_age=timedelta(hours=1))
    assert [(s.file, s.reason) for s in soon.skipped] == [(n, "too-recent") for n in names]
    later = pack(
        archive, sessions, min_age=timedelta(hours=1), now=datetime.now(UTC) - timedelta(hours=2)
    )
    assert later.packs == []
    second = opened_at(names[1])
    with sessions.begin() as session:  # a run that started before the second file was opened
        start_run(
            session, trigger="manual", channels=["rmzxb/yw"], pid=DEAD_PID,
            host=socket.gethostname(), started_at=second - timedelta(milliseconds=1),
        )  # fmt: skip

    report = pack(archive, sessions)

    reasons = [(skip.file, skip.reason) for skip in report.skipped]
    assert sorted(reasons) == [
        (names[0], "alone"),  # nothing left to pack it with
        (names[1], "run-not-ended"),
        (names[2], "run-not-ended"),
    ]
    assert report.packs == []
    assert sorted(path.name for path in archive.warc.glob("*.warc.gz")) == names


def write_warc(
    folder: Path, *, pid: int = DEAD_PID, hostname: str | None = None, close: bool = True
) -> Path:
    """A small WARC file of one exchange, as a crawl's writer writes it."""
    writer = WarcWriter(folder, pid=pid, hostname=hostname or socket.gethostname())
    location = writer.write_exchange(
        HttpExchange(
            url="http://127.0.0.1/robots.txt", method="GET", request_headers=[],
            request_body=b"", protocol="HTTP/1.1", status=200, reason="OK",
            response_headers=[("Content-Type", "text/plain")], body=b"User-agent: *\n",
            fetched_at=datetime.now(UTC),
        )
    )  # fmt: skip
    writer.close()
    path = folder / location.filename
    return path if close else rename(path, path.name + ".open")  # as a killed crawl leaves it


def rename(path: Path, name: str) -> Path:
    return path.rename(path.with_name(name))


def damage(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def test_packs_keep_to_their_size_and_are_packed_again_when_small(
    archive: Archive, sessions: sessionmaker[Session]
) -> None:
    before = snapshot(archive, sessions)
    sizes = [before.files[name] for name in sorted(before.files)]
    room = sizes[0] + sizes[1] + 1500  # the first two and the pack's warcinfo; not the third

    first = pack(archive, sessions, target_size=room, pack_below=room)

    assert [len(p.files) for p in first.packs] == [2]
    assert [s.reason for s in first.skipped] == ["alone"]
    (one,) = first.packs
    assert (archive.warc / one.pack).stat().st_size <= room
    verify(archive)

    second = pack(archive, sessions)  # the pack is small too: packed with the third file

    (two,) = second.packs
    assert two.files == (one.pack, first.skipped[0].file)
    assert two.pack != one.pack  # same first time, next serial
    assert_packed_whole(archive, sessions, before)
    verify(archive)


def test_a_pack_that_does_not_read_back_whole_is_removed_and_nothing_changes(
    archive: Archive, sessions: sessionmaker[Session]
) -> None:
    before = snapshot(archive, sessions)
    catalogued = files_named(sessions)

    def flip_a_byte(step: str) -> None:  # the disk gives back other bytes than were written
        if step == "written":
            (partial,) = archive.warc.glob("*.packing")
            damage(partial)

    report = pack(archive, sessions, checkpoint=flip_a_byte)

    assert report.packs == []
    (failure,) = report.failed
    assert "does not read back whole" in failure.detail and "nothing was changed" in failure.detail
    names = {p.name for p in archive.warc.iterdir()} - {LOCK_NAME}
    assert names == set(before.files)
    assert files_named(sessions) == catalogued
    assert cdxj_lines(archive.indexes) == before.cdxj
    verify(archive)


def test_the_move_is_in_the_catalogue_file_itself_before_the_files_go(
    archive: Archive, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """A power cut may lose what SQLite holds only in its WAL: the catalogue file alone (as
    it would be if the WAL were lost) must name the pack once the packed files are gone."""
    pack(archive, sessions)
    (pack_name,) = (path.name for path in archive.warc.glob("*.warc.gz"))
    alone = tmp_path / "without-wal.sqlite3"
    shutil.copyfile(archive.home / "catalogue.sqlite3", alone)
    assert (archive.home / "catalogue.sqlite3-wal").exists()  # the engine is still open
    with closing(sqlite3.connect(alone)) as database:
        named = {name for (name,) in database.execute("SELECT warc_filename FROM captures")}
    assert named == {pack_name}


def test_a_catalogue_a_reader_holds_keeps_the_packed_files_until_the_next_packing(
    archive: Archive, sessions: sessionmaker[Session]
) -> None:
    before = snapshot(archive, sessions)
    engine = sessions.kw["bind"]

    @event.listens_for(engine, "connect")
    def _wait_less(connection: Any, _record: Any) -> None:  # than the 30 s a catalogue waits
        connection.execute("PRAGMA busy_timeout = 200")

    engine.dispose()  # connections made from now on wait less
    with closing(sqlite3.connect(archive.home / "catalogue.sqlite3")) as reader:
        reader.isolation_level = None
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM captures").fetchone()  # reads an older snapshot
        held = pack(archive, sessions)
        reader.execute("COMMIT")

    (failure,) = held.failed
    assert "its files are kept, and the next `pack` removes them" in failure.detail
    assert {path.name for path in archive.warc.glob("*.warc.gz")} >= set(before.files)
    verify(archive)
    again = pack(archive, sessions)
    assert [p.resumed for p in again.packs] == [True] and again.failed == []
    assert_packed_whole(archive, sessions, before)


def test_one_packing_at_a_time(archive: Archive, sessions: sessionmaker[Session]) -> None:
    with open(archive.warc / LOCK_NAME, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(WarcPackError, match=r"another packing of .* is running"):
            pack(archive, sessions)
    assert len(pack(archive, sessions).packs) == 1


def test_a_dry_run_says_what_would_be_packed_and_changes_nothing(
    archive: Archive, sessions: sessionmaker[Session]
) -> None:
    before = snapshot(archive, sessions)
    report = pack(archive, sessions, dry_run=True)
    assert report.files_packed == 3 and report.lines()[0].startswith("would pack 3 WARC files")
    assert snapshot(archive, sessions) == before
    assert sorted(p.name for p in archive.warc.iterdir()) == sorted(before.files)


# -- a packing killed at each step ----------------------------------------------------------------

KILLED_PACKING = """
import os, signal, sys
from datetime import timedelta
from pathlib import Path
from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.archive.pack import pack_warc_files

home, db_url, step = Path(sys.argv[1]), sys.argv[2], sys.argv[3]

def checkpoint(name):
    if name == step:
        os.kill(os.getpid(), signal.SIGKILL)

sessions = make_session_factory(make_engine(db_url))
pack_warc_files(home / "warc", home / "indexes", sessions, min_age=timedelta(0),
                checkpoint=checkpoint)
"""


def kill_packing_at(archive: Archive, step: str) -> None:
    """Pack in a process of its own, killed with SIGKILL when it reaches `step`."""
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_PACKING, str(archive.home), archive.db_url, step],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr


def check_killed_and_finished(archive: Archive, sessions: sessionmaker[Session], step: str) -> None:
    before = snapshot(archive, sessions)
    kill_packing_at(archive, step)

    verify(archive)  # clean as the kill left it: nothing names a file that is not there
    again = pack(archive, sessions)

    if step in BEFORE_RENAME:  # undone, then packed anew
        assert len(again.abandoned) == 1 and not again.packs[0].resumed
    else:  # finished
        assert again.abandoned == [] and again.packs[0].resumed
    assert again.failed == [] and len(again.packs) == 1
    assert_packed_whole(archive, sessions, before)
    verify(archive)


@pytest.mark.parametrize("step", STEPS)
def test_a_packing_killed_at_any_step_is_finished_by_the_next(
    archive: Archive, sessions: sessionmaker[Session], step: str
) -> None:
    check_killed_and_finished(archive, sessions, step)
    code, out, err = archive.cli("reextract")
    assert code == 0, out + err


def test_a_finishing_killed_in_turn_is_finished_by_the_packing_after(
    archive: Archive, sessions: sessionmaker[Session]
) -> None:
    before = snapshot(archive, sessions)
    kill_packing_at(archive, "moved")
    kill_packing_at(archive, "deleting")  # finishing the first, killed again
    verify(archive)
    again = pack(archive, sessions)
    assert [p.resumed for p in again.packs] == [True]
    assert_packed_whole(archive, sessions, before)
    verify(archive)


def test_an_unfinished_pack_its_files_no_longer_match_is_left_alone(
    archive: Archive, sessions: sessionmaker[Session]
) -> None:
    catalogued = files_named(sessions)
    kill_packing_at(archive, "renamed")
    changed = damage(sorted(archive.warc.glob("CPPCC-2*.warc.gz"))[1])  # bit rot since

    report = pack(archive, sessions)

    (failure,) = report.failed
    (manifest,) = archive.warc.glob("*.pack.json")
    assert failure.file + ".pack.json" == manifest.name
    assert f"{changed.name}: corrupt-member at offset" in failure.detail
    assert f"then remove {manifest.name}" in failure.detail
    assert report.packs == [] and report.skipped == []  # its files are not packed anew
    assert len(list(archive.warc.glob("*.warc.gz"))) == 4
    assert files_named(sessions) == catalogued


@pytest.fixture
def reindexed(
    archive: Archive, fresh_db_url: str
) -> Iterator[tuple[Archive, sessionmaker[Session]]]:
    """The copy with its catalogue rebuilt from its WARC files in a new database (SQLite or
    PostgreSQL)."""
    moved = Archive(archive.home, archive.seeds, fresh_db_url)
    code, out, err = moved.cli("reindex", "--format", "json")
    assert code == 0, out + err
    engine = make_engine(fresh_db_url)
    yield moved, make_session_factory(engine)
    engine.dispose()


@pytest.mark.parametrize("step", ["renamed", "moved", "deleting"])
def test_killed_packing_on_each_back_end(
    reindexed: tuple[Archive, sessionmaker[Session]], step: str
) -> None:
    archive, sessions = reindexed
    verify(archive)
    check_killed_and_finished(archive, sessions, step)


# -- from the command line, and by the service -----------------------------------------------------

RETENTION_DAYS = "0.00001"  # under a second: every crawl log of the fixture's runs is older


def test_pack_and_tidy_from_the_command_line(
    archive: Archive, sessions: sessionmaker[Session]
) -> None:
    before = snapshot(archive, sessions)
    logs = sorted(path.name for path in (archive.home / "logs").iterdir())
    assert len(logs) == 6  # three runs, each a Scrapy log and a report
    # By default a file closed less than an hour ago is left for later, and said so.
    code, out, _ = archive.cli("pack")
    assert code == 0 and out.startswith("nothing packed") and out.count("left alone: ") == 3
    code, out, _ = archive.cli("pack", "--dry-run", "--pack-min-age", "0")
    assert code == 0 and out.startswith("would pack 3 WARC files")
    assert snapshot(archive, sessions) == before

    time.sleep(1)  # the runs ended more than the retention ago
    code, out, err = archive.cli(
        "tidy", "--pack-min-age", "0", "--log-retention", RETENTION_DAYS, "--format", "json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert (report["pack"]["files_packed"], report["pack"]["packs_written"]) == (3, 1)
    assert sorted(report["logs"]["removed"]) == logs
    assert list((archive.home / "logs").iterdir()) == []
    assert_packed_whole(archive, sessions, before)
    verify(archive)


@pytest.mark.parametrize(
    ("option", "words"),
    [
        (("--pack-below", "0"), "'0' is not a size"),
        (("--pack-below", "2G"), "must fit in a pack"),
        (("--pack-min-age", "soon"), "'soon' is not a number of seconds"),
    ],
)
def test_pack_options_out_of_range_are_one_line(
    archive: Archive, option: tuple[str, ...], words: str
) -> None:
    code, out, err = archive.cli("pack", *option)
    assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1 and words in err


def test_the_service_tidies_on_its_schedule(archive: Archive, tmp_path: Path) -> None:
    # Channels scheduled once a year, after their last run: the service only tidies.
    seeds = tmp_path / "seeds.toml"
    text = archive.seeds.read_text(encoding="utf-8").replace('"*/30 * * * *"', '"0 0 1 1 *"')
    text = text.replace(
        'list = "/yw_n/index.shtml"', 'list = "/yw_n/index.shtml"\nschedule = "0 0 1 1 *"'
    )
    seeds.write_text(text, encoding="utf-8")
    time.sleep(1)  # the runs ended more than the retention ago
    service = start_cli(
        "--home", str(archive.home), "--seeds", str(seeds), "--db", archive.db_url, "serve",
        "--tidy-schedule", "*/2 * * * * *", "--pack-min-age", "0",
        "--log-retention", RETENTION_DAYS,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(list(archive.warc.glob("*.warc.gz"))) > 1 or any(
            (archive.home / "logs").iterdir()
        ):
            assert time.monotonic() < deadline and service.poll() is None, "not tidied"
            time.sleep(0.2)
        service.send_signal(signal.SIGTERM)
        _, err = service.communicate(timeout=60)
    finally:
        if service.poll() is None:
            service.kill()
            service.communicate()
    assert service.returncode == 0, err
    assert "tidy: packed 3 WARC files" in err and "removed 6 crawl log files" in err
    assert not any(" run " in line and "started" in line for line in err.splitlines())
    verify(archive)


def test_a_tidy_asked_to_stop_stops_at_its_next_step_and_the_next_finishes(
    archive: Archive, sessions: sessionmaker[Session]
) -> None:
    before = snapshot(archive, sessions)
    home, settings = ArchiveHome(archive.home), TidySettings(pack_min_age=timedelta(0))
    steps: list[str] = []

    def stop_after_copying() -> bool:  # the service's stop arrives mid-pack
        steps.append("step")
        return len(steps) > 2

    with pytest.raises(TidyStopped):
        tidy_archive(home, sessions, settings, stop_requested=stop_after_copying)
    verify(archive)
    assert tidy_archive(home, sessions, settings).packing.abandoned != []
    assert_packed_whole(archive, sessions, before)
