"""CDXJ indexes of closed WARC files, made by webrecorder's cdxj-indexer so pywb reads them."""

from __future__ import annotations

import json
import os
import re
import uuid
import zlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from warcio.exceptions import ArchiveLoadFailed

from pipelines.errors import CppccArchiveError
from pipelines.warc.naming import OPEN_SUFFIX, WARC_SUFFIX

# One index per WARC file, named after it: pywb reads every *.cdxj in a collection's index
# folder, and a file's index can be replaced or removed without touching the others'.
INDEX_SUFFIX = ".cdxj"

StrPath = str | os.PathLike[str]


class CdxjIndexError(CppccArchiveError):
    """A WARC file could not be indexed, or the folders to index are not there."""


@dataclass
class IndexReport:
    """What `index_archive` did, file names only: each list is sorted."""

    index_dir: Path
    indexed: list[str] = field(default_factory=list)  # WARC files (re)indexed now
    up_to_date: list[str] = field(default_factory=list)  # WARC files whose index was current
    open_skipped: list[str] = field(default_factory=list)  # `.open` files, not indexed
    stale_removed: list[str] = field(default_factory=list)  # indexes whose WARC file is gone
    failed: dict[str, str] = field(default_factory=dict)  # WARC file -> why it was not indexed
    storage: str | None = None  # the object store indexed too (its URL); None: local only
    downloaded: list[str] = field(default_factory=list)  # of `indexed`: read from the store

    def as_json(self) -> dict[str, Any]:
        return {
            "index_dir": str(self.index_dir),
            "indexed": self.indexed,
            "up_to_date": self.up_to_date,
            "open_skipped": self.open_skipped,
            "stale_removed": self.stale_removed,
            "failed": [{"file": name, "error": error} for name, error in self.failed.items()],
            "storage": self.storage,
            "downloaded": self.downloaded,
        }


def index_path(warc_path: StrPath, index_dir: StrPath) -> Path:
    """Where the index of `warc_path` goes: `index_dir/<WARC file name>.cdxj`."""
    return Path(index_dir) / (Path(warc_path).name + INDEX_SUFFIX)


def index_warc(warc_path: StrPath, index_dir: StrPath) -> Path:
    """Write the sorted CDXJ index of one closed WARC file into `index_dir`; return its path.

    The lines are exactly what `cdxj-indexer --sort <warc_path>` prints: the default fields
    and record types (response, revisit, resource, metadata other than warc-fields), the bare
    file name as `filename`. The index appears whole or not at all (written aside, then
    renamed), so pywb never reads half of one.
    """
    return _write_index(
        warc_path,
        index_dir,
        lambda out: _cdxj_indexer()(out, [os.fspath(warc_path)], sort=True).process_all(),
    )


def _cdxj_indexer() -> Any:
    # Imported when a file is read back: it brings pyamf and pkg_resources (0.2 s), which a
    # crawl writing its index lines as it goes, and every other command, can do without.
    from cdxj_indexer.main import CDXJIndexer

    return CDXJIndexer


def write_index(lines: Iterable[str], warc_path: StrPath, index_dir: StrPath) -> Path:
    """Write the index of a closed WARC file from its lines (`index_line`), sorted as
    `index_warc` sorts them; the same file, without reading the WARC file back."""
    return _write_index(warc_path, index_dir, lambda out: out.writelines(sorted(lines)))


def _write_index(warc_path: StrPath, index_dir: StrPath, write: Callable[[TextIO], Any]) -> Path:
    warc_path, target = Path(warc_path), index_path(warc_path, index_dir)
    # A name of its own, so two indexers never share one, ending in .tmp, which pywb (reading
    # only *.cdx and *.cdxj) skips; opened with the umask's mode, not mkstemp's 0600, so a pywb
    # running as another user can read the index.
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "x", encoding="utf-8", newline="\n") as out:
            write(out)
        os.replace(temp, target)
    except (ArchiveLoadFailed, OSError, EOFError, zlib.error) as error:
        raise CdxjIndexError(
            f"cannot index {warc_path} into {target.parent}: {error}; check the file with "
            f"`warcio check {warc_path}` and that the index folder is writable"
        ) from error
    finally:
        temp.unlink(missing_ok=True)  # gone already when the rename succeeded
    return target


# cdxj-indexer's `mime`: the Content-Type up to the first `;` or white space.
_MIME_END = re.compile(r"[;\s]")
# What warcio would read back as written: printable ASCII without surrounding white space.
_PLAIN = re.compile(r"[!-~](?:[ -~]*[!-~])?")


@dataclass(frozen=True)
class IndexedRecord:
    """What a CDXJ line says of a response or revisit record, known when it is written."""

    url: str
    date: datetime
    revisit: bool
    status: int | None  # None: a revisit without an HTTP head (a 304's)
    content_type: str | None  # the response's first Content-Type value
    payload_digest: str
    offset: int
    length: int


def index_line(record: IndexedRecord, filename: str) -> str | None:
    """The line cdxj-indexer prints for the record, from what the writer knows; None when
    the record is out of the plain case (then read the file back with `index_warc`)."""
    if not record.url.startswith(("http://", "https://")) or not _plain_url(record.url):
        return None
    if not record.payload_digest:
        return None  # cdxj-indexer would digest the payload itself
    if record.revisit:
        mime: str | None = "warc/revisit"
    elif record.content_type is None:
        mime = None
    elif record.content_type == "" or _PLAIN.fullmatch(record.content_type):
        mime = _MIME_END.split(record.content_type, 1)[0].strip() if record.content_type else ""
    else:
        return None  # surrounding white space or bytes beyond ASCII: warcio's reading decides
    fields: dict[str, str] = {"url": record.url}
    if mime is not None:
        fields["mime"] = mime
    if record.status is not None:
        fields["status"] = str(record.status)
    fields["digest"] = record.payload_digest
    fields["length"], fields["offset"] = str(record.length), str(record.offset)
    fields["filename"] = filename
    timestamp = record.date.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    return f"{_url_key(record.url)} {timestamp} {json.dumps(fields)}\n"


def _plain_url(url: str) -> bool:
    """A URL warcio reads back as written (UTF-8 beyond ASCII included)."""
    return url == url.strip() and not any(char in url for char in "\r\n\t ")


def _url_key(url: str) -> str:
    # cdxj-indexer's get_url_key. surt is imported here, by the crawl writing an index line:
    # it brings tldextract and requests (0.2 s), which the WARC writer's other users (the
    # command line's --help and --version among them) can do without.
    import surt

    try:
        return str(surt.surt(url))
    except Exception:  # as cdxj-indexer does: a URL surt cannot read is its own key
        return url


def index_archive(
    warc_dir: StrPath | Iterable[StrPath], index_dir: StrPath, kept: Collection[str] = ()
) -> IndexReport:
    """Bring the indexes in `index_dir` up to date with the WARC files in `warc_dir`.

    `warc_dir` is one folder or several sharing `index_dir`. A closed `*.warc.gz` is indexed
    when its index is missing or older than it; an `.open` file is skipped (it is being
    written, or was left by a crawl that stopped); an index whose WARC file is gone is removed,
    unless the file is named in `kept` (stored elsewhere: pywb reads it from there).
    A file that cannot be indexed is reported in `failed`, and the others are still indexed.
    """
    report = IndexReport(Path(index_dir))
    warcs = _closed_warcs(_folders(warc_dir), report)
    for name, path in sorted(warcs.items()):
        if _is_current(path, index_path(path, index_dir)):
            report.up_to_date.append(name)
            continue
        try:
            index_warc(path, index_dir)
        except CdxjIndexError as error:
            report.failed[name] = str(error)
        else:
            report.indexed.append(name)
    report.stale_removed = _remove_stale(Path(index_dir), set(warcs) | set(kept))
    return report


def _folders(warc_dir: StrPath | Iterable[StrPath]) -> list[Path]:
    if isinstance(warc_dir, str | os.PathLike):
        warc_dir = [warc_dir]
    folders = [Path(folder) for folder in warc_dir]
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:
        # Not "no WARC files": that would remove every index of a folder that is only unmounted.
        raise CdxjIndexError(
            f"no WARC folder {', '.join(missing)}; check --home (or CPPCC_ARCHIVE_HOME)"
        )
    return folders


def _closed_warcs(folders: Iterable[Path], report: IndexReport) -> dict[str, Path]:
    """Every closed WARC file by name; `.open` ones go to the report instead."""
    warcs: dict[str, Path] = {}
    for folder in folders:
        report.open_skipped += sorted(p.name for p in folder.glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}"))
        for path in sorted(folder.glob(f"*{WARC_SUFFIX}")):
            if path.name in warcs:  # the index's `filename` field could not tell them apart
                report.failed[path.name] = f"{path} has the name of {warcs[path.name]}"
            elif path.is_file():
                warcs[path.name] = path
    return warcs


def _is_current(warc_path: Path, index: Path) -> bool:
    try:
        return index.stat().st_mtime_ns >= warc_path.stat().st_mtime_ns
    except FileNotFoundError:
        return False


def _remove_stale(index_dir: Path, warc_names: set[str]) -> list[str]:
    """Remove the indexes in `index_dir` of WARC files not in `warc_names`; return their names."""
    removed = []
    for index in sorted(index_dir.glob(f"*{WARC_SUFFIX}{INDEX_SUFFIX}")):
        if index.name.removesuffix(INDEX_SUFFIX) not in warc_names:
            index.unlink(missing_ok=True)
            removed.append(index.name)
    return removed
