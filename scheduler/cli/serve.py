"""`cppcc-archive serve`: the background service, in the foreground."""

from __future__ import annotations

import argparse
import os
from typing import Any

from pipelines.recheck import check_environment
from scheduler.cli.support import (
    Config,
    add_command,
    non_negative_int,
    positive_int,
)
from scheduler.serve import serve
from scheduler.service import ServiceSettings


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    env = os.environ.get
    sub = add_command(
        commands,
        common,
        "serve",
        "run in the foreground, crawling every enabled channel on its schedule",
        cmd_serve,
    )
    sub.add_argument(
        "--max-concurrent",
        type=positive_int,
        metavar="N",
        default=env("CPPCC_MAX_CONCURRENT", "2"),
        help="channels crawling at once (env CPPCC_MAX_CONCURRENT; default 2)",
    )
    sub.add_argument(
        "--grace",
        type=non_negative_int,
        metavar="SECONDS",
        default=env("CPPCC_GRACE", "30"),
        help="on SIGTERM/SIGINT, how long running crawls may take to finish before "
        "they are stopped cleanly (env CPPCC_GRACE; default 30)",
    )
    sub.add_argument(
        "--time-limit",
        type=non_negative_int,
        metavar="SECONDS",
        default=env("CPPCC_RUN_TIME_LIMIT", "3600"),
        help="a run still going after this long is stopped and failed "
        "(env CPPCC_RUN_TIME_LIMIT; default 3600; 0: none)",
    )


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT: scheduled crawls, recovery after crashes."""
    check_environment()
    seeds = config.seeds()
    return serve(
        ServiceSettings(
            home=config.home,
            database_url=config.catalogue_url(),
            seeds_path=seeds.path,
            max_concurrent=_as_int(args.max_concurrent),
            grace=float(_as_int(args.grace)),
            time_limit=_as_int(args.time_limit),
        )
    )


def _as_int(value: int | str) -> int:
    # argparse applies `type` to string defaults too, but not to defaults already int.
    return int(value)
