"""`cppcc-archive verify [--repair]`: check the WARC files and the catalogue against each other.

Exit status: 0 clean (or all that was found was repaired), 1 problems remain, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import UsageError
from scheduler.cli.jobs import add_jobs
from scheduler.cli.storage import add_storage, apply_storage
from scheduler.cli.support import (
    EXIT_FAILED,
    EXIT_OK,
    Config,
    add_format,
    catalogue_session,
    print_report,
)

if TYPE_CHECKING:
    from pipelines.archive.repair import Outcome
    from pipelines.archive.verify import ScanCache

NAME = "verify"
HELP = (
    "check every WARC file in HOME/warc and the catalogue against each other (damaged "
    "records, digests, captures pointing nowhere, uncatalogued articles, `.open` files); "
    "exit 0 when all is well, 1 when problems remain"
)


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `verify`."""
    sub.add_argument(
        "--repair",
        action="store_true",
        help="close `.open` files of crawls that stopped and catalogue from the WARC files what "
        "the catalogue misses; nothing is deleted",
    )
    add_format(sub, "text", "json")
    add_jobs(sub, "read the WARC files")
    add_storage(sub, "its objects are read and checked against the catalogue's SHA-256 and size")


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    final = outcome.final
    return {
        "clean": outcome.clean,
        "files": final.files,
        "records": final.records,
        "problems": [
            {**problem.as_json(), "repaired": repaired} for problem, repaired in outcome.problems()
        ],
        "repairs": [
            {"action": r.action, "file": r.file, "detail": r.detail} for r in outcome.repairs
        ],
        "notes": final.notes,
    }


def outcome_lines(outcome: Outcome, warc_dir: Path, quiet: bool = False) -> Iterator[str]:
    """A summary line, a line per problem, per repair, and per note; `quiet`: the problems and
    repairs alone (nothing when all is well: a cron job mails only what needs a look)."""
    if not quiet:
        yield _summary(outcome, warc_dir)
    for problem, repaired in outcome.problems():
        yield problem.line() + (" (repaired)" if repaired else "")
    for repair in outcome.repairs:
        yield f"repair: {repair.detail}"
    if not quiet:
        for note in outcome.final.notes:
            yield f"note: {note}"


def _summary(outcome: Outcome, warc_dir: Path) -> str:
    final = outcome.final
    files, records = _counted(final.files, "WARC file"), _counted(final.records, "record")
    head = f"verify {warc_dir}: {files}, {records}"
    found = len(outcome.problems())
    if not found:
        return f"{head}: clean"
    text = f"{head}: {_counted(found, 'problem')}"
    if outcome.after is None:
        return text
    remain = len(final.problems)
    return f"{text}, {found - remain} repaired, {remain} remain{'s' if remain == 1 else ''}"


def _counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def run(config: Config, args: argparse.Namespace) -> int:
    """Check the archive, repair it if asked, print what was found and done."""
    # SQLAlchemy, warcio, the normaliser: imported when the command runs, not for --help.
    from sqlalchemy import Engine

    from pipelines.archive.repair import Outcome, repair_archive
    from pipelines.archive.spans import sigterm_interrupts
    from pipelines.archive.verify import verify_archive
    from pipelines.archive.verify_stored import verify_with_store
    from pipelines.catalogue.engine import make_session_factory
    from scheduler.run_storage import configured_store

    apply_storage(args)
    store = configured_store()
    warc_dir = config.archive.warc
    if not warc_dir.is_dir() and store is None:  # with a store, its objects are the archive
        raise UsageError(f"no WARC folder {warc_dir}: point --home at an archive")
    seeds = config.seeds()
    cache: ScanCache = {}

    def progress(line: str) -> None:
        # A line per WARC file read: hundreds for an archive some days old, so only on
        # --verbose; the summary counts them.
        if config.verbose:
            print(line, file=sys.stderr, flush=True)

    with sigterm_interrupts(), catalogue_session(config) as session:
        if store is None:
            found = verify_archive(
                session, warc_dir, seeds, cache=cache, on_progress=progress, jobs=args.jobs
            )
        else:
            found = verify_with_store(
                session, warc_dir, seeds, store, cache=cache, on_progress=progress,
                jobs=args.jobs,
            )  # fmt: skip
        bind = session.get_bind()
        session.rollback()  # SQLite takes its write lock at BEGIN: let the repairs write
        outcome = Outcome(found)
        if args.repair and found.problems:
            assert isinstance(bind, Engine)  # catalogue_session binds sessions to an engine
            sessions = make_session_factory(bind)
            outcome = repair_archive(
                sessions, warc_dir, seeds, found, cache=cache, on_progress=progress, store=store
            )
    lines = outcome_lines(outcome, warc_dir, quiet=config.quiet)
    print_report(outcome_json(outcome), lines, args.format, sys.stdout)
    return EXIT_OK if outcome.clean else EXIT_FAILED
