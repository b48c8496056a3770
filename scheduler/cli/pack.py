"""`cppcc-archive pack`: pack the archive's small closed WARC files into large ones.

Command line:

    cppcc-archive pack [--dry-run] [--pack-below SIZE] [--pack-min-age SECONDS]
                       [--format text|json]

A pack is the packed files' bytes one after another (valid WARC: a gzip member per record),
checked record by record before the catalogue's locations and the CDXJ move to it in one
transaction, and the packed files are removed only then (pipelines/archive/pack/). Files a
crawl may still write, files of another host, just closed or damaged are left alone and
reported. Exit 0, or 1 when a pack could not be made (its files are left as they were).
"""

from __future__ import annotations

import argparse
import sys

from scheduler.cli.support import (
    EXIT_FAILED,
    EXIT_OK,
    Config,
    add_format,
    catalogue_sessions,
    print_report,
)
from scheduler.cli.tidy import add_dry_run, add_pack_options, require_warc_folder

NAME = "pack"
HELP = (
    "pack small closed WARC files into large ones, the catalogue's locations and the CDXJ "
    "moved with them; the packed files are removed once the pack reads back whole"
)


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `pack`."""
    add_dry_run(sub)
    add_pack_options(sub)
    add_format(sub, "text", "json")


def run(config: Config, args: argparse.Namespace) -> int:
    """Pack; exit 1 when a pack could not be made."""
    # SQLAlchemy and the CDXJ indexer: imported when the command runs, not for --help.
    from pipelines.archive.pack import pack_warc_files

    require_warc_folder(config)
    archive = config.archive
    with catalogue_sessions(config) as sessions:
        report = pack_warc_files(
            archive.warc,
            archive.indexes,
            sessions,
            pack_below=args.pack_below,
            min_age=args.pack_min_age,
            dry_run=args.dry_run,
        )
    print_report(report.as_json(), report.lines(), args.format, sys.stdout)
    return EXIT_FAILED if report.failed else EXIT_OK
