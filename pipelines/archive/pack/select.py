"""Which closed WARC files may be packed now, and how they are grouped into packs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.archive.pack.check import Records, records_of
from pipelines.archive.pack.report import PackReport, PackSkip
from pipelines.warc.naming import WARC_SUFFIX, WarcFileName, parse_warc_filename

# Room kept in a pack for its own warcinfo record: a bound on its gzip member's size.
HEADER_ROOM, ROOM_PER_FILE = 1024, 64


@dataclass(frozen=True)
class Candidate:
    """A small closed file that may be packed, and its records as the scanner read them."""

    path: Path
    opened_at: datetime
    size: int
    records: Records


@dataclass(frozen=True)
class Rules:
    """What a file must be to be packed: smaller than `pack_below`, closed `min_age` before
    `now`, written on `host` by a writer no longer running, and not by the `unended` run."""

    pack_below: int
    min_age: timedelta
    now: datetime
    host: str
    is_alive: Callable[[int], bool]
    unended: tuple[int, datetime] | None  # (id, start) of the first run not yet ended
    # Files recorded for object storage (`--storage`): the stored object is the file, and the
    # catalogue's locations name it; a pack would move them to a pack not stored yet.
    in_store: frozenset[str] = frozenset()


def candidates(warc_dir: Path, rules: Rules, held: set[str], report: PackReport) -> list[Candidate]:
    """The small closed files that may be packed, oldest first; the others go to `report`."""
    found = []
    for path in sorted(warc_dir.glob(f"*{WARC_SUFFIX}")):
        if path.name in held or not path.is_file():
            continue
        stat = path.stat()
        if stat.st_size >= rules.pack_below:
            report.large_enough += 1
            continue
        writer = parse_warc_filename(path.name)
        if writer is None:
            report.skipped.append(
                PackSkip(path.name, "unknown-writer", "its name does not say who wrote it")
            )
            continue
        closed_at = datetime.fromtimestamp(stat.st_mtime, UTC)
        skip = _why_not(path.name, writer, closed_at, rules)
        if skip is None:
            records, problem = records_of(path)
            if problem is None:
                found.append(Candidate(path, writer.opened_at, stat.st_size, records))
                continue
            skip = PackSkip(path.name, "damaged", f"{problem}; `cppcc-archive verify` names it")
        report.skipped.append(skip)
    return sorted(found, key=lambda candidate: (candidate.opened_at, candidate.path.name))


def _why_not(name: str, writer: WarcFileName, closed_at: datetime, rules: Rules) -> PackSkip | None:
    """Why the closed file `name`, written by `writer`, must be left alone, if it must."""
    if name in rules.in_store:
        return PackSkip(
            name, "in-object-storage",
            "recorded for object storage: its records are read from the stored object, which a "
            "pack would not replace",
        )  # fmt: skip
    if writer.hostname != rules.host:
        return PackSkip(name, "other-host", f"written on host {writer.hostname}: pack it there")
    if writer.pid > 0 and rules.is_alive(writer.pid):
        return PackSkip(name, "writer-running", f"its writer (pid {writer.pid}) is still running")
    age = rules.now - closed_at
    if age < rules.min_age:
        detail = (
            f"closed {_duration(age)} ago; files are packed once closed {_duration(rules.min_age)}"
        )
        return PackSkip(name, "too-recent", detail)
    if rules.unended is not None and _to_ms(rules.unended[1]) <= writer.opened_at:
        run_id, started_at = rules.unended
        return PackSkip(
            name,
            "run-not-ended",
            f"opened after run {run_id} started ({started_at.isoformat()}), which has not "
            "ended (or died and was not recovered yet) and may still catalogue it",
        )
    return None


def batches(candidates: Sequence[Candidate], target_size: int) -> Iterator[list[Candidate]]:
    """Consecutive candidates, as many as fit in one pack of `target_size` bytes each."""
    batch: list[Candidate] = []
    size = HEADER_ROOM
    for candidate in candidates:
        needs = candidate.size + len(candidate.path.name) + ROOM_PER_FILE
        if batch and size + needs > target_size:
            yield batch
            batch, size = [], HEADER_ROOM
        batch.append(candidate)
        size += needs
    if batch:
        yield batch


def alone(candidate: Candidate) -> PackSkip:
    return PackSkip(candidate.path.name, "alone", "no other small file to pack it with yet")


def _to_ms(moment: datetime) -> datetime:
    """`moment` cut to the millisecond, as a WARC file name gives the time it was opened."""
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def _duration(span: timedelta) -> str:
    return str(timedelta(seconds=max(0, round(span.total_seconds()))))
