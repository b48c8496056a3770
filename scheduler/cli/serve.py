"""`cppcc-archive serve`: the background service, in the foreground."""

from __future__ import annotations

import argparse
import logging
import os

from pipelines.health.settings import HealthSettings
from pipelines.recheck import check_environment
from scheduler.cli.storage import add_storage, apply_storage
from scheduler.cli.support import (
    Config,
    non_negative_int,
    positive_int,
)
from scheduler.cli.tidy import add_tidy_options, settings_from
from scheduler.cli.web import add_beside_options, web_beside
from scheduler.timing import DEFAULT_TIDY_SCHEDULE, cron_trigger

LOG_LEVELS = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}  # by --quiet/--verbose
NAME = "serve"
HELP = "run in the foreground, crawling every enabled channel on its schedule"


# Each option: its environment variable and default, its type and metavar, and its help.
OPTIONS = (
    ("--max-concurrent", "CPPCC_MAX_CONCURRENT", "2", positive_int, "N",
     "channels crawling at once (env CPPCC_MAX_CONCURRENT; default 2)"),
    ("--grace", "CPPCC_GRACE", "30", non_negative_int, "SECONDS",
     "on SIGTERM/SIGINT, how long running crawls may take to finish before they are stopped "
     "cleanly (env CPPCC_GRACE; default 30)"),
    ("--time-limit", "CPPCC_RUN_TIME_LIMIT", "3600", non_negative_int, "SECONDS",
     "a run still going after this long is stopped and failed "
     "(env CPPCC_RUN_TIME_LIMIT; default 3600; 0: none)"),
)  # fmt: skip


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `serve`, each with its environment variable."""
    for option, variable, default, kind, metavar, helptext in OPTIONS:
        default = os.environ.get(variable, default)
        sub.add_argument(option, type=kind, metavar=metavar, default=default, help=helptext)
    add_tidy_schedule(sub)
    sub.add_argument(
        "--dispatch",
        action="store_true",
        help="queue the scheduled crawls as jobs for `cppcc-archive worker` on any host instead "
        "of crawling here (a PostgreSQL catalogue); of several `serve --dispatch`, one leads, "
        "the others stand by and take over when it stops",
    )
    add_tidy_options(sub)
    add_beside_options(sub)
    add_storage(sub, "each run's closed WARC files are put there and committed in the catalogue")
    sub.add_argument(
        "--metrics-port", type=_port, metavar="PORT",
        default=os.environ.get("CPPCC_METRICS_PORT") or None,
        help="serve Prometheus metrics at http://127.0.0.1:PORT/metrics (loopback only; 0: any "
        "free port, logged) (env CPPCC_METRICS_PORT; default: off)",
    )  # fmt: skip


def add_tidy_schedule(sub: argparse.ArgumentParser) -> None:
    """`--tidy-schedule`: when a long-running command tidies its home (`serve`, `worker`)."""
    sub.add_argument(
        "--tidy-schedule", type=_schedule, metavar="CRON",
        default=os.environ.get("CPPCC_TIDY_SCHEDULE", DEFAULT_TIDY_SCHEDULE),
        help="when to pack small WARC files and expire crawl logs (as `tidy`): 5 cron "
        "fields, Asia/Shanghai time, or `off` "
        f"(env CPPCC_TIDY_SCHEDULE; default {DEFAULT_TIDY_SCHEDULE!r})",
    )  # fmt: skip


def _port(text: str) -> int:
    value = non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)")
    return value


def _schedule(text: str) -> str | None:
    if text.strip().lower() == "off":
        return None
    try:
        cron_trigger(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a cron schedule: {error}") from None
    return text


def run(config: Config, args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT: scheduled crawls, recovery after crashes."""
    # The service loads APScheduler, SQLAlchemy and Alembic: imported when it runs, not for
    # --help.
    from scheduler.serve import serve
    from scheduler.service import ServiceSettings

    check_environment()
    apply_storage(args)
    seeds = config.seeds()
    with web_beside(config, args):
        settings = ServiceSettings(
            home=config.home,
            database_url=config.catalogue_url(),
            seeds_path=seeds.path,
            max_concurrent=_as_int(args.max_concurrent),
            grace=float(_as_int(args.grace)),
            time_limit=_as_int(args.time_limit),
            tidy=settings_from(args),
            tidy_schedule=args.tidy_schedule,
            log_level=LOG_LEVELS[config.verbosity],
            metrics_port=None if args.metrics_port is None else _as_int(args.metrics_port),
            health=HealthSettings.from_environ(os.environ),
        )
        if args.dispatch:
            from scheduler.queue.dispatch import dispatch

            return dispatch(settings)
        return serve(settings)


def _as_int(value: int | str) -> int:
    # argparse applies `type` to string defaults too, but not to defaults already int.
    return int(value)
