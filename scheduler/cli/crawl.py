"""`cppcc-archive crawl`: crawl channels now, with progress, and print the run's summary."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pipelines.errors import CatalogueError, UsageError
from pipelines.recheck import check_environment
from scheduler.cli.storage import add_storage, apply_storage
from scheduler.cli.support import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Config,
    add_format,
    catalogue_session,
    non_negative_int,
)

if TYPE_CHECKING:
    from pipelines.seeds import Channel, Seeds
    from scheduler.run_record import RunResult

NAME = "crawl"
HELP = "crawl channels once, now"


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `crawl`."""
    sub.add_argument(
        "channels",
        nargs="*",
        metavar="SITE[/CHANNEL]",
        help="channels to crawl, e.g. rmzxb/yw or rmzxb (all, when none)",
    )
    sub.add_argument(
        "--max-list-pages",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="list pages to walk per channel (default 0: all)",
    )
    sub.add_argument(
        "--time-limit",
        type=non_negative_int,
        default=os.environ.get("CPPCC_RUN_TIME_LIMIT", "0"),
        metavar="SECONDS",
        help="stop the crawl after SECONDS and record it failed "
        "(env CPPCC_RUN_TIME_LIMIT; default 0: no limit)",
    )
    sub.add_argument(
        "--stop-wait",
        type=non_negative_int,
        default=os.environ.get("CPPCC_STOP_WAIT", "30"),
        metavar="SECONDS",
        help="once asked to stop (time limit, Ctrl-C), how long the crawl may finish the pages "
        "in flight before it is stopped by force (env CPPCC_STOP_WAIT; default 30)",
    )
    sub.add_argument(
        "--queue",
        action="store_true",
        help="queue the crawls as jobs for `cppcc-archive worker` on any host (a PostgreSQL "
        "catalogue) instead of crawling here; a channel already waiting is not queued twice",
    )
    add_storage(sub, "each closed WARC file is put there and committed in the catalogue")
    add_format(sub, "text", "json", helptext="summary format (default text)")


def run(config: Config, args: argparse.Namespace) -> int:
    """Crawl the chosen channels now, then print a summary of the run."""
    # The launcher loads SQLAlchemy and Alembic: imported when the command runs, not for --help.
    from scheduler.launcher import launch_crawl
    from scheduler.progress import ProgressPrinter

    check_environment()  # the crawl's own settings, read in its process: checked here first
    apply_storage(args)
    seeds = config.seeds()
    channels = seeds.select(args.channels)
    if not channels:
        raise UsageError(f"{seeds.path}: no enabled channel to crawl")
    if args.queue:
        return _queue(config, seeds, channels, args)
    # --verbose: every change of the counts a line of its own; --quiet: none.
    progress = ProgressPrinter(sys.stderr, every=0.0 if config.verbose else 5.0)
    progress.interactive = progress.interactive and not config.verbose
    started = time.monotonic()
    try:
        result = launch_crawl(
            seeds,
            channels,
            home=config.home,
            database_url=config.catalogue_url(),
            max_list_pages=args.max_list_pages,
            time_limit=args.time_limit,
            grace=float(args.stop_wait),
            on_progress=None if config.quiet else progress.update,
            on_notice=_notice,
            on_started=_tell_logs(config, channels) if config.verbose else None,
        )
    finally:
        progress.close()  # an error line must not land on the progress line
    if not (config.quiet and result.status == "finished"):  # quiet: only what went wrong
        _print_crawl_summary(config, result, args.format, time.monotonic() - started)
    return _crawl_exit_status(result)


def _tell_logs(config: Config, channels: Sequence[Channel]) -> Callable[[int], None]:
    """--verbose: where each site's Scrapy log is, as soon as the run has its id."""

    def tell(run_id: int) -> None:
        for site in dict.fromkeys(channel.site for channel in channels):
            log = config.archive.crawl_log(run_id, site)
            _notice(f"run {run_id} started; {site}'s Scrapy log: {log}")

    return tell


def _notice(line: str) -> None:
    """What the launcher says while a crawl runs (recovery, retries): a line of its own."""
    clear = "\r\033[K" if sys.stderr.isatty() else ""  # the progress line, if it is there
    print(f"{clear}cppcc-archive: {line}", file=sys.stderr, flush=True)


def _crawl_exit_status(result: RunResult) -> int:
    if result.status == "interrupted":
        print(
            f"cppcc-archive: interrupted: run {result.run_id} stopped; what it fetched is "
            "archived and recorded",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return EXIT_OK if result.status == "finished" else EXIT_FAILED


def _print_crawl_summary(config: Config, result: RunResult, fmt: str, seconds: float) -> None:
    from scheduler.progress import print_summary

    view = _run_view(config, result.run_id)
    if fmt == "json":
        view["http_error_pages"] = result.http_errors
        view["robots_txt_status"] = result.robots_txt
        json.dump(view, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print_summary(view, result, seconds, config.home, sys.stdout)


def _run_view(config: Config, run_id: int) -> dict[str, Any]:
    from pipelines.catalogue.queries import get_run
    from pipelines.catalogue.views import run_view

    with catalogue_session(config) as session:
        run = get_run(session, run_id)
        if run is None:
            raise CatalogueError(
                f"run {run_id} vanished from the catalogue {config.catalogue_url()}"
            )
        return run_view(run)


def _queue(
    config: Config, seeds: Seeds, channels: Sequence[Channel], args: argparse.Namespace
) -> int:
    """`crawl --queue`: a job for each channel, for the workers; print which."""
    from scheduler.queue.database import (
        ensure_queue_schema,
        queue_conninfo,
        require_procrastinate,
        sync_app,
    )
    from scheduler.queue.jobs import enqueue_crawl

    conninfo = queue_conninfo(config.catalogue_url())
    require_procrastinate()
    ensure_queue_schema(config.catalogue_url())
    with sync_app(conninfo).open() as app:
        queued = [
            enqueue_crawl(app, seeds, channel, trigger="manual", max_list_pages=args.max_list_pages)
            for channel in channels
        ]
    if args.format == "json":
        rows = [
            {"channel": q.ref, "job": q.job_id, "queued": q.new, "status": q.status} for q in queued
        ]
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif not config.quiet:
        for q in queued:
            state = "queued as" if q.new else "already waiting as"
            print(f"{q.ref}: {state} job {q.job_id}")
    return EXIT_OK
