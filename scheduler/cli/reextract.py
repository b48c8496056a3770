"""`cppcc-archive reextract`: re-normalise catalogued articles from their WARC records."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from pipelines.archive.reextract import ReextractReport, reextract_articles
from scheduler.cli.support import (
    EXIT_FAILED,
    EXIT_OK,
    Config,
    add_command,
    catalogue_session,
    check_site_channel,
    date_arg,
)


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = add_command(
        commands,
        common,
        "reextract",
        "re-normalise catalogued articles from their WARC records (no network), e.g. after "
        "a site profile changed; exit 1 when some could not be re-read",
        cmd_reextract,
    )
    sub.add_argument("--site", help="only this site (seeds key, e.g. rmzxb)")
    sub.add_argument("--channel", help="only this channel (seeds key, e.g. yw)")
    sub.add_argument("--since", type=date_arg, metavar="DATE", help="published on or after DATE")
    sub.add_argument("--until", type=date_arg, metavar="DATE", help="published on or before DATE")
    sub.add_argument("--format", choices=("text", "json"), default="text")


def cmd_reextract(config: Config, args: argparse.Namespace) -> int:
    """Re-normalise the matching articles from the WARC files; report what changed."""
    check_site_channel(config, args.site, args.channel)

    def progress(done: int, total: int) -> None:
        print(f"reextract: {done}/{total} articles", file=sys.stderr, flush=True)

    with catalogue_session(config) as session:
        report = reextract_articles(
            session,
            config.archive.warc,
            site=args.site,
            channel=args.channel,
            since=args.since,
            until=args.until,
            on_progress=progress,
        )
    print_report(report, args.format, sys.stdout)
    return EXIT_FAILED if report.failures else EXIT_OK


def print_report(report: ReextractReport, fmt: str, out: TextIO) -> None:
    """The report as JSON, or as a summary line and one line per failure."""
    if fmt == "json":
        json.dump(report.as_json(), out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    out.write(report.summary() + "\n")
    for failure in report.failures:
        out.write(f"failed: {failure.url}: {failure.reason}\n")
