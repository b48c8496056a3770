"""`cppcc-archive reindex`: rebuild the catalogue from the WARC files alone."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import UsageError
from pipelines.seeds import site_rows
from pipelines.warc.naming import WARC_SUFFIX
from scheduler.cli.jobs import add_jobs
from scheduler.cli.support import (
    EXIT_FAILED,
    EXIT_OK,
    Config,
    add_format,
    print_report,
)

if TYPE_CHECKING:
    from pipelines.archive.reindex import ReindexReport

NAME = "reindex"
HELP = (
    "rebuild the catalogue from WARC files alone (records, articles and their versions, "
    "rejected pages); safe to run on a catalogue that has them already"
)


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `reindex`."""
    sub.add_argument(
        "warc_paths",
        nargs="*",
        type=Path,
        metavar="WARC_DIR_OR_FILE",
        help="folders of WARC files, or .warc.gz files, to read (default: HOME/warc)",
    )
    add_format(sub, "text", "json")
    add_jobs(sub, "read the WARC files")


def run(config: Config, args: argparse.Namespace) -> int:
    """Catalogue what the WARC files hold; exit 1 when a file could not be read to its end."""
    # SQLAlchemy, Alembic, warcio, the normaliser: imported when the command runs, not for
    # --help.
    from pipelines.archive.reindex import ReindexReport, reindex, warc_files
    from pipelines.archive.spans import sigterm_interrupts
    from pipelines.catalogue.engine import make_engine, make_session_factory
    from pipelines.catalogue.schema import ensure_schema
    from pipelines.catalogue.writes import upsert_site_channels

    seeds = config.seeds()
    paths = args.warc_paths or [config.archive.warc]
    for path in paths:
        if not path.is_dir() and not (path.is_file() and path.name.endswith(WARC_SUFFIX)):
            raise UsageError(
                f"no WARC folder {path}: name folders of .warc.gz files, or such files"
            )
    report = ReindexReport()
    files = warc_files(paths, report)
    engine = make_engine(config.catalogue_url())
    try:
        ensure_schema(engine)
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            upsert_site_channels(session, site_rows(seeds))
        with sigterm_interrupts():
            reindex(sessions, files, seeds, report, _progress, jobs=args.jobs)
    finally:
        engine.dispose()
    print_report(report.as_json(), report_lines(report), args.format, sys.stdout)
    return EXIT_FAILED if report.unreadable else EXIT_OK


def _progress(line: str) -> None:
    print(line, file=sys.stderr)


def report_lines(report: ReindexReport) -> Iterator[str]:
    """A summary line, and one line per file that needs a look."""
    yield report.summary()
    for name in report.open_files:
        yield f"skipped {name}: still open; `cppcc-archive verify --repair` closes it"
    for problem in report.unreadable:
        yield f"damaged, not read: {problem}"
