"""`cppcc-archive health`: whether every enabled channel is archived as it should be.

Exit status: 0 healthy, 1 a problem (one line each), 2 usage error. Fit for cron and for a
container's health check.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from scheduler.cli.support import EXIT_FAILED, EXIT_OK, Config, add_format, print_report

if TYPE_CHECKING:
    from pipelines.health.report import HealthReport

NAME = "health"
HELP = (
    "check every enabled channel (a finished run within 3 schedule intervals, fewer than 3 "
    "failed runs in a row, list pages that link articles, the backlog walked to its end, field "
    "coverage and rejections as usual; thresholds in [health]): a line per problem; exit 0 "
    "when healthy, 1 when not"
)


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `health`."""
    add_format(sub, "text", "json")


def run(config: Config, args: argparse.Namespace) -> int:
    """Judge each enabled channel from the catalogue; print its problems."""
    # Here, not at the top: every command line start loads this module.
    from datetime import UTC, datetime

    from pipelines.catalogue.engine import missing_sqlite_file
    from pipelines.health.report import health_report
    from pipelines.health.settings import HealthSettings
    from pipelines.recheck import parse_now
    from scheduler.cli.support import catalogue_session
    from scheduler.timing import schedule_intervals

    settings = HealthSettings.from_environ(os.environ)
    seeds = config.seeds()
    now = parse_now(os.environ.get("CPPCC_NOW", "")) or datetime.now(UTC)
    schedules = schedule_intervals(seeds, now)
    if missing_sqlite_file(config.catalogue_url()):  # nothing has run; create nothing
        report = health_report(None, schedules, settings, now)
    else:
        with catalogue_session(config) as session:
            report = health_report(session, schedules, settings, now)
    print_report(report.as_json(), report_lines(report, config.quiet), args.format, sys.stdout)
    return EXIT_OK if report.healthy else EXIT_FAILED


def report_lines(report: HealthReport, quiet: bool = False) -> Iterator[str]:
    """A summary line, then a line per problem; `quiet`: the problem lines alone (nothing
    when all is well: a cron job mails only what needs a look)."""
    from pipelines.display import display_time

    problems = report.problems
    if not quiet:
        channels = len(report.channels)
        head = f"health of {channels} channel{'' if channels == 1 else 's'} at "
        head += display_time(report.now, "seconds") or ""
        count = len(problems)
        yield head + (f": {count} problem{'' if count == 1 else 's'}" if count else ": healthy")
    for problem in problems:
        yield problem.line()
