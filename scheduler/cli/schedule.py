"""`cppcc-archive schedule`: each channel's schedule, last run, next run and backlog."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from scheduler.cli.output import print_records
from scheduler.cli.support import (
    EXIT_OK,
    Config,
    add_command,
)
from scheduler.serve import schedule_rows
from scheduler.service import SHANGHAI


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = add_command(
        commands, common, "schedule", "each channel's schedule, last run and next run", cmd_schedule
    )
    sub.add_argument("--format", choices=("table", "json", "jsonl", "csv"), default="table")


def cmd_schedule(config: Config, args: argparse.Namespace) -> int:
    """List each channel's schedule with its last run and its next scheduled time."""
    rows = schedule_rows(config.seeds(), config.catalogue_url(), datetime.now(SHANGHAI))
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
