"""What packing WARC files did, as lines of text or JSON for the command line and the service."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SkipReason = (
    str  # a slug: see pipelines/archive/pack/packing.py for the reasons a file is left alone
)


@dataclass(frozen=True)
class PackMade:
    """One pack written (or, in a dry run, that would be), or an unfinished one finished."""

    pack: str
    files: tuple[str, ...]  # the packed files, in the pack's order
    bytes: int  # bytes of those files, all now in the pack
    records: int  # WARC records of those files
    rows: dict[str, int]  # catalogue rows moved to the pack, per table
    resumed: bool = False  # begun by a packing that stopped, finished by this one


@dataclass(frozen=True)
class PackSkip:
    """A small closed file left alone, and why."""

    file: str
    reason: SkipReason
    detail: str


@dataclass(frozen=True)
class PackFailure:
    """A pack that could not be made or finished; every file it names is left as it was."""

    file: str
    detail: str


@dataclass
class PackReport:
    """What `pack_warc_files` did."""

    warc_dir: Path
    dry_run: bool = False
    packs: list[PackMade] = field(default_factory=list)
    skipped: list[PackSkip] = field(default_factory=list)
    failed: list[PackFailure] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)  # partial packs of a packing that stopped
    large_enough: int = 0  # closed files at or above the size that is packed

    @property
    def files_packed(self) -> int:
        return sum(len(pack.files) for pack in self.packs)

    @property
    def bytes_packed(self) -> int:
        return sum(pack.bytes for pack in self.packs)

    @property
    def records_moved(self) -> int:
        return sum(pack.records for pack in self.packs)

    @property
    def rows_moved(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for pack in self.packs:
            for table, rows in pack.rows.items():
                totals[table] = totals.get(table, 0) + rows
        return totals

    def as_json(self) -> dict[str, Any]:
        return {
            "warc_dir": str(self.warc_dir),
            "dry_run": self.dry_run,
            "files_packed": self.files_packed,
            "packs_written": len(self.packs),
            "bytes_packed": self.bytes_packed,
            "records_moved": self.records_moved,
            "rows_moved": self.rows_moved,
            "packs": [{**asdict(pack), "files": list(pack.files)} for pack in self.packs],
            "skipped": [asdict(skip) for skip in self.skipped],
            "failed": [asdict(failure) for failure in self.failed],
            "abandoned": self.abandoned,
            "large_enough": self.large_enough,
        }

    def lines(self) -> list[str]:
        """A summary line, then a line per pack, per failure, per skipped file, per abandoned."""
        lines = [self.summary()]
        verb = "would pack" if self.dry_run else "packed"
        for pack in self.packs:
            done = "finished (begun by a packing that stopped): " if pack.resumed else ""
            lines.append(
                f"{done}{pack.pack}: {verb} {len(pack.files)} files, {pack.bytes:,} bytes, "
                f"{pack.records:,} records ({', '.join(pack.files)})"
            )
        lines += [f"not packed: {failure.file}: {failure.detail}" for failure in self.failed]
        lines += [f"left alone: {skip.file}: {skip.detail}" for skip in self.skipped]
        lines += [
            f"removed {name}, a pack begun by a packing that stopped before it was complete; "
            "its files were left as they were"
            for name in self.abandoned
        ]
        return lines

    def summary(self) -> str:
        if not self.packs:
            head = "nothing packed"
        else:
            verb = "would pack" if self.dry_run else "packed"
            head = (
                f"{verb} {self.files_packed} WARC files ({self.bytes_packed:,} bytes, "
                f"{self.records_moved:,} records) into {_packs(len(self.packs))}"
            )
            rows = ", ".join(f"{n:,} {table}" for table, n in self.rows_moved.items())
            head += f"; catalogue locations moved: {rows}" if rows else ""
        tail = f"{self.large_enough} files large enough already"
        tail += f", {len(self.skipped)} left alone" if self.skipped else ""
        tail += f", {len(self.failed)} failed" if self.failed else ""
        return f"{head} ({tail})"


def _packs(count: int) -> str:
    return f"{count} pack" + ("" if count == 1 else "s")
