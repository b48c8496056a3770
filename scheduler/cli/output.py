"""Print records as a table, JSON, JSON lines or CSV: the formats every listing command offers."""

from __future__ import annotations

import csv
import json
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO


def print_records(
    records: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str, out: TextIO
) -> None:
    """Print `records` in `fmt`; a table and CSV show `columns`, JSON forms every key."""
    if fmt == "json":
        json.dump(list(records), out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif fmt == "jsonl":
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for record in records:
            writer.writerow([_cell(column, record.get(column)) for column in columns])
    else:
        print_table(records, columns, out)


def print_table(records: Sequence[dict[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    """Print `records` as aligned columns under a header line (Chinese text aligned too)."""
    rows = [[_cell(column, record.get(column)) for column in columns] for record in records]
    widths = [
        max([display_width(column)] + [display_width(row[i]) for row in rows])
        for i, column in enumerate(columns)
    ]
    out.write(_line(columns, widths) + "\n")
    for row in rows:
        out.write(_line(row, widths) + "\n")


def display_width(text: str) -> int:
    """Columns a string takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def truncate(text: str, width: int) -> str:
    """`text` cut to at most `width` terminal columns, ending in `…` when it was cut."""
    if display_width(text) <= width:
        return text
    kept = ""
    for ch in text:
        if display_width(kept + ch) > width - 1:
            break
        kept += ch
    return kept + "…"


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [
        cell + " " * (width - display_width(cell))
        for cell, width in zip(cells, widths, strict=True)
    ]
    return "  ".join(padded).rstrip()


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        # A section is a breadcrumb (协商 > 政协动态); other lists are plain lists.
        if column == "section":
            # The catalogue's views load SQLAlchemy: imported for the lists that show sections.
            from pipelines.catalogue.views import section_text

            return section_text(value)
        return ", ".join(map(str, value))
    return str(value)
