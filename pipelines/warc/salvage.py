"""Close the `.open` WARC files a killed crawl left behind, keeping every complete record."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipelines.errors import CppccArchiveError
from pipelines.processes import pid_is_alive
from pipelines.warc.naming import OPEN_SUFFIX, WARC_SUFFIX, parse_warc_filename
from pipelines.warc.scan import Damage, scan_warc

DAMAGED_SUFFIX = ".damaged"

SalvageStatus = Literal[
    "closed",  # every byte was a complete record: renamed, bytes unchanged
    "truncated",  # an incomplete tail was cut off, then renamed
    "damaged",  # no complete record at all: renamed to `.damaged`, bytes unchanged
    "skipped-alive",  # its writer still runs on this host: untouched
    "skipped-other-host",  # written on another host, whose processes we cannot see: untouched
    "skipped-unknown-writer",  # a name `warc_filename` did not make: untouched
    "conflict",  # the name to rename to is taken: untouched
]


class WarcSalvageError(CppccArchiveError):
    """An abandoned `.open` WARC file could not be read, cut or renamed."""


@dataclass(frozen=True)
class SalvageReport:
    """What salvage did to one `.open` file, and a one-line `message` for logs and the CLI."""

    original: Path
    final: Path  # where the bytes are now; `original` when the file was left alone
    records_kept: int  # complete records in `final` (for a skip or conflict: none counted)
    bytes_cut: int
    status: SalvageStatus
    message: str


def salvage_open_files(
    directory: Path,
    *,
    is_alive: Callable[[int], bool] = pid_is_alive,
    host: str | None = None,
    include_other_hosts: bool = False,
) -> list[SalvageReport]:
    """Close every `*.warc.gz.open` file in `directory` whose writer is gone; report each.

    A file whose writer (pid and host from its name) still runs on this host is left alone.
    Files written on another host (`host` defaults to this machine's name) are left alone
    too, unless `include_other_hosts`: only the caller can know that their crawl is stopped.
    Raises WarcSalvageError if a file cannot be read, cut or renamed.
    """
    host = host or socket.gethostname()
    reports = []
    for path in sorted(Path(directory).glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}")):
        if path.is_file():
            reports.append(_salvage_one(path, is_alive, host, include_other_hosts))
    if any(report.final != report.original for report in reports):
        _fsync_directory(Path(directory))
    return reports


def _salvage_one(
    path: Path, is_alive: Callable[[int], bool], host: str, include_other_hosts: bool
) -> SalvageReport:
    closed = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    writer = parse_warc_filename(closed.name)
    if writer is None:
        return _untouched(path, "skipped-unknown-writer", "its name does not say who wrote it")
    if writer.hostname != host and not include_other_hosts:
        return _untouched(
            path,
            "skipped-other-host",
            f"written on host {writer.hostname}, where its writer (pid {writer.pid}) may still "
            "run; salvage it there, or here with include_other_hosts once that crawl is stopped",
        )
    if writer.hostname == host and is_alive(writer.pid):
        return _untouched(path, "skipped-alive", f"its writer (pid {writer.pid}) is still running")
    try:
        return _close(path, closed)
    except OSError as error:
        raise WarcSalvageError(
            f"cannot salvage WARC file {path}: {error}; check the folder's permissions and free "
            "space, then restart, or close the file by hand after `warcio check`"
        ) from error


def _close(path: Path, closed: Path) -> SalvageReport:
    """Cut `path` after its last complete record and rename it; `.damaged` if none is."""
    with open(path, "r+b") as file:
        size = os.fstat(file.fileno()).st_size
        records, end, damaged = _complete_records(path)
        target = closed if records else closed.with_name(closed.name + DAMAGED_SUFFIX)
        if target.exists():
            return _untouched(
                path,
                "conflict",
                f"{target.name} exists already; compare the two with `warcio check` and rename "
                "one by hand",
            )
        if records and end < size:
            file.truncate(end)
        # The killed writer's last bytes may still be only in the page cache; the rename
        # promises a complete file, so make its bytes durable first.
        os.fsync(file.fileno())
    path.rename(target)
    return _closed_report(path, target, size, records, end, damaged)


def _closed_report(
    path: Path, target: Path, size: int, records: int, end: int, damaged: list[int]
) -> SalvageReport:
    if not records:
        message = f"no complete WARC record in its {size} bytes; kept as {target.name}"
        return SalvageReport(path, target, 0, 0, "damaged", f"{path.name}: {message}")
    kept = ""
    if damaged:
        offsets = ", ".join(map(str, damaged))
        kept = f"; damaged bytes kept at offset(s) {offsets} (`cppcc-archive verify` names them)"
    if end == size:
        message = f"closed as {target.name}, {records} complete records, nothing cut{kept}"
        return SalvageReport(path, target, records, 0, "closed", f"{path.name}: {message}")
    message = (
        f"closed as {target.name}, {records} complete records kept, "
        f"{size - end} bytes of an incomplete record cut at offset {end}{kept}"
    )
    return SalvageReport(path, target, records, size - end, "truncated", f"{path.name}: {message}")


def _untouched(path: Path, status: SalvageStatus, why: str) -> SalvageReport:
    return SalvageReport(path, path, 0, 0, status, f"{path.name}: left as it is: {why}")


def _complete_records(path: Path) -> tuple[int, int, list[int]]:
    """(complete records, where the last one ends, offsets of damage before that end).

    The writer puts each record in a gzip member of its own (as warcio and Heritrix do), so a
    record is complete when the scanner reads it whole from its member, matching its digests.
    Only what follows the last complete record is an incomplete tail: damage before it (a
    bad disk block) is kept with the records after it, for verify to report.
    """
    records = end = 0
    damaged = []
    for item in scan_warc(path, check_digests=True, keep_blocks=False):
        if isinstance(item, Damage) or item.digest_problems:
            damaged.append(item.offset if isinstance(item, Damage) else item.location.offset)
            continue
        records, end = records + 1, item.location.offset + item.location.length
    return records, end, [offset for offset in damaged if offset < end]


def _fsync_directory(directory: Path) -> None:
    """Make renames in `directory` survive a power loss (POSIX: fsync the folder itself)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
