"""`cppcc-archive reindex`: rebuild the catalogue from the WARC files alone."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
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
    from sqlalchemy.orm import Session

    from pipelines.archive.reindex import ReindexReport
    from pipelines.seeds import Seeds
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
    from pipelines.archive.reindex import ReindexReport, warc_files
    from pipelines.archive.spans import sigterm_interrupts
    from scheduler.run_storage import configured_store

    apply_storage(args)
    store = configured_store()
    seeds = config.seeds()
    report = ReindexReport()
    if store is not None and not args.warc_paths:
        with sigterm_interrupts():
            _reindex_stored(config, args, seeds, store, report)
    else:
        paths = args.warc_paths or [config.archive.warc]
        for path in paths:
            if not path.is_dir() and not (path.is_file() and path.name.endswith(WARC_SUFFIX)):
                raise UsageError(
                    f"no WARC folder {path}: name folders of .warc.gz files, or such files"
                )
        files = warc_files(paths, report)
        with sigterm_interrupts():
            _reindex(config, args, seeds, files, report)
    print_report(report.as_json(), report_lines(report), args.format, sys.stdout)
    return EXIT_FAILED if report.unreadable else EXIT_OK


def _reindex(
    config: Config,
    args: argparse.Namespace,
    seeds: Seeds,
    files: list[Path],
    report: ReindexReport,
    then: Callable[[Session], None] | None = None,
) -> None:
    """Catalogue `files` into the configured catalogue; `then` writes in it afterwards."""
    from pipelines.archive.reindex import reindex
    from pipelines.catalogue.engine import make_engine, make_session_factory
    from pipelines.catalogue.schema import ensure_schema
    from pipelines.catalogue.writes import upsert_site_channels

    engine = make_engine(config.catalogue_url())
    try:
        ensure_schema(engine)
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            upsert_site_channels(session, site_rows(seeds))
        reindex(sessions, files, seeds, report, _progress, jobs=args.jobs)
        if then is not None:
            with sessions.begin() as session:
                then(session)
    finally:
        engine.dispose()


def _reindex_stored(
    config: Config, args: argparse.Namespace, seeds: Seeds, store: ObjectStore,
    report: ReindexReport,
) -> None:  # fmt: skip
    """Reindex from the object store's files (and the home's files it lacks), recording
    each stored file as committed with the size and SHA-256 read."""
    from pipelines.archive.reindex import warc_files
    from pipelines.archive.stored_copies import StoredCopies
    from pipelines.catalogue.warc_files import record_stored

    with StoredCopies(store) as copies:
        names = copies.names()
        home = config.archive.warc
        local = warc_files([home], report) if home.is_dir() else []
        files = [copies.path(name) for name in names]
        files += [path for path in local if path.name not in set(names)]

        def record_copies(session: Session) -> None:
            for name, digest in copies.digests.items():
                record_stored(session, name, digest.size, digest.sha256,
                              store.url.object_url(name))  # fmt: skip

        _reindex(config, args, seeds, sorted(files, key=lambda p: p.name), report, record_copies)


def _progress(line: str) -> None:
    print(line, file=sys.stderr)


def report_lines(report: ReindexReport) -> Iterator[str]:
    """A summary line, and one line per file that needs a look."""
    yield report.summary()
    for name in report.open_files:
        yield f"skipped {name}: still open; `cppcc-archive verify --repair` closes it"
    for problem in report.unreadable:
        yield f"damaged, not read: {problem}"
