"""Rows of the results table, medians, and the markdown they are printed as."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

COLUMNS = ("benchmark", "measure", "ours", "baseline", "ratio", "target", "met?")


@dataclass(frozen=True)
class Row:
    """One measure: ours, what it is compared with, and whether the target is met."""

    benchmark: str
    measure: str
    ours: str
    baseline: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: bool | None = None  # None: no target, or not measured

    def cells(self) -> tuple[str, ...]:
        met = "—" if self.met is None else ("yes" if self.met else "**no**")
        return (
            self.benchmark,
            self.measure,
            self.ours,
            self.baseline,
            self.ratio,
            self.target,
            met,
        )


@dataclass
class Section:
    """What one benchmark reports: its rows and the notes that explain them."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which `share` (0–1) of `values` lie, by the nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def spread(values: Sequence[float], unit: str = "", digits: int = 1) -> str:
    """The median and the range of repeated measurements, for the notes."""
    return (
        f"median {median(values):.{digits}f}{unit} "
        f"(min {min(values):.{digits}f}, max {max(values):.{digits}f}, n={len(values)})"
    )


def markdown(sections: Sequence[Section], header: str) -> str:
    """The table of every row, then every note, as markdown."""
    lines = [header, "", "| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(row.cells()) + " |" for s in sections for row in s.rows]
    notes = [note for s in sections for note in s.notes]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"
