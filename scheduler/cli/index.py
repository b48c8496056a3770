"""`cppcc-archive index`: bring the CDXJ indexes in HOME/indexes up to date with HOME/warc.

Command line:

    cppcc-archive index [--storage URL] [--format text|json]

    --storage URL   also the stored WARC files this host has no copy of: each one without an
                    index here is downloaded, indexed and removed (pipelines/archive/
                    stored_index.py), so a web host's pywb replays it from the store
    --format text   (default) one summary line, then one line per `.open` file skipped and
                    per WARC file that could not be indexed
    --format json   the report as one JSON object (`IndexReport.as_json`)

Exit status 0 when every closed WARC file has a current index, 1 otherwise (a file could not
be indexed, or the WARC folder is missing; with storage, a missing folder is one with no
files). `.open` files are skipped and do not fail the run.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pipelines.errors import CppccArchiveError, UsageError
from pipelines.home import ArchiveHome
from pipelines.storage.url import storage_url_from
from scheduler.cli.storage import add_storage, apply_storage
from scheduler.cli.support import EXIT_FAILED, EXIT_OK, Config, add_format, print_report

if TYPE_CHECKING:
    from pipelines.storage.url import StorageUrl
    from pipelines.warc.cdxj import IndexReport

NAME = "index"
HELP = (
    "write the CDXJ index (for pywb, ReplayWeb.page) of every closed WARC file in "
    "HOME/warc that lacks an up-to-date one, into HOME/indexes; crawls index each file "
    "as they close it"
)


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `index`."""
    add_format(sub, "text", "json")
    add_storage(
        sub,
        "the stored files this host has no copy of are indexed too (each downloaded, indexed "
        "and removed), for replay from the store",
    )


def run(config: Config, args: argparse.Namespace) -> int:
    """Index the archive's closed WARC files; exit 1 when one could not be read."""
    apply_storage(args)
    storage = storage_url_from(os.environ)
    if storage is None and not config.archive.warc.is_dir():  # a usage error, as for verify
        raise UsageError(f"no WARC folder {config.archive.warc}: point --home at an archive")
    return index_home(config.home, None, args.format, sys.stdout, sys.stderr, storage)


def index_home(
    home: Path,
    warc_dirs: list[Path] | None,
    fmt: str,
    out: TextIO,
    err: TextIO,
    storage: StorageUrl | None = None,
) -> int:
    """Index the closed WARC files of `warc_dirs` (default HOME/warc) into HOME/indexes, and
    with `storage` the stored ones besides."""
    # The CDXJ indexer (and pyamf with it): imported when the command runs, not for --help.
    from pipelines.warc.cdxj import index_archive

    archive = ArchiveHome(home)
    try:
        if storage is None:
            report = index_archive(warc_dirs or [archive.warc], archive.indexes)
        else:
            report = _index_with_storage(archive, storage)
    except CppccArchiveError as error:
        print(f"cppcc-archive: error: {error}", file=err)
        return error.exit_code
    print_report(report.as_json(), report_lines(report), fmt, out)
    return EXIT_FAILED if report.failed else EXIT_OK


def _index_with_storage(archive: ArchiveHome, storage: StorageUrl) -> IndexReport:
    # boto3 is loaded only here, when a store is named.
    from pipelines.archive.stored_index import index_with_store
    from pipelines.storage.opening import open_store
    from pipelines.storage.url import ENDPOINT_ENV

    store = open_store(storage, os.environ.get(ENDPOINT_ENV) or None)
    return index_with_store(archive.warc, archive.indexes, store)


def report_lines(report: IndexReport) -> Iterator[str]:
    """One summary line, then what needs a person: `.open` files and failures."""
    yield summary(report)
    for name in report.open_skipped:
        yield (
            f"skipped {name}: still open (being written, or left by a crawl that stopped); "
            "once no crawl is running, run `cppcc-archive verify --repair`, then index again"
        )
    for name, error in report.failed.items():
        yield f"failed: {name}: {error}"


def summary(report: IndexReport) -> str:
    indexed = _count(len(report.indexed), "WARC file", "indexed")
    if report.storage is not None:
        indexed += f" ({len(report.downloaded)} downloaded from {report.storage})"
    counts = (
        indexed,
        f"{len(report.up_to_date)} up to date",
        _count(len(report.open_skipped), "open file", "skipped"),
        _count(len(report.stale_removed), "stale index", "removed", plural="stale indexes"),
        f"{len(report.failed)} failed",
    )
    return f"index {report.index_dir}: " + ", ".join(counts)


def _count(number: int, noun: str, verb: str, plural: str = "") -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'} {verb}"
