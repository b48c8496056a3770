"""`cppcc-archive worker`: run channel crawls from the PostgreSQL job queue, in the foreground."""

from __future__ import annotations

import argparse
import math
import os

from pipelines.recheck import check_environment
from scheduler.cli.serve import LOG_LEVELS, add_tidy_schedule
from scheduler.cli.serve import OPTIONS as SERVE_OPTIONS
from scheduler.cli.storage import add_storage, apply_storage
from scheduler.cli.support import Config, positive_int
from scheduler.cli.tidy import add_tidy_options, settings_from

NAME = "worker"
HELP = "run crawl jobs from the job queue (a PostgreSQL catalogue shared by several hosts)"


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0")
    return value


# A worker's own options, then serve's (but --max-concurrent: a worker has --concurrency).
OPTIONS = (
    ("--concurrency", "CPPCC_WORKER_CONCURRENCY", "1", positive_int, "N",
     "channels crawling at once in this worker; never two of one site, across all workers "
     "(env CPPCC_WORKER_CONCURRENCY; default 1)"),
    ("--lease", "CPPCC_QUEUE_LEASE", "60", positive_seconds, "SECONDS",
     "a job whose worker gives no sign of life for this long is run again elsewhere; give "
     "every worker the same (env CPPCC_QUEUE_LEASE; default 60)"),
    *(option for option in SERVE_OPTIONS if option[0] != "--max-concurrent"),
)  # fmt: skip


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `worker`, each with its environment variable."""
    for option, variable, default, kind, metavar, helptext in OPTIONS:
        default = os.environ.get(variable, default)
        sub.add_argument(option, type=kind, metavar=metavar, default=default, help=helptext)
    add_tidy_schedule(sub)  # each worker tidies its own home: its WARC files, its logs
    add_tidy_options(sub)
    add_storage(sub, "each job's closed WARC files are put there and committed in the catalogue")


def run(config: Config, args: argparse.Namespace) -> int:
    """Claim and run crawl jobs until SIGTERM/SIGINT."""
    from scheduler.queue.worker import WorkerSettings, work

    check_environment()
    apply_storage(args)
    seeds = config.seeds()
    return work(
        WorkerSettings(
            home=config.home,
            database_url=config.catalogue_url(),
            seeds_path=seeds.path,
            concurrency=int(args.concurrency),
            lease=float(args.lease),
            grace=float(args.grace),
            time_limit=int(args.time_limit),
            tidy=settings_from(args),
            tidy_schedule=args.tidy_schedule,
        ),
        LOG_LEVELS[config.verbosity],
    )
