"""`cppcc-archive export`: chosen articles as a WACZ package, or their fields as JSON lines or CSV.

Command line (registered in scheduler/cli.py by `add_export`):

    cppcc-archive export wacz|jsonl|csv [--site S] [--channel C] [--since DATE] [--until DATE]
                         [--force] OUT

A WACZ holds, for each article, every capture of every page (responses and revisits), the
records those revisits stand for (followed through the catalogue's `records` table), the
request record of each, the `metadata` records about them (a 304's head, the article's
normalised fields) and the latest capture of each of its pictures. `jsonl` and `csv` hold the
articles' normalised fields, as `show --format json` prints them without the captures; OUT
may then be `-` for stdout. Exit 1 when no article matches; 2 when OUT exists (without
`--force`) or a WACZ is asked for on stdout.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from pipelines.catalogue.models import ArchivedRecord, ArticleRecord
from pipelines.catalogue.queries import list_articles
from pipelines.catalogue.views import article_view
from pipelines.errors import CppccArchiveError, UsageError
from pipelines.warc.naming import OPEN_SUFFIX, WARC_SUFFIX, parse_warc_filename
from pipelines.warc.wacz import Page, RecordSpan, WaczSummary, write_wacz

if TYPE_CHECKING:
    import argparse

    from scheduler.cli_support import Config

FORMATS = ("wacz", "jsonl", "csv")
PROGRESS_EVERY = 200  # articles between two progress lines
BATCH = 200  # articles whose captures are loaded at once
IN_CHUNK = 500  # values per SQL IN (…), well under every back end's parameter limit
EXIT_OK = 0


class NothingToExport(CppccArchiveError):
    """No catalogued article matches the filters."""


class ExportError(CppccArchiveError):
    """The export could not be written or its WARC records could not be read."""


Progress = Callable[[str], None]


# -- the command line ---------------------------------------------------------------------


def add_export(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register `export FORMAT [filters] [--force] OUT` on the `cppcc-archive` parser."""
    from scheduler.cli_support import add_command, date_arg  # cli registers us: import it late

    sub = add_command(
        commands,
        common,
        "export",
        "write the matching articles as a WACZ package (their captures, pictures and "
        "metadata records, replayable in pywb and ReplayWeb.page), or as JSON lines or CSV",
        cmd_export,
    )
    sub.add_argument("format", choices=FORMATS, metavar="FORMAT", help="wacz, jsonl or csv")
    sub.add_argument("out", metavar="OUT", help="file to write; `-` for stdout (jsonl, csv)")
    sub.add_argument("--site", help="only this site (seeds key, e.g. rmzxb)")
    sub.add_argument("--channel", help="only this channel (seeds key, e.g. yw)")
    sub.add_argument("--since", type=date_arg, metavar="DATE", help="published on or after DATE")
    sub.add_argument("--until", type=date_arg, metavar="DATE", help="published on or before DATE")
    sub.add_argument("--force", action="store_true", help="replace OUT if it exists")


def cmd_export(config: Config, args: argparse.Namespace) -> int:
    """Export the matching articles to OUT in FORMAT; a summary line on stderr."""
    from scheduler.cli_support import catalogue_session, check_site_channel

    out = _check_out(args.out, args.format, args.force)
    check_site_channel(config, args.site, args.channel)

    def progress(line: str) -> None:
        print(f"export: {line}", file=sys.stderr, flush=True)

    with catalogue_session(config) as session:
        rows = list_articles(
            session, site=args.site, channel=args.channel, since=args.since, until=args.until,
            limit=None,
        )  # fmt: skip
        if not rows:
            raise NothingToExport(
                f"no articles match {describe_filters(args)} in the catalogue "
                f"{config.catalogue_url()} (list them with `cppcc-archive articles`)"
            )
        if args.format == "wacz":
            assert out is not None
            summary = export_wacz(
                session, rows, config.home / "warc", out, describe_filters(args), progress
            )
            progress(
                f"wrote {summary.pages} articles ({summary.records} WARC records, "
                f"{summary.warc_bytes} bytes) to {out}"
            )
        else:
            count = export_articles(session, rows, args.format, out, progress)
            progress(f"wrote {count} articles to {out or 'stdout'}")
    return EXIT_OK


def describe_filters(args: argparse.Namespace) -> str:
    """The filters as options, e.g. `--channel yw --since 2024-05-01`; `(no filter)` for none."""
    given = [
        f"--{name} {getattr(args, name)}"
        for name in ("site", "channel", "since", "until")
        if getattr(args, name) is not None
    ]
    return " ".join(given) or "(no filter)"


def _check_out(given: str, fmt: str, force: bool) -> Path | None:
    """OUT as a path (None for stdout); UsageError when it cannot be written as asked."""
    if given == "-":
        if fmt == "wacz":
            raise UsageError("a WACZ package is a ZIP file and cannot go to stdout: name a file")
        return None
    out = Path(given)
    if out.is_dir():
        raise UsageError(f"{out} is a folder: name the file to write")
    if out.exists() and not force:
        raise UsageError(f"{out} exists: give another name, or --force to replace it")
    return out


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
                writer.writerow([csv_cell(value) for value in record.values()])
            if done % PROGRESS_EVERY == 0:
                progress(f"{done}/{len(rows)} articles")
    return len(rows)


def csv_cell(value: Any) -> str:
    """A CSV cell: lists and objects as JSON (a paragraph may hold `|` or `,`), None empty."""
    if value is None:
        return ""
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
        ids = [row.id for row in batch]
        # The rows are in the session already: this fills in their captures.
        query = select(ArticleRecord).where(ArticleRecord.id.in_(ids))
        session.scalars(query.options(selectinload(ArticleRecord.captures))).all()
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
) -> WaczSummary:
    """Package the articles' records from `warc_dir` into the WACZ file `out`."""
    selection = Selection()
    for done, row in enumerate(_with_captures(session, rows), 1):
        _choose_article(selection, row)
        if done % PROGRESS_EVERY == 0:
            progress(f"{done}/{len(rows)} articles chosen")
    _choose_pictures(session, selection)
    _follow_revisits(session, selection)
    spans = _spans(selection, warc_dir, progress)
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
    for chunk in _chunks(sorted(selection.pictures)):
        query = select(ArchivedRecord).where(ArchivedRecord.url.in_(chunk))
        for record in session.scalars(query):
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
        found: list[ArchivedRecord] = []
        for chunk in _chunks(sorted(pending)):
            query = select(ArchivedRecord).where(ArchivedRecord.record_id.in_(chunk))
            found += session.scalars(query)
        pending = set()
        for record in found:
            selection.add(record.record_id, record.warc_filename, record.warc_offset,
                          record.warc_length)  # fmt: skip
            if record.refers_to and record.refers_to not in selection.records:
                pending.add(record.refers_to)


def _spans(selection: Selection, warc_dir: Path, progress: Progress) -> list[RecordSpan]:
    """The chosen records, plus the requests and metadata records about them, as spans.

    Requests and metadata are found by reading each file holding a chosen record once, and
    its writer's next file: a metadata record is written after the article's last page, and
    the file may have been rotated in between.
    """
    paths = _existing_paths(warc_dir)
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
        with path.open("rb") as stream:
            records = ArchiveIterator(stream)
            for record in records:
                headers = record.rec_headers
                if record.rec_type == "request":
                    about = headers.get_header("WARC-Concurrent-To")
                elif record.rec_type == "metadata":
                    about = headers.get_header("WARC-Refers-To")
                else:
                    continue
                if about in wanted:
                    yield RecordSpan(path, records.get_record_offset(), records.get_record_length())
    except FileNotFoundError:
        raise ExportError(f"WARC file {path} is missing (moved or deleted?)") from None
    except (OSError, ArchiveLoadFailed, EOFError, zlib.error) as error:
        raise ExportError(
            f"{path}: cannot be read to its end: {error}; check it with `warcio check {path}`"
        ) from error


def _existing_paths(warc_dir: Path) -> dict[str, Path]:
    """Every WARC file of the folder by its closed name (a file still `.open` under its own)."""
    if not warc_dir.is_dir():
        raise ExportError(f"no WARC folder {warc_dir}; check --home (or CPPCC_ARCHIVE_HOME)")
    paths = {path.name: path for path in warc_dir.glob(f"*{WARC_SUFFIX}")}
    for path in warc_dir.glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}"):
        # A crawl running now: its records up to the catalogue's are complete already.
        paths.setdefault(path.name.removesuffix(OPEN_SUFFIX), path)
    return paths


def _path(paths: dict[str, Path], warc_dir: Path, name: str) -> Path:
    return paths.get(name, warc_dir / name)  # a missing file is reported when it is read


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


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


__all__ = [
    "FORMATS",
    "ExportError",
    "NothingToExport",
    "add_export",
    "article_record",
    "cmd_export",
    "csv_cell",
    "export_articles",
    "export_wacz",
]
