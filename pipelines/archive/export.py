"""Chosen articles as a WACZ package, or their fields as JSON lines or CSV.

A WACZ holds, for each article, every capture of every page (responses and revisits), the
records those revisits stand for (followed through the catalogue's `records` table), the
request record of each, the `metadata` records about them (a 304's head, the article's
normalised fields) and the latest capture of each of its pictures. `jsonl` and `csv` hold the
articles' normalised fields, as `show --format json` prints them without the captures.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.orm import Session

from pipelines.archive.stored_copies import StoredCopies
from pipelines.catalogue.models import ArchivedRecord, ArticleRecord
from pipelines.catalogue.queries import with_captures
from pipelines.catalogue.records import records_with_ids, records_with_urls
from pipelines.catalogue.views import article_view, section_text
from pipelines.errors import CppccArchiveError
from pipelines.warc.naming import OPEN_SUFFIX, WARC_SUFFIX, parse_warc_filename
from pipelines.warc.scan import Damage, scan_warc
from pipelines.warc.wacz import Page, RecordSpan, WaczSummary, write_wacz

PROGRESS_EVERY = 200  # articles between two progress lines
BATCH = 200  # articles whose captures are loaded at once


class NothingToExport(CppccArchiveError):
    """No catalogued article matches the filters."""


class ExportError(CppccArchiveError):
    """The export could not be written or its WARC records could not be read."""


Progress = Callable[[str], None]


# -- jsonl, csv ---------------------------------------------------------------------------


def article_record(row: ArticleRecord) -> dict[str, Any]:
    """An article's normalised fields: `show --format json` without the captures."""
    view = article_view(row)
    del view["captures"]
    return view


def export_articles(
    session: Session, rows: Sequence[ArticleRecord], fmt: str, out: Path | None, progress: Progress
) -> int:
    """Write the articles' fields as JSON lines or CSV to `out` (None: stdout); return how many."""
    with _text_output(out) as stream:
        writer = _csv_writer(stream) if fmt == "csv" else None
        for done, row in enumerate(_with_captures(session, rows), 1):
            record = article_record(row)
            if writer is None:
                stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                if done == 1:
                    writer.writerow(record.keys())
                writer.writerow([csv_cell(name, value) for name, value in record.items()])
            if done % PROGRESS_EVERY == 0:
                progress(f"{done}/{len(rows)} articles")
    return len(rows)


def csv_cell(name: str, value: Any) -> str:
    """A CSV cell: the section as `articles --format csv` writes it (section_text); other lists
    and objects as JSON (a paragraph may hold `|` or `,`); None empty."""
    if value is None:
        return ""
    if name == "section":
        return section_text(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _csv_writer(stream: TextIO) -> Any:
    return csv.writer(stream, lineterminator="\n")


@contextmanager
def _text_output(out: Path | None) -> Iterator[TextIO]:
    """stdout, or a file written aside and renamed into place once complete."""
    if out is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    temp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temp, "x", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(temp, out)
    except OSError as error:
        raise ExportError(f"cannot write {out}: {error}") from error
    finally:
        temp.unlink(missing_ok=True)


def _with_captures(session: Session, rows: Sequence[ArticleRecord]) -> Iterator[ArticleRecord]:
    """`rows` in order, their captures loaded BATCH articles at a time, not one query each."""
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        with_captures(session, batch)
        yield from batch


# -- wacz ---------------------------------------------------------------------------------


@dataclass
class Selection:
    """The records chosen for a package, by record id, and the articles' pages."""

    records: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # id -> file, at, len
    pictures: set[str] = field(default_factory=set)  # picture URLs
    pages: list[Page] = field(default_factory=list)

    def add(self, record_id: str, filename: str, offset: int, length: int) -> None:
        self.records.setdefault(record_id, (filename, offset, length))


def export_wacz(
    session: Session,
    rows: Sequence[ArticleRecord],
    warc_dir: Path,
    out: Path,
    filters: str,
    progress: Progress,
    stored: StoredCopies | None = None,
) -> WaczSummary:
    """Package the articles' records from `warc_dir` into the WACZ file `out` (with `stored`,
    from the object store's copies of the files `warc_dir` lacks)."""
    selection = Selection()
    for done, row in enumerate(_with_captures(session, rows), 1):
        _choose_article(selection, row)
        if done % PROGRESS_EVERY == 0:
            progress(f"{done}/{len(rows)} articles chosen")
    _choose_pictures(session, selection)
    _follow_revisits(session, selection)
    spans = _spans(selection, warc_dir, progress, stored)
    return write_wacz(
        out,
        spans,
        selection.pages,
        title=f"cppcc-archive: {len(rows)} articles, {filters}",
        description=f"Articles archived by cppcc-archive, exported with `export wacz {filters}`.",
    )


def _choose_article(selection: Selection, row: ArticleRecord) -> None:
    for capture in row.captures:
        selection.add(
            capture.record_id, capture.warc_filename, capture.warc_offset, capture.warc_length
        )
    first_pages = [capture for capture in row.captures if capture.page_number == 1]
    if first_pages:
        latest = max(first_pages, key=lambda capture: (capture.fetched_at, capture.id))
        selection.pages.append(
            Page(url=latest.url, ts=latest.fetched_at, title=row.title, id=str(row.id))
        )
    selection.pictures.update(image["url"] for image in row.images if image.get("url"))


def _choose_pictures(session: Session, selection: Selection) -> None:
    """The latest record (response or revisit) of each picture URL."""
    latest: dict[str, ArchivedRecord] = {}
    for record in records_with_urls(session, sorted(selection.pictures)):
        kept = latest.get(record.url)
        if kept is None or (record.fetched_at, record.id) > (kept.fetched_at, kept.id):
            latest[record.url] = record
    for record in latest.values():
        selection.add(record.record_id, record.warc_filename, record.warc_offset,
                      record.warc_length)  # fmt: skip


def _follow_revisits(session: Session, selection: Selection) -> None:
    """Add the records the chosen revisits refer to, and theirs, until none is missing."""
    pending = set(selection.records)
    while pending:
        found = records_with_ids(session, sorted(pending))
        pending = set()
        for record in found:
            selection.add(record.record_id, record.warc_filename, record.warc_offset,
                          record.warc_length)  # fmt: skip
            if record.refers_to and record.refers_to not in selection.records:
                pending.add(record.refers_to)


def _spans(
    selection: Selection, warc_dir: Path, progress: Progress, stored: StoredCopies | None
) -> list[RecordSpan]:
    """The chosen records, plus the requests and metadata records about them, as spans.

    Requests and metadata are found by reading each file holding a chosen record once, and
    its writer's next file: a metadata record is written after the article's last page, and
    the file may have been rotated in between.
    """
    paths = _existing_paths(warc_dir) if stored is None or warc_dir.is_dir() else {}
    if stored is not None:
        for name in stored.names():
            if name not in paths:
                paths[name] = _Fetched(stored, name)  # downloaded when first read
    spans = {RecordSpan(_path(paths, warc_dir, name), at, size)
             for name, at, size in selection.records.values()}  # fmt: skip
    files = sorted({name for name, _, _ in selection.records.values()})
    following = _successors(paths)
    scanned = sorted({*files, *(following[name] for name in files if name in following)})
    wanted = set(selection.records)
    for number, name in enumerate(scanned, 1):
        progress(f"reading {name} ({number}/{len(scanned)}) for requests and metadata")
        spans.update(_related(_path(paths, warc_dir, name), wanted))
    return sorted(spans)


def _related(path: Path, wanted: set[str]) -> Iterator[RecordSpan]:
    """The request records concurrent to, and metadata records about, `wanted` records."""
    try:
        for item in scan_warc(path, keep_blocks=False):
            if isinstance(item, Damage):
                raise ExportError(
                    f"{path}: cannot be read to its end: {item.detail}; check it with "
                    f"`cppcc-archive verify`"
                )
            about = item.fields.get(_ABOUT.get(item.record_type, ""))
            if about in wanted:
                location = item.location
                yield RecordSpan(path, location.offset, location.length)
    except FileNotFoundError:
        raise ExportError(f"WARC file {path} is missing (moved or deleted?)") from None
    except OSError as error:
        raise ExportError(f"{path}: cannot be read to its end: {error}") from error


# The field naming the record a request or metadata record is about.
_ABOUT = {"request": "WARC-Concurrent-To", "metadata": "WARC-Refers-To"}


def _existing_paths(warc_dir: Path) -> dict[str, Path | _Fetched]:
    """Every WARC file of the folder by its closed name (a file still `.open` under its own)."""
    if not warc_dir.is_dir():
        raise ExportError(f"no WARC folder {warc_dir}; check --home (or CPPCC_ARCHIVE_HOME)")
    paths: dict[str, Path | _Fetched] = {p.name: p for p in warc_dir.glob(f"*{WARC_SUFFIX}")}
    for path in warc_dir.glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}"):
        # A crawl running now: its records up to the catalogue's are complete already.
        paths.setdefault(path.name.removesuffix(OPEN_SUFFIX), path)
    return paths


class _Fetched:
    """A stored file this machine has no copy of: downloaded when its path is first asked."""

    def __init__(self, stored: StoredCopies, name: str) -> None:
        self.stored, self.name = stored, name


def _path(paths: dict[str, Path | _Fetched], warc_dir: Path, name: str) -> Path:
    found = paths.get(name, warc_dir / name)  # a missing file is reported when it is read
    if isinstance(found, _Fetched):
        found = paths[name] = found.stored.path(name)
    return found


def _successors(paths: Iterable[str]) -> dict[str, str]:
    """Each file name -> the name of the file its writer opened next, when both are here."""
    by_key: dict[tuple[str, int, str, int], str] = {}
    for name in paths:
        parts = parse_warc_filename(name)
        if parts is not None:
            by_key[(parts.prefix, parts.pid, parts.hostname, parts.serial)] = name
    return {
        name: by_key[(prefix, pid, host, serial + 1)]
        for (prefix, pid, host, serial), name in by_key.items()
        if (prefix, pid, host, serial + 1) in by_key
    }
