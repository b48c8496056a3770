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
from scheduler.cli.storage import add_storage, apply_storage
from scheduler.cli.support import (
    EXIT_FAILED,
    EXIT_OK,
    Config,
    add_format,
    print_report,
)

if TYPE_CHECKING:
    from pipelines.archive.reindex import ReindexReport
    from pipelines.storage.store import ObjectStore

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
    add_storage(
        sub,
        "without WARC_DIR_OR_FILE, its objects are read (and the local files it lacks), and "
        "recorded as committed",
    )


def run(config: Config, args: argparse.Namespace) -> int:
    """Catalogue what the WARC files hold; exit 1 when a file could not be read to its end."""
    # SQLAlchemy, Alembic, warcio, the normaliser: imported when the command runs, not for
    # --help.
    from pipelines.archive.reindex import ReindexReport, reindex, warc_files
    from pipelines.archive.spans import sigterm_interrupts
    from pipelines.catalogue.engine import make_engine, make_session_factory
    from pipelines.catalogue.schema import ensure_schema
    from pipelines.catalogue.writes import upsert_site_channels
    from scheduler.run_storage import configured_store

    apply_storage(args)
    store = configured_store()
    if store is not None and not args.warc_paths:
        return _reindex_stored(config, args, store)
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


def _reindex_stored(config: Config, args: argparse.Namespace, store: ObjectStore) -> int:
    """Reindex from the object store's files (and the home's files it lacks), recording
    each stored file as committed with the size and SHA-256 read."""
    from pipelines.archive.reindex import ReindexReport, reindex, warc_files
    from pipelines.archive.spans import sigterm_interrupts
    from pipelines.archive.stored_copies import StoredCopies
    from pipelines.catalogue.engine import make_engine, make_session_factory
    from pipelines.catalogue.schema import ensure_schema
    from pipelines.catalogue.warc_files import record_stored
    from pipelines.catalogue.writes import upsert_site_channels

    seeds = config.seeds()
    report = ReindexReport()
    engine = make_engine(config.catalogue_url())
    try:
        ensure_schema(engine)
        sessions = make_session_factory(engine)
        with StoredCopies(store) as copies, sigterm_interrupts():
            names = copies.names()
            local = (
                warc_files([config.archive.warc], report) if config.archive.warc.is_dir() else []
            )
            files = [copies.path(name) for name in names]
            files += [path for path in local if path.name not in set(names)]
            with sessions.begin() as session:
                upsert_site_channels(session, site_rows(seeds))
            reindex(sessions, sorted(files, key=lambda p: p.name), seeds, report, _progress,
                    jobs=args.jobs)  # fmt: skip
            with sessions.begin() as session:
                for name, digest in copies.digests.items():
                    record_stored(session, name, digest.size, digest.sha256,
                                  store.url.object_url(name))  # fmt: skip
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
