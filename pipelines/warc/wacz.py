"""Package chosen WARC records as a WACZ 1.1.1 file, the kind pywb and ReplayWeb.page replay.

The package holds one WARC file, `archive/data.warc.gz`: the warcinfo record of each source
file, then the chosen records, each the gzip member it was in its source file, byte for byte
(so digests, record ids and `WARC-Warcinfo-ID` links stay what the crawl wrote). Its index is
made by cdxj-indexer as a ZipNum CDXJ: `indexes/index.cdx.gz` (blocks of lines, each its own
gzip member) with `indexes/index.idx`, the block list ReplayWeb.page binary-searches; pywb's
`wb-manager add --unpack-wacz` reads the `.cdx.gz` whole. This is the layout py-wacz writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from cdxj_indexer.main import CDXJIndexer
from warcio.exceptions import ArchiveLoadFailed

from pipelines.errors import CppccArchiveError
from pipelines.warc.naming import software_name
from pipelines.warc.scan import Damage, scan_warc

WACZ_VERSION = "1.1.1"
WARC_PATH = "archive/data.warc.gz"
INDEX_PATH = "indexes/index.cdx.gz"
IDX_PATH = "indexes/index.idx"
PAGES_PATH = "pages/pages.jsonl"
DATAPACKAGE, DIGEST = "datapackage.json", "datapackage-digest.json"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20  # bytes copied at a time


class WaczError(CppccArchiveError):
    """A WACZ package could not be written: a record is not where it should be, or disk trouble."""


@dataclass(frozen=True, order=True)
class RecordSpan:
    """One record of a WARC file: the gzip member at `offset`, `length` bytes long."""

    path: Path
    offset: int
    length: int


@dataclass(frozen=True)
class Page:
    """An entry of pages.jsonl: a page to open the archive at, with its capture time."""

    url: str
    ts: datetime  # timezone-aware; written as RFC 3339 UTC
    title: str
    id: str | None = None


@dataclass(frozen=True)
class WaczSummary:
    """What went into a package."""

    path: Path
    records: int  # warcinfo records included
    warc_bytes: int
    pages: int


def write_wacz(
    out: Path,
    spans: Iterable[RecordSpan],
    pages: Sequence[Page],
    *,
    title: str,
    description: str | None = None,
    created: datetime | None = None,
) -> WaczSummary:
    """Write the WACZ package of `spans` and `pages` to `out`, replacing any file there.

    Records are written in (source file, offset) order, so a response stays followed by its
    request. The package is built beside `out` and renamed into place when complete: a
    failure leaves no file at `out`, nor half of one.
    """
    out = Path(out)
    chosen = sorted(set(spans))
    if not chosen:
        raise WaczError(f"nothing to package into {out}: no WARC records were chosen")
    created = created or datetime.now(UTC)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as error:
        raise WaczError(f"cannot write {out}: {error}; check that its folder exists") from error
    try:
        warc = staging / "data.warc.gz"
        records = _copy_records(_with_warcinfo(chosen), warc)
        index, idx = staging / "index.cdx.gz", staging / "index.idx"
        _index(warc, index, idx)
        pages_bytes = pages_jsonl(pages)
        _zip(out, [(WARC_PATH, warc), (INDEX_PATH, index), (IDX_PATH, idx)], pages_bytes,
             title=title, description=description, created=created)  # fmt: skip
        return WaczSummary(out, records, warc.stat().st_size, len(pages))
    except OSError as error:
        raise WaczError(f"cannot write {out}: {error}; check the free space beside it") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def pages_jsonl(pages: Sequence[Page]) -> bytes:
    """pages/pages.jsonl: the header line, then one line per page."""
    lines = [json.dumps(PAGES_HEADER)]
    for page in pages:
        entry: dict[str, Any] = {"url": page.url, "ts": rfc3339(page.ts), "title": page.title}
        if page.id is not None:
            entry = {"id": page.id, **entry}
        lines.append(json.dumps(entry, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def rfc3339(moment: datetime) -> str:
    """`2024-05-01T02:03:04Z`: UTC, to the second, as CDXJ timestamps are."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_warcinfo(spans: list[RecordSpan]) -> list[RecordSpan]:
    """The warcinfo record opening each source file, then `spans` (sorted, no repeats)."""
    infos = [_warcinfo_span(path) for path in dict.fromkeys(span.path for span in spans)]
    heads = [info for info in infos if info is not None and info not in spans]
    return heads + spans


def _warcinfo_span(path: Path) -> RecordSpan | None:
    try:
        with closing(scan_warc(path, keep_blocks=False)) as items:
            first = next(items, None)
    except OSError as error:
        raise WaczError(f"{path}: cannot read its first record: {error}") from error
    if isinstance(first, Damage):
        raise WaczError(f"{path}: cannot read its first record: {first.detail}")
    if first is None or first.record_type != "warcinfo":
        return None
    return RecordSpan(path, first.location.offset, first.location.length)


def _copy_records(spans: Sequence[RecordSpan], target: Path) -> int:
    """Append each span's bytes to `target`; WaczError when one is not a whole gzip member."""
    sources: dict[Path, BinaryIO] = {}
    try:
        with target.open("xb") as out:
            for span in spans:
                source = sources.get(span.path)
                if source is None:
                    source = sources[span.path] = _open_source(span.path)
                _copy_span(source, span, out)
    finally:
        for source in sources.values():
            source.close()
    return len(spans)


def _open_source(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise WaczError(f"WARC file {path} is missing (moved or deleted?)") from None


def _copy_span(source: BinaryIO, span: RecordSpan, out: BinaryIO) -> None:
    source.seek(span.offset)
    left, first = span.length, True
    while left > 0:
        chunk = source.read(min(left, CHUNK))
        if not chunk or (first and not chunk.startswith(GZIP_MAGIC)):
            raise WaczError(
                f"{span.path}: no gzip member of {span.length} bytes at offset {span.offset}; "
                "the catalogue and the WARC file disagree (`warcio check` the file)"
            )
        out.write(chunk)
        left -= len(chunk)
        first = False


def _index(warc: Path, index: Path, idx: Path) -> None:
    """The ZipNum CDXJ of `warc`: sorted lines in gzip blocks (`index`) and their list (`idx`)."""
    try:
        with index.open("xb") as blocks:
            indexer = CDXJIndexer(
                os.fspath(idx),
                [os.fspath(warc)],
                sort=True,
                compress=blocks,
                data_out_name=index.name,
                digest_records=True,
            )
            indexer.process_all()
    except (ArchiveLoadFailed, EOFError, zlib.error) as error:
        raise WaczError(f"cannot index the packaged WARC records: {error}") from error


def _zip(
    out: Path,
    files: Sequence[tuple[str, Path]],
    pages: bytes,
    *,
    title: str,
    description: str | None,
    created: datetime,
) -> None:
    """Write the ZIP aside, then rename it to `out`."""
    temp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    stamp = created.astimezone(UTC).timetuple()[:6]
    resources = []
    try:
        with zipfile.ZipFile(temp, "x", allowZip64=True) as package:
            for name, path in files:
                # Stored: the WARC and the .cdx.gz are gzip members already, and readers seek
                # into them by the offsets the indexes give; the .idx is small.
                package.write(path, name, compress_type=zipfile.ZIP_STORED)
                resources.append(_resource(name, _read_chunks(path)))
            package.writestr(_entry(PAGES_PATH, stamp), pages)
            resources.append(_resource(PAGES_PATH, [pages]))
            manifest = _datapackage(resources, title, description, created)
            package.writestr(_entry(DATAPACKAGE, stamp), manifest)
            package.writestr(_entry(DIGEST, stamp), _digest(manifest))
        with temp.open("rb") as written:
            os.fsync(written.fileno())  # the rename promises a whole package
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)  # gone already when the rename succeeded


def _entry(name: str, stamp: tuple[int, ...]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]  # a 6-tuple
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            yield chunk


def _resource(name: str, chunks: Iterable[bytes]) -> dict[str, Any]:
    """A datapackage resource: name, path in the ZIP, sha256 and size of the bytes."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return {
        "name": name.rsplit("/", 1)[-1],
        "path": name,
        "hash": f"sha256:{digest.hexdigest()}",
        "bytes": size,
    }


def _datapackage(
    resources: list[dict[str, Any]], title: str, description: str | None, created: datetime
) -> bytes:
    package: dict[str, Any] = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": title,
        "created": rfc3339(created),
        "software": software_name(),
        "resources": resources,
    }
    if description:
        package["description"] = description
    return json.dumps(package, ensure_ascii=False, indent=2).encode("utf-8")


def _digest(manifest: bytes) -> bytes:
    digest = {"path": DATAPACKAGE, "hash": f"sha256:{hashlib.sha256(manifest).hexdigest()}"}
    return json.dumps(digest, indent=2).encode("utf-8")
