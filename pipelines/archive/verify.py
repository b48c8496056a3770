"""Check the WARC files and the catalogue against each other, and repair what can be.

Every closed WARC file in HOME/warc is read to its end, checking each record is whole and
matches its digests; a damaged gzip member is reported where it is, with what is wrong
(pipelines/warc/scan.py: `garbage`, `corrupt-member`, `bad-headers`, `length-mismatch`,
`truncated`, `empty-file`, `not-warc`), and the records after it are checked too. The
catalogue's captures and records must name a record that is where they say; every archived
response and article page must be in the catalogue; `.open` files are reported (unless a
running crawl may be writing them). `--repair` closes the `.open` files of dead writers
(pipelines/warc/salvage.py) and catalogues from the WARC files what the catalogue misses
(pipelines/archive/reindex.py), the records after a damaged member included: see repair.py.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pipelines.archive.spans import Span, item_end, read_by_file
from pipelines.catalogue.audit import (
    capture_places,
    catalogued_page_ids,
    record_places,
    recorded_ids,
)
from pipelines.catalogue.locks import STALE_AFTER, dead_reason, running_locks
from pipelines.normalise.urls import seeded_article_site
from pipelines.processes import pid_is_alive
from pipelines.seeds import Seeds
from pipelines.warc.naming import OPEN_SUFFIX, WARC_SUFFIX, parse_warc_filename
from pipelines.warc.salvage import DAMAGED_SUFFIX
from pipelines.warc.scan import Damage, ScannedRecord, scan_warc

UNCATALOGUED = ("uncatalogued-article", "uncatalogued-record")


@dataclass(frozen=True)
class Problem:
    """One thing wrong: `kind` is a slug, `file`/`offset` where (the catalogue's claim for
    `missing-*` kinds), `detail` what and what to do."""

    kind: str
    file: str | None
    offset: int | None
    detail: str

    def line(self) -> str:
        if self.kind.startswith("missing-"):
            return f"catalogue: {self.detail}"
        where = self.file if self.offset is None else f"{self.file}:{self.offset}"
        return f"{where}: {self.detail}"

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "file": self.file, "offset": self.offset, "detail": self.detail}


@dataclass(frozen=True)
class Entry:
    """A `response` or `revisit` record of a file: what the catalogue must know of it."""

    offset: int
    record_id: str
    record_type: str
    status: int | None
    url: str


@dataclass
class FileScan:
    """What reading one closed WARC file to its end found."""

    name: str
    records: int = 0
    ids: dict[int, str] = field(default_factory=dict)  # record offset -> WARC-Record-ID
    entries: list[Entry] = field(default_factory=list)
    end: int = 0  # end of the last whole record
    damaged: list[Damage] = field(default_factory=list)  # spans that give no record
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Verification:
    """One check of the archive: what was read, what is wrong, what was left alone and why."""

    files: int = 0
    records: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- reading the WARC files -----------------------------------------------------------------------


ScanCache = dict[str, tuple[tuple[int, int], FileScan]]  # name -> ((size, mtime), scan)


def scan_file(path: Path) -> FileScan:
    """Read every record of a closed WARC file, checking each is whole and its digests match;
    a damaged member is reported where it is and the records after it are read on."""
    return scan_span(Span(path, 0, path.stat().st_size))[0]


def scan_span(span: Span) -> tuple[FileScan, int]:
    """The scan of a span of a file (see spans.py), and where its last item ends."""
    path = span.path
    scan = FileScan(path.name, end=span.start)
    reached = span.start
    try:
        items = scan_warc(path, check_digests=True, keep_blocks=False, start=span.start,
                          stop=span.stop)  # fmt: skip
        for item in items:
            reached = item_end(item, span.stop)
            if isinstance(item, Damage):
                scan.damaged.append(item)
                scan.problems.append(Problem(item.kind, path.name, item.offset, item.detail))
            else:
                _take_record(path, scan, item)
    except OSError as exc:
        text = f"unreadable: the file cannot be read from offset {scan.end} on ({_one_line(exc)})"
        scan.damaged.append(Damage("garbage", scan.end, None, text))
        scan.problems.append(Problem("unreadable", path.name, scan.end, text))
        reached = -1  # no span after it can be trusted to follow on
    return scan, reached


def _joined(path: Path, parts: Sequence[tuple[Span, tuple[FileScan, int]]]) -> FileScan:
    """One file's scan from its spans' scans, as reading it whole gives; read again whole in
    the (never seen) case where a span's last item ran past where the next span starts."""
    if len(parts) == 1:
        return parts[0][1][0]
    for (_, (_, reached)), (after, _) in itertools.pairwise(parts):
        if reached != after.start:
            return scan_file(path)
    whole = FileScan(path.name)
    for _, (scan, _) in parts:
        whole.records += scan.records
        whole.ids.update(scan.ids)
        whole.entries += scan.entries
        whole.end = max(whole.end, scan.end)
        whole.damaged += scan.damaged
        whole.problems += scan.problems
    return whole


def _take_record(path: Path, scan: FileScan, record: ScannedRecord) -> None:
    location = record.location
    scan.records += 1
    scan.end = location.offset + location.length
    scan.ids[location.offset] = location.record_id
    if record.digest_problems:  # warcio checks no digest of a revisit: it has none
        failed = "; ".join(record.digest_problems)
        text = f"digest mismatch: record {location.record_id} is not what was archived ({failed})"
        scan.problems.append(Problem("digest-mismatch", path.name, location.offset, text))
    if record.record_type in ("response", "revisit"):
        scan.entries.append(
            Entry(
                location.offset,
                location.record_id,
                record.record_type,
                record.http_status,
                location.url,
            )
        )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]


def scan_files(
    warc_dir: Path,
    cache: ScanCache,
    on_progress: Callable[[str], None] | None = None,
    jobs: int | None = 1,
    extra_paths: Sequence[Path] = (),
) -> dict[str, FileScan]:
    """Scans of the closed WARC files in `warc_dir` (and `extra_paths`: copies of stored
    objects), read on `jobs` processes; files unchanged since `cache` saw them are not read
    again."""
    paths, keys = [], {}
    for path in [*sorted(warc_dir.glob(f"*{WARC_SUFFIX}")), *extra_paths]:
        stat = path.stat()
        keys[path.name] = (stat.st_size, stat.st_mtime_ns)
        cached = cache.get(path.name)
        if cached is None or cached[0] != keys[path.name]:
            paths.append(path)
    for path, parts in read_by_file(paths, scan_span, jobs):
        cache[path.name] = (keys[path.name], _joined(path, parts))
        if on_progress:
            on_progress(f"verify: read {path.name}: {cache[path.name][1].records} records")
    return {name: cache[name][1] for name in keys}


# -- the catalogue against the files --------------------------------------------------------------


def check_catalogue(
    session: Session, scans: Mapping[str, FileScan], warc_dir: Path, open_names: set[str]
) -> list[Problem]:
    """Captures and records rows that name a missing file, or an offset where their record is not.

    Rows naming a file still `.open` are left to the open-file check.
    """
    problems = []
    captured = set()
    for row_id, url, name, offset, record_id in capture_places(session):
        captured.add(record_id)
        if name in open_names:
            continue
        why = _not_there(scans, warc_dir, name, offset, record_id)
        if why is not None:
            kind, text = why
            problems.append(Problem(kind, name, offset, f"capture {row_id} of {url} {text}"))
    problems += _check_records(session, scans, warc_dir, open_names, captured)
    return problems


def _check_records(
    session: Session,
    scans: Mapping[str, FileScan],
    warc_dir: Path,
    open_names: set[str],
    captured: set[str],
) -> list[Problem]:
    """Records rows not already checked as captures (list pages, pictures…): one problem per
    file and kind, for they come by the hundred when a file is lost."""
    found: dict[tuple[str, str], list[int]] = {}  # (kind, file) -> offsets
    for name, offset, record_id in record_places(session):
        if record_id in captured or name in open_names:
            continue
        why = _not_there(scans, warc_dir, name, offset, record_id)
        if why is not None:
            found.setdefault((why[0], name), []).append(offset)
    problems = []
    for (kind, name), offsets in found.items():
        rows = f"{len(offsets)} records row{'s' if len(offsets) != 1 else ''}"
        if kind == "missing-file":
            text = f"{rows} point to {_missing_file(warc_dir, name)}"
            problems.append(Problem(kind, name, None, text))
        else:
            text = f"{rows} point to {name} where their record is not (offsets {_some(offsets)})"
            problems.append(Problem(kind, name, min(offsets), text))
    return problems


def _some(offsets: list[int], shown: int = 5) -> str:
    text = ", ".join(str(offset) for offset in offsets[:shown])
    return text + (", …" if len(offsets) > shown else "")


def _not_there(
    scans: Mapping[str, FileScan], warc_dir: Path, name: str, offset: int, record_id: str
) -> tuple[str, str] | None:
    """(kind, why) when record `record_id` is not at `offset` of file `name`; None when it is."""
    scan = scans.get(name)
    if scan is None:
        return "missing-file", f"points to {_missing_file(warc_dir, name)}"
    found = scan.ids.get(offset)
    if found == record_id:
        return None
    where = f"points to {name}:{offset}"
    if found is not None:
        return "missing-record", f"{where}, where record {found} is, not {record_id}"
    for damage in scan.damaged:
        if damage.offset <= offset and (damage.end is None or offset < damage.end):
            if damage.end is None:
                return "missing-record", f"{where}, past where the file breaks ({damage.offset})"
            return "missing-record", (
                f"{where}, in bytes damaged from {damage.offset} to {damage.end} ({damage.kind})"
            )
    return "missing-record", f"{where}, where no record starts (record {record_id})"


def _missing_file(warc_dir: Path, name: str) -> str:
    damaged = warc_dir / (name + DAMAGED_SUFFIX)
    if damaged.exists():
        return f"{name}, which is missing (kept as {damaged.name}: no complete record)"
    return f"{name}, which is missing from {warc_dir}: restore it from a backup"


def check_uncatalogued(
    session: Session, scans: Mapping[str, FileScan], seeds: Seeds
) -> list[Problem]:
    """Responses and revisits missing from the records table, and 200 responses of article
    pages that neither a capture nor a rejection names."""
    recorded, named = recorded_ids(session), catalogued_page_ids(session)
    problems = []
    for scan in scans.values():
        for entry in scan.entries:
            what = f"{entry.record_type} record {entry.record_id} of {entry.url}"
            if entry.record_id not in recorded:
                text = f"{what} is not in the catalogue's records"
                problems.append(Problem("uncatalogued-record", scan.name, entry.offset, text))
            # Whether a URL is an article page is the slow question: asked of the few not named.
            if entry.record_id not in named and _is_article_page(entry, seeds):
                text = f"article page {entry.url} (record {entry.record_id}) is not catalogued"
                problems.append(Problem("uncatalogued-article", scan.name, entry.offset, text))
    return problems


def _is_article_page(entry: Entry, seeds: Seeds) -> bool:
    return (
        entry.record_type == "response"
        and entry.status == 200
        and seeded_article_site(entry.url, seeds.sites) is not None
    )


# -- open files and running crawls ----------------------------------------------------------------


@dataclass(frozen=True)
class LiveCrawl:
    """A channel lock held by a run whose process still lives."""

    run_id: int
    channel: str
    host: str
    pid: int


def live_crawls(
    session: Session, *, host: str, is_alive: Callable[[int], bool], now: datetime
) -> list[LiveCrawl]:
    """The crawls running now, by their channel locks (as `crawl` and the service see them)."""
    live = []
    for lock, run in running_locks(session):
        reason = dead_reason(
            run,
            host=host,
            is_alive=lambda _h, pid: is_alive(pid),
            now=now,
            stale_after=STALE_AFTER,
        )
        if reason is None:
            live.append(LiveCrawl(lock.run_id, lock.key, lock.host, lock.pid))
    return live


def check_open_files(
    warc_dir: Path, live: Iterable[LiveCrawl], *, host: str, is_alive: Callable[[int], bool]
) -> tuple[list[Problem], list[str]]:
    """`.open` files: a problem when their writer is gone, a note when it may be writing."""
    live = list(live)
    problems, notes = [], []
    for path in sorted(warc_dir.glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}")):
        writer = parse_warc_filename(path.name.removesuffix(OPEN_SUFFIX))
        if writer is None:
            text = "open file of unknown writer: check it with `warcio check`, close it by hand"
            problems.append(Problem("open-file", path.name, None, text))
        elif writer.hostname == host and is_alive(writer.pid):
            notes.append(
                f"{path.name}: being written by a running crawl (pid {writer.pid}): "
                "not read, left alone"
            )
        elif writer.hostname != host and any(c.host == writer.hostname for c in live):
            notes.append(
                f"{path.name}: may be written by a crawl running on {writer.hostname}: "
                "not read, left alone"
            )
        elif writer.hostname != host:
            text = (
                f"left open on host {writer.hostname} (writer pid {writer.pid}): run "
                "`cppcc-archive verify --repair` there to close it"
            )
            problems.append(Problem("open-file", path.name, None, text))
        else:
            text = (
                f"left open by a crawl that stopped (writer pid {writer.pid} is gone): "
                "`cppcc-archive verify --repair` closes it"
            )
            problems.append(Problem("open-file", path.name, None, text))
    for path in sorted(warc_dir.glob(f"*{DAMAGED_SUFFIX}")):
        notes.append(f"{path.name}: kept by salvage, it holds no complete record; not read")
    return problems, notes


# -- the whole check, and repairs -----------------------------------------------------------------


def verify_archive(
    session: Session,
    warc_dir: Path,
    seeds: Seeds,
    *,
    cache: ScanCache | None = None,
    on_progress: Callable[[str], None] | None = None,
    host: str | None = None,
    is_alive: Callable[[int], bool] = pid_is_alive,
    jobs: int | None = 1,
    extra_paths: Sequence[Path] = (),
) -> Verification:
    """Check every closed WARC file in `warc_dir` (and `extra_paths`, read as if there) and
    the catalogue in `session` (read only).

    The files are read before the first query, so no transaction is open during the long
    part; the caller ends the session's transaction. The files are read on `jobs` processes.
    """
    host = host or socket.gethostname()
    scans = scan_files(warc_dir, cache if cache is not None else {}, on_progress, jobs, extra_paths)
    result = Verification(files=len(scans), records=sum(s.records for s in scans.values()))
    for scan in scans.values():
        result.problems += scan.problems
    live = live_crawls(session, host=host, is_alive=is_alive, now=datetime.now(UTC))
    result.notes += [
        f"a crawl is running: run {c.run_id} ({c.channel}), pid {c.pid} on host {c.host}; "
        "files it may be writing are left alone"
        for c in live
    ]
    open_problems, notes = (
        ([], [])
        if not warc_dir.is_dir()
        else check_open_files(warc_dir, live, host=host, is_alive=is_alive)
    )
    # Rows naming a file still open: the open-file problem or note above stands for them.
    open_names = {p.name.removesuffix(OPEN_SUFFIX) for p in warc_dir.glob(f"*{OPEN_SUFFIX}")}
    result.problems += open_problems
    result.notes += notes
    result.problems += check_catalogue(session, scans, warc_dir, open_names)
    result.problems += check_uncatalogued(session, scans, seeds)
    return result
