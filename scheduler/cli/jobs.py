"""`--jobs N`, the processes `reindex`, `reextract` and `verify` read the archive with."""

from __future__ import annotations

import argparse
import os

from scheduler.cli.support import positive_int


def add_jobs(sub: argparse.ArgumentParser, what: str) -> None:
    """The `--jobs` option of a command that reads the archive on several processes."""
    cpus = os.cpu_count() or 1
    sub.add_argument(
        "--jobs",
        type=positive_int,
        metavar="N",
        default=None,
        help=f"processes that {what} (default: one per CPU, here {cpus}, for an archive "
        "of more than a few MB, else one); the catalogue is written by this one, in the "
        "same order as with --jobs 1",
    )
