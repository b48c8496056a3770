"""Pack small closed WARC files into large ones, so a long-running archive stays a few files.

A pack is the packed files' bytes one after another (a gzip member per record, so that is
valid WARC, each file keeping its own warcinfo record for its records' WARC-Warcinfo-ID),
after a warcinfo record of its own naming them. Crash safety comes from the order of the
steps, each durable before the next:

1. a manifest (pack_manifest.py) names the pack and its files, before any byte is written;
2. the pack is written as `<pack>.packing`, fsynced, and read back from the disk through the
   scanner with digest checks: every record of every file must be there, at its offset plus
   the file's start, and the bytes identical; a pack that fails is removed, its files kept;
3. it is renamed to its final name: only now is it a WARC file anyone reads;
4. one catalogue transaction moves every location naming a packed file to the pack;
5. the pack's CDXJ is written; then the packed files' CDXJ and the files themselves are
   removed, and last the manifest.

The catalogue only ever names files that exist, and until step 5 every record is in its
file and (from step 3) in the pack too, under the same record id: `verify` is clean after a
kill at any moment. The next packing finishes what a manifest shows was begun: a pack not yet
renamed is removed (its files were never touched), a renamed one is checked against the files
still there and steps 4-5 done again (each does nothing twice).
"""

from __future__ import annotations

import fcntl
import itertools
import os
import shutil
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipelines.archive.defaults import DEFAULT_MIN_AGE, DEFAULT_PACK_BELOW
from pipelines.archive.pack.check import Records, check_pack
from pipelines.archive.pack.manifest import (
    Manifest,
    Part,
    fsync_directory,
    fsync_file,
    manifest_path,
    manifests,
    partial_path,
    read_manifest,
    write_manifest,
)
from pipelines.archive.pack.report import PackFailure, PackMade, PackReport, PackSkip
from pipelines.archive.pack.select import Candidate, Rules, alone, batches, candidates
from pipelines.catalogue.relocations import (
    Relocation,
    earliest_unended_run,
    make_commits_durable,
    relocate,
)
from pipelines.catalogue.warc_files import recorded_names
from pipelines.errors import CppccArchiveError, UsageError
from pipelines.processes import pid_is_alive
from pipelines.warc.cdxj import CdxjIndexError, index_path, index_warc
from pipelines.warc.naming import OPEN_SUFFIX, software_name
from pipelines.warc.naming import warc_filename as make_warc_filename
from pipelines.warc.records import warcinfo_record
from pipelines.warc.salvage import DAMAGED_SUFFIX
from pipelines.warc.writer import (
    CONFORMS_TO,
    DEFAULT_COMPRESS_LEVEL,
    DEFAULT_MAX_SIZE,
    DEFAULT_PREFIX,
    gzip_member,
    new_record_id,
)

# Writers name files `CPPCC-…-<pid>~…`; packs `CPPCC-PACK-…-0~…`: no writer makes that name.
PACK_PREFIX = f"{DEFAULT_PREFIX}-PACK"
# A pack has no writer left once it is renamed; pid 0 (a process group, never one process)
# says so to whoever checks a file's writer by its name (recovery, salvage, packing).
PACK_PID = 0
LOCK_NAME = ".pack.lock"
CHUNK = 1 << 20  # bytes copied at a time

Checkpoint = Callable[[str], None]


class WarcPackError(CppccArchiveError):
    """WARC files cannot be packed at all: no folder, another packing running, a manifest
    that cannot be read."""


def pack_warc_files(
    warc_dir: Path,
    index_dir: Path,
    sessions: sessionmaker[Session],
    *,
    pack_below: int = DEFAULT_PACK_BELOW,
    target_size: int = DEFAULT_MAX_SIZE,
    min_age: timedelta = DEFAULT_MIN_AGE,
    now: datetime | None = None,
    dry_run: bool = False,
    host: str | None = None,
    is_alive: Callable[[int], bool] = pid_is_alive,
    prefix: str = PACK_PREFIX,
    checkpoint: Checkpoint | None = None,
) -> PackReport:
    """Pack the closed WARC files of `warc_dir` smaller than `pack_below` bytes into packs of
    at most `target_size` bytes, their CDXJ in `index_dir`, the catalogue moved with them.

    First finishes (or undoes) what a packing that stopped left. A file is left alone, and
    reported, when its name does not say who wrote it, it was written on another host (`host`:
    this one) or by a process still running, it was closed less than `min_age` before `now`,
    a run not yet ended may have written it, it is recorded for object storage (the stored
    object stays what the catalogue names), or it does not read back whole. `dry_run` changes
    nothing and reports what would be packed. `checkpoint` is called with the name of each
    step as it is passed (tests stop the process there). Raises WarcPackError when nothing can
    be packed, and lets the catalogue's SQLAlchemy errors through.
    """
    if pack_below > target_size:
        raise UsageError(
            f"files packed (below {pack_below:,} bytes) must fit in a pack ({target_size:,} bytes)"
        )
    packer = _Packer(warc_dir, index_dir, sessions, PackReport(warc_dir, dry_run), checkpoint)
    host = host or socket.gethostname()
    with _packing_lock(warc_dir, dry_run):
        held = packer.finish_unfinished()
        # Runs first, files second: a run starting in between opens its files after the listing.
        with sessions() as session:
            unended = earliest_unended_run(session)
            in_store = frozenset(recorded_names(session))
        rules = Rules(
            pack_below, min_age, now or datetime.now(UTC), host, is_alive, unended, in_store
        )
        chosen = candidates(warc_dir, rules, held, packer.report)
        for batch in batches(chosen, target_size):
            if len(batch) == 1:
                packer.report.skipped.append(alone(batch[0]))
            else:
                packer.pack(batch, prefix, host)
    return packer.report


class _Packer:
    """The steps of making and finishing packs in one folder, reporting into `report`."""

    def __init__(
        self,
        warc_dir: Path,
        index_dir: Path,
        sessions: sessionmaker[Session],
        report: PackReport,
        checkpoint: Checkpoint | None,
    ) -> None:
        self.warc_dir, self.index_dir, self.sessions = warc_dir, index_dir, sessions
        self.report = report
        self.checkpoint = checkpoint or (lambda _step: None)

    def pack(self, batch: Sequence[Candidate], prefix: str, host: str) -> None:
        """Make one pack of `batch` (steps 1-5), or report why it could not be made."""
        name = self._free_name(prefix, batch[0].opened_at, host)
        header = _header(name, batch, host)
        parts, start = [], len(header)
        for candidate in batch:
            parts.append(Part(candidate.path.name, start, candidate.size))
            start += candidate.size
        manifest = Manifest(name, len(header), tuple(parts))
        records = sum(len(candidate.records) for candidate in batch)
        if self.report.dry_run:
            self.report.packs.append(_made(manifest, records, {}))
            return
        known = {candidate.path.name: candidate.records for candidate in batch}
        if self._write_and_check(manifest, header, known):
            self._finish(manifest, records, resumed=False)

    def _write_and_check(
        self, manifest: Manifest, header: bytes, known: dict[str, Records]
    ) -> bool:
        """Steps 1-3: the pack written, checked and renamed; False (all undone) when it fails."""
        partial = partial_path(self.warc_dir, manifest.pack)
        try:
            write_manifest(self.warc_dir, manifest)
            self.checkpoint("manifest")
            self._write(partial, header, manifest)
            self.checkpoint("written")
            problem = check_pack(partial, manifest, self.warc_dir, known)[1]
            if problem is None:
                self.checkpoint("verified")
                self._publish(partial, self.warc_dir / manifest.pack)
                self.checkpoint("renamed")
                return True
        except OSError as error:
            problem = f"cannot be written ({error}); packing needs free space as large as it"
        self._undo(manifest)
        self.report.failed.append(PackFailure(manifest.pack, f"{problem}; nothing was changed"))
        return False

    def _write(self, partial: Path, header: bytes, manifest: Manifest) -> None:
        with open(partial, "xb") as out:
            out.write(header)
            for number, part in enumerate(manifest.parts):
                with (self.warc_dir / part.name).open("rb") as source:
                    shutil.copyfileobj(source, out, CHUNK)
                if number == 0:
                    out.flush()
                    self.checkpoint("copying")
            out.flush()
            os.fsync(out.fileno())
            if hasattr(os, "posix_fadvise"):  # not on macOS
                # Read back what the disk holds, not the page cache's copy of what was written.
                os.posix_fadvise(out.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        fsync_directory(self.warc_dir)

    def _publish(self, partial: Path, final: Path) -> None:
        if final.exists():  # chosen free under the lock, and no writer makes such names
            raise FileExistsError(f"{final} exists")
        partial.rename(final)
        fsync_directory(self.warc_dir)

    def _finish(self, manifest: Manifest, records: int, *, resumed: bool) -> None:
        """Steps 4-5 for a pack under its final name; each step does nothing twice."""
        moves = [Relocation(part.name, manifest.pack, part.start) for part in manifest.parts]
        with self.sessions.begin() as session:
            rows = relocate(session, moves)
        self.checkpoint("moved")
        pack = self.warc_dir / manifest.pack
        try:
            index = index_warc(pack, self.index_dir)
            fsync_file(index)  # the packed files' CDXJ go next: replay must find the pack's
            fsync_directory(self.index_dir)
        except (CdxjIndexError, OSError) as error:
            detail = f"its CDXJ cannot be written ({error}); its files are kept until it is"
            self.report.failed.append(PackFailure(manifest.pack, detail))
            return
        self.checkpoint("indexed")
        # A row naming a packed file written since the move (`verify --repair` cataloguing a
        # record it had read there) must not be left pointing at a removed file.
        with self.sessions.begin() as session:
            late = relocate(session, moves)
        if not self._catalogue_durable():
            detail = (
                "the catalogue's move could not be written through to its disk now (a reader "
                "held it); its files are kept, and the next `pack` removes them"
            )
            self.report.failed.append(PackFailure(manifest.pack, detail))
            return
        self._remove_parts(manifest)
        manifest_path(self.warc_dir, manifest.pack).unlink()
        fsync_directory(self.warc_dir)
        total = {table: rows[table] + late[table] for table in rows}
        self.report.packs.append(_made(manifest, records, total, resumed=resumed))

    def _catalogue_durable(self) -> bool:
        """Whether the move will survive a power cut: once the files go, nothing else tells."""
        bind = self.sessions.kw.get("bind")
        return make_commits_durable(bind) if isinstance(bind, Engine) else True

    def _remove_parts(self, manifest: Manifest) -> None:
        for number, part in enumerate(manifest.parts):
            index_path(part.name, self.index_dir).unlink(missing_ok=True)
            (self.warc_dir / part.name).unlink(missing_ok=True)
            if number == 0:
                self.checkpoint("deleting")
        fsync_directory(self.warc_dir)
        self.checkpoint("deleted")

    def finish_unfinished(self) -> set[str]:
        """Finish or undo every pack a packing that stopped began; returns the names of the
        files (packs and parts) of those it could not finish, which are left alone."""
        held: set[str] = set()
        for path in manifests(self.warc_dir):
            try:
                manifest = read_manifest(path)
            except (ValueError, OSError) as error:
                raise WarcPackError(
                    f"cannot read the pack manifest {path}: {error}; nothing was packed. Check "
                    "that every file it names is in place (`cppcc-archive verify`), then remove it"
                ) from error
            if self.report.dry_run:
                detail = "begun by a packing that stopped; the next `pack` finishes it"
                self.report.skipped.append(PackSkip(manifest.pack, "unfinished", detail))
            else:
                self._finish_one(manifest)
            if path.exists():
                held |= {manifest.pack, *(part.name for part in manifest.parts)}
        return held

    def _finish_one(self, manifest: Manifest) -> None:
        final = self.warc_dir / manifest.pack
        if not final.exists():  # stopped before the rename: no one read or named the pack
            self._undo(manifest)
            self.report.abandoned.append(manifest.pack)
            return
        records, problem = check_pack(final, manifest, self.warc_dir, {})
        if problem is None:
            self._finish(manifest, records, resumed=True)
            return
        detail = (
            f"begun by a packing that stopped, and {problem}: it and its files are left as they "
            f"are; check them (`cppcc-archive verify`), then remove "
            f"{manifest_path(self.warc_dir, manifest.pack).name}"
        )
        self.report.failed.append(PackFailure(manifest.pack, detail))

    def _undo(self, manifest: Manifest) -> None:
        """Remove a pack not yet renamed, then its manifest: its files were never touched."""
        partial_path(self.warc_dir, manifest.pack).unlink(missing_ok=True)
        manifest_path(self.warc_dir, manifest.pack).unlink(missing_ok=True)
        fsync_directory(self.warc_dir)

    def _free_name(self, prefix: str, opened_at: datetime, host: str) -> str:
        """The pack's IIPC name: the time its first file was opened, the first free serial."""
        for serial in itertools.count():
            name = make_warc_filename(prefix, opened_at, serial, PACK_PID, host)
            taken = [
                self.warc_dir / name,
                self.warc_dir / (name + OPEN_SUFFIX),
                self.warc_dir / (name + DAMAGED_SUFFIX),
                manifest_path(self.warc_dir, name),
                partial_path(self.warc_dir, name),
                index_path(name, self.index_dir),
            ]
            if not any(path.exists() for path in taken):
                return name
        raise AssertionError("unreachable")  # itertools.count() never ends


def _header(name: str, batch: Sequence[Candidate], host: str) -> bytes:
    """The pack's own warcinfo record: what wrote it, and which files follow, in order."""
    info = [
        ("software", software_name()),
        ("format", "WARC File Format 1.1"),
        ("conformsTo", CONFORMS_TO),
        ("hostname", host),
        ("description", f"{len(batch)} WARC files packed whole after this record, in order"),
        *(("packed-from", f"{c.path.name} ({c.size} bytes)") for c in batch),
    ]
    record = warcinfo_record(new_record_id(), datetime.now(UTC), name, info)
    return gzip_member(record.to_bytes(), DEFAULT_COMPRESS_LEVEL)


def _made(
    manifest: Manifest, records: int, rows: dict[str, int], *, resumed: bool = False
) -> PackMade:
    files = tuple(part.name for part in manifest.parts)
    size = manifest.size - manifest.header
    return PackMade(manifest.pack, files, size, records, rows, resumed)


@contextmanager
def _packing_lock(warc_dir: Path, dry_run: bool) -> Iterator[None]:
    """One packing of a folder at a time (a dry run reads only, and takes no lock)."""
    if not warc_dir.is_dir():
        raise WarcPackError(f"no WARC folder {warc_dir}; check --home (or CPPCC_ARCHIVE_HOME)")
    if dry_run:
        yield
        return
    try:
        descriptor = os.open(warc_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise WarcPackError(f"cannot pack the WARC files in {warc_dir}: {error}") from error
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WarcPackError(
                f"another packing of {warc_dir} is running; let it finish, then run `pack` again"
            ) from None
        yield
    finally:
        os.close(descriptor)  # releases the lock
