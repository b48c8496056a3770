"""`cppcc-archive tidy`: what the service does daily to a long-running archive.

Command line:

    cppcc-archive tidy [--dry-run] [--pack-below SIZE] [--pack-min-age SECONDS]
                       [--log-retention DAYS] [--format text|json]

Packs the small closed WARC files (as `pack`), then removes the crawl logs of runs that ended
more than the retention ago. Exit 0, or 1 when a pack could not be made or a log removed
(everything is then left as it was, and the report says why).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from pipelines.archive.defaults import DEFAULT_LOG_RETENTION, DEFAULT_MIN_AGE, DEFAULT_PACK_BELOW
from pipelines.config import parse_size
from pipelines.errors import UsageError
from scheduler.cli.support import (
    EXIT_FAILED,
    EXIT_OK,
    Config,
    add_format,
    catalogue_sessions,
    print_report,
)

if TYPE_CHECKING:
    from pipelines.archive.tidy import TidySettings

NAME = "tidy"
HELP = (
    "pack small closed WARC files into large ones (as `pack`) and remove crawl logs of runs "
    "that ended more than the retention ago: what `serve` does daily"
)


def byte_size(text: str) -> int:
    """A size in bytes: `104857600`, `100M`, `1G`, `500k` (powers of 1000, as disks count)."""
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _seconds(text: str) -> timedelta:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds ≥ 0")
    return timedelta(seconds=value)


def _days(text: str) -> timedelta:
    try:
        value = float(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days > 0")
    return timedelta(days=value)


def add_dry_run(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--dry-run", action="store_true", help="change nothing; say what would be done"
    )


def add_pack_options(sub: argparse.ArgumentParser) -> None:
    """`--pack-below`, `--pack-min-age`: which files packing takes."""
    sub.add_argument(
        "--pack-below", type=byte_size, metavar="SIZE",
        default=os.environ.get("CPPCC_PACK_BELOW", str(DEFAULT_PACK_BELOW)),
        help="pack closed WARC files smaller than SIZE (e.g. 100M; env CPPCC_PACK_BELOW; "
        f"default {DEFAULT_PACK_BELOW // 1000**2}M, a tenth of the rotation size)",
    )  # fmt: skip
    sub.add_argument(
        "--pack-min-age", type=_seconds, metavar="SECONDS",
        default=os.environ.get("CPPCC_PACK_MIN_AGE", str(DEFAULT_MIN_AGE.seconds)),
        help="leave files closed less than SECONDS ago (env CPPCC_PACK_MIN_AGE; default "
        f"{DEFAULT_MIN_AGE.seconds})",
    )  # fmt: skip


def add_tidy_options(sub: argparse.ArgumentParser) -> None:
    """The pack options and `--log-retention`: what a tidy does (`tidy`, `serve`)."""
    add_pack_options(sub)
    sub.add_argument(
        "--log-retention", type=_days, metavar="DAYS",
        default=os.environ.get("CPPCC_LOG_RETENTION", str(DEFAULT_LOG_RETENTION.days)),
        help="remove crawl logs of runs that ended more than DAYS ago (env "
        f"CPPCC_LOG_RETENTION; default {DEFAULT_LOG_RETENTION.days})",
    )  # fmt: skip


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `tidy`."""
    add_dry_run(sub)
    add_tidy_options(sub)
    add_format(sub, "text", "json")


def settings_from(args: argparse.Namespace) -> TidySettings:
    """The tidy settings of a command's options (argparse converts string defaults too)."""
    # SQLAlchemy and the CDXJ indexer: imported when a tidy runs, not for --help.
    from pipelines.archive.tidy import TidySettings

    return TidySettings(args.pack_below, args.pack_min_age, args.log_retention)


def run(config: Config, args: argparse.Namespace) -> int:
    """Pack and expire; exit 1 when something could not be packed or removed."""
    from pipelines.archive.tidy import tidy_archive

    require_warc_folder(config)
    with catalogue_sessions(config) as sessions:
        report = tidy_archive(config.archive, sessions, settings_from(args), dry_run=args.dry_run)
    print_report(report.as_json(), report.lines(), args.format, sys.stdout)
    return EXIT_FAILED if report.failed else EXIT_OK


def require_warc_folder(config: Config) -> None:
    if not config.archive.warc.is_dir():  # a usage error, as for verify, index and reindex
        raise UsageError(f"no WARC folder {config.archive.warc}: point --home at an archive")
