"""What `reindex` needs of each WARC record, read on several processes, in file order.

Decompressing, parsing the WARC and HTTP heads and the metadata records is most of a rebuild's
reading; it is done span by span (pipelines/archive/spans.py) on worker processes, which send
back only what the catalogue is built from: locations, validators, parsed metadata, damage.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.archive.spans import Span, item_end, read_by_file
from pipelines.metadata import ArchivedArticle, parse_fields
from pipelines.normalise.urls import seeded_article_site
from pipelines.seeds import Site
from pipelines.warc.location import RecordLocation
from pipelines.warc.records import parse_not_modified
from pipelines.warc.scan import Damage, ScannedRecord, scan_warc

Validators = tuple[str | None, str | None]  # ETag, Last-Modified


@dataclass(frozen=True)
class Response:
    """A response or revisit record; `article_site` when it is a 200 of a seeded article URL."""

    location: RecordLocation
    validators: Validators
    article_site: str | None


@dataclass(frozen=True)
class Described:
    """A metadata record of ours: an article or a rejection, and the pages it names."""

    location: RecordLocation
    meta: ArchivedArticle


@dataclass(frozen=True)
class NotModified:
    """A metadata record keeping a 304's status and headers, beside its revisit."""

    location: RecordLocation
    status: int
    validators: Validators


@dataclass(frozen=True)
class Unreadable:
    """Damaged bytes, a garbled metadata record, or a file that cannot be read: `where` is
    ':offset', or '' for the whole file."""

    where: str
    detail: str


Read = Response | Described | NotModified | Unreadable


@dataclass
class SpanRead:
    """What one span gave: its records counted, what is kept of them, where it stopped."""

    records: int = 0
    items: list[Read] = field(default_factory=list)
    reached: int = 0  # the end of its last item; -1 when the file could not be read on
    failed: bool = False  # the file could not be read on: later spans are not read


@dataclass(frozen=True)
class FileRead:
    """What one file gave, read whole or span by span."""

    records: int
    items: list[Read]


_sites: tuple[Site, ...] = ()  # the seeded sites, set in each process before it reads


def read_files(
    files: Sequence[Path], sites: Sequence[Site], jobs: int | None
) -> Iterator[tuple[Path, FileRead]]:
    """Each file and what it gives, in order, read on `jobs` processes."""
    for path, parts in read_by_file(files, read_span, jobs, _set_sites, (tuple(sites),)):
        yield path, _joined(path, parts)


def _set_sites(sites: tuple[Site, ...]) -> None:
    global _sites
    _sites = sites


def _joined(path: Path, parts: list[tuple[Span, SpanRead]]) -> FileRead:
    """The file's spans put together; the file read again whole in the (never seen) case
    where a span's last item ran past the start of the next one."""
    for (_, read), (after, _) in itertools.pairwise(parts):
        if read.failed:
            break
        if read.reached != after.start:
            whole = read_span(Span(path, 0, path.stat().st_size))
            return FileRead(whole.records, whole.items)
    records, items = 0, []
    for _, read in parts:
        records += read.records
        items += read.items
        if read.failed:
            break
    return FileRead(records, items)


def read_span(span: Span) -> SpanRead:
    """What the records of `span` give (with the seeds `_set_sites` set in this process)."""
    read = SpanRead(reached=span.start)
    try:
        for item in scan_warc(span.path, start=span.start, stop=span.stop):
            read.reached = item_end(item, span.stop)
            if isinstance(item, Damage):
                # One damaged member costs its own record: the scan goes on after it.
                read.items.append(Unreadable(f":{item.offset}", item.detail))
                continue
            read.records += 1
            kept = _kept(item)
            if kept is not None:
                read.items.append(kept)
    except OSError as exc:
        read.items.append(Unreadable("", f"cannot be read: {exc}"))
        read.failed = True
    return read


def _kept(record: ScannedRecord) -> Read | None:
    location = record.location
    if record.record_type in ("response", "revisit"):
        site = None
        if record.record_type == "response" and record.http_status == 200:
            # List pages, pictures, robots.txt are never articles.
            site = seeded_article_site(location.url, _sites)
        return Response(location, _validators(record.http_headers), site)
    if record.record_type != "metadata":
        return None
    try:
        meta = parse_fields(record.block)
    except (ValueError, KeyError, TypeError) as exc:
        # One garbled record costs its article, not the rest of the file.
        return Unreadable(f":{location.offset}", str(exc))
    if meta is not None:
        return Described(location, meta)
    not_modified = parse_not_modified(record.block)
    if not_modified is None:
        return None
    status, headers = not_modified
    return NotModified(location, status, _validators(headers))


def _validators(http_headers: Sequence[tuple[str, str]]) -> Validators:
    headers = {name.lower(): value for name, value in http_headers}
    return headers.get("etag"), headers.get("last-modified")
