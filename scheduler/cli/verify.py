"""`cppcc-archive verify [--repair]`: check the WARC files and the catalogue against each other.

Exit status: 0 clean (or all that was found was repaired), 1 problems remain, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine

from pipelines.archive.verify import Outcome, ScanCache, repair_archive, verify_archive
from pipelines.catalogue.engine import make_session_factory
from pipelines.errors import UsageError
from scheduler.cli.support import EXIT_FAILED, EXIT_OK, Config, add_command, catalogue_session


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


def print_outcome(outcome: Outcome, warc_dir: Path, fmt: str, out: TextIO) -> None:
    """JSON, or a summary line, a line per problem, per repair, and per note."""
    if fmt == "json":
        json.dump(outcome_json(outcome), out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    out.write(_summary(outcome, warc_dir) + "\n")
    for problem, repaired in outcome.problems():
        out.write(problem.line() + (" (repaired)" if repaired else "") + "\n")
    for repair in outcome.repairs:
        out.write(f"repair: {repair.detail}\n")
    for note in outcome.final.notes:
        out.write(f"note: {note}\n")


def _summary(outcome: Outcome, warc_dir: Path) -> str:
    final = outcome.final
    head = f"verify {warc_dir}: {final.files} WARC files, {final.records} records"
    found = len(outcome.problems())
    if not found:
        return f"{head}: clean"
    text = f"{head}: {found} problem{'s' if found != 1 else ''}"
    if outcome.after is None:
        return text
    remain = len(final.problems)
    return f"{text}, {found - remain} repaired, {remain} remain{'s' if remain == 1 else ''}"


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    """The `verify` subcommand."""
    sub = add_command(
        commands,
        common,
        "verify",
        "check every WARC file in HOME/warc and the catalogue against each other (damaged "
        "records, digests, captures pointing nowhere, uncatalogued articles, `.open` files); "
        "exit 0 when all is well, 1 when problems remain",
        cmd_verify,
    )
    sub.add_argument(
        "--repair",
        action="store_true",
        help="close `.open` files of crawls that stopped and catalogue from the WARC files what "
        "the catalogue misses; nothing is deleted",
    )
    sub.add_argument("--format", choices=("text", "json"), default="text")


def cmd_verify(config: Config, args: argparse.Namespace) -> int:
    """Check the archive, repair it if asked, print what was found and done."""
    warc_dir = config.archive.warc
    if not warc_dir.is_dir():
        raise UsageError(f"no WARC folder {warc_dir}: point --home at an archive")
    seeds = config.seeds()
    cache: ScanCache = {}

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    with catalogue_session(config) as session:
        found = verify_archive(session, warc_dir, seeds, cache=cache, on_progress=progress)
        bind = session.get_bind()
        session.rollback()  # SQLite takes its write lock at BEGIN: let the repairs write
        outcome = Outcome(found)
        if args.repair and found.problems:
            assert isinstance(bind, Engine)  # catalogue_session binds sessions to an engine
            sessions = make_session_factory(bind)
            outcome = repair_archive(
                sessions, warc_dir, seeds, found, cache=cache, on_progress=progress
            )
    print_outcome(outcome, warc_dir, args.format, sys.stdout)
    return EXIT_OK if outcome.clean else EXIT_FAILED
