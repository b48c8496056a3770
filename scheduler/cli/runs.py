"""`cppcc-archive runs`: the crawl history, newest first."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from pipelines.home import ArchiveHome
from scheduler.cli.output import print_records, truncate
from scheduler.cli.support import (
    EXIT_OK,
    Config,
    add_format,
    catalogue_session,
    limit_arg,
    non_negative_int,
)

RUN_COLUMNS = (
    "id",
    "trigger",
    "status",
    "started_at",
    "finished_at",
    "channels",
    "pages_fetched",
    "articles_new",
    "articles_updated",
    "http_errors",
    "errors",
    "backlog",
    "error",
)
RUN_TIME_COLUMNS = ("started_at", "finished_at")
ERROR_WIDTH = 72  # a table shows the start of why a run failed; JSON and CSV show all of it


NAME = "runs"
HELP = "the crawl history, newest first"


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `runs`."""
    sub.add_argument(
        "--limit", type=non_negative_int, metavar="N", help="at most N runs (default 50; 0: all)"
    )
    add_format(sub, "table", "json", "jsonl", "csv")


def run(config: Config, args: argparse.Namespace) -> int:
    """List the crawl runs, newest first, with their counts and why any failed."""
    # The catalogue's modules load SQLAlchemy: imported when the command runs, not for --help.
    from pipelines.catalogue.queries import list_runs
    from pipelines.catalogue.views import run_view

    with catalogue_session(config) as session:
        views = [run_view(run) for run in list_runs(session, limit=limit_arg(args.limit, 50))]
    for view in views:
        if view["status"] == "running":
            _show_live_counts(view, config.archive)
    if args.format in ("json", "jsonl"):
        print_records(views, RUN_COLUMNS, args.format, sys.stdout)
        return EXIT_OK
    flat = [{**view, **view.get("counts", {}), "backlog": _backlog(view)} for view in views]
    if args.format == "table":
        flat = [_run_row(row) for row in flat]
    print_records(flat, RUN_COLUMNS, args.format, sys.stdout)
    return EXIT_OK


def _show_live_counts(view: dict[str, Any], home: ArchiveHome) -> None:
    """A running run's counts as its crawls last reported them: the catalogue gets its counts
    only when the run ends, and would show 0 pages for a crawl an hour in."""
    from scheduler.crawl_process import reported_counts

    live = reported_counts(home, view["id"], view["channels"])
    view["counts"] = {name: live.get(name, value) for name, value in view["counts"].items()}


def _backlog(view: dict[str, Any]) -> str:
    """`yw: walked to page 12 of 30; xs: complete`: the state each channel's walk was left in."""
    walks = view.get("walk") or {}
    states = ((ref.rpartition("/")[2], walk.get("state")) for ref, walk in walks.items())
    return "; ".join(f"{channel}: {state}" for channel, state in states if state)


def _run_row(row: dict[str, Any]) -> dict[str, Any]:
    """A run as a table shows it: times to the second, the start of its error."""
    shown = dict(row)
    for column in RUN_TIME_COLUMNS:
        if shown.get(column):
            shown[column] = datetime.fromisoformat(shown[column]).isoformat(timespec="seconds")
    if shown.get("error"):
        shown["error"] = truncate(" ".join(shown["error"].split()), ERROR_WIDTH)
    return shown
