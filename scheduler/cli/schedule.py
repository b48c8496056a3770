"""`cppcc-archive schedule`: each channel's schedule, last run, next run and backlog."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from scheduler.cli.output import print_records
from scheduler.cli.support import EXIT_OK, Config, add_format, catalogue_session

NAME = "schedule"
HELP = "each channel's schedule, last run and next run"


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `schedule`."""
    add_format(sub, "table", "json", "jsonl", "csv")


def run(config: Config, args: argparse.Namespace) -> int:
    """List each channel's schedule with its last run and its next scheduled time."""
    # SQLAlchemy and APScheduler's cron triggers: imported when the command runs, not for
    # --help.
    from pipelines.catalogue.engine import missing_sqlite_file
    from pipelines.catalogue.models import SHANGHAI
    from scheduler.schedule_view import schedule_rows

    seeds, now = config.seeds(), datetime.now(SHANGHAI)
    if missing_sqlite_file(
        config.catalogue_url()
    ):  # nothing has run yet; reading must not create a catalogue
        rows = schedule_rows(seeds, None, now)
    else:
        with catalogue_session(config) as session:
            rows = schedule_rows(seeds, session, now)
    columns = (
        "channel",
        "name",
        "schedule",
        "enabled",
        "last_run",
        "last_status",
        "last_started_at",
        "next_run_at",
        "backlog",
    )
    print_records(rows, columns, args.format, sys.stdout)
    return EXIT_OK
