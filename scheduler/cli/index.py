"""`cppcc-archive index`: bring the CDXJ indexes in HOME/indexes up to date with HOME/warc.

Command line:

    cppcc-archive index [--format text|json]

    --format text   (default) one summary line, then one line per `.open` file skipped and
                    per WARC file that could not be indexed
    --format json   the report as one JSON object (`IndexReport.as_json`)

Exit status 0 when every closed WARC file has a current index, 1 otherwise (a file could not
be indexed, or the WARC folder is missing). `.open` files are skipped and do not fail the run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pipelines.errors import CppccArchiveError, UsageError
from pipelines.home import ArchiveHome
from scheduler.cli.support import EXIT_FAILED, EXIT_OK, Config, add_format, print_report

if TYPE_CHECKING:
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


def run(config: Config, args: argparse.Namespace) -> int:
    """Index the archive's closed WARC files; exit 1 when one could not be read."""
    if not config.archive.warc.is_dir():  # a usage error, as for verify and reindex
        raise UsageError(f"no WARC folder {config.archive.warc}: point --home at an archive")
    return index_home(config.home, None, args.format, sys.stdout, sys.stderr)


def index_home(home: Path, warc_dirs: list[Path] | None, fmt: str, out: TextIO, err: TextIO) -> int:
    """Index the closed WARC files of `warc_dirs` (default HOME/warc) into HOME/indexes."""
    # The CDXJ indexer (and pyamf with it): imported when the command runs, not for --help.
    from pipelines.warc.cdxj import index_archive

    archive = ArchiveHome(home)
    try:
        report = index_archive(warc_dirs or [archive.warc], archive.indexes)
    except CppccArchiveError as error:
        print(f"cppcc-archive: error: {error}", file=err)
        return error.exit_code
    print_report(report.as_json(), report_lines(report), fmt, out)
    return EXIT_FAILED if report.failed else EXIT_OK


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
    counts = (
        _count(len(report.indexed), "WARC file", "indexed"),
        f"{len(report.up_to_date)} up to date",
        _count(len(report.open_skipped), "open file", "skipped"),
        _count(len(report.stale_removed), "stale index", "removed", plural="stale indexes"),
        f"{len(report.failed)} failed",
    )
    return f"index {report.index_dir}: " + ", ".join(counts)


def _count(number: int, noun: str, verb: str, plural: str = "") -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'} {verb}"
