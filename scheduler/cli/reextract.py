"""`cppcc-archive reextract`: re-normalise catalogued articles from their WARC records."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from scheduler.cli.jobs import add_jobs
from scheduler.cli.support import (
    EXIT_FAILED,
    EXIT_OK,
    Config,
    add_filters,
    add_format,
    catalogue_session,
    check_site_channel,
    print_report,
)

if TYPE_CHECKING:
    from pipelines.archive.reextract import ReextractReport

NAME = "reextract"
HELP = (
    "re-normalise catalogued articles from their WARC records (no network), e.g. after "
    "a site profile changed; exit 1 when some could not be re-read"
)


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `reextract`."""
    add_filters(sub)
    add_format(sub, "text", "json")
    add_jobs(sub, "read and normalise the pages")


def run(config: Config, args: argparse.Namespace) -> int:
    """Re-normalise the matching articles from the WARC files; report what changed."""
    # SQLAlchemy and the normaliser (lxml): imported when the command runs, not for --help.
    from pipelines.archive.reextract import reextract_articles
    from pipelines.archive.spans import sigterm_interrupts

    check_site_channel(config, args.site, args.channel)

    def progress(done: int, total: int) -> None:
        print(f"reextract: {done}/{total} articles", file=sys.stderr, flush=True)

    with sigterm_interrupts(), catalogue_session(config) as session:
        report = reextract_articles(
            session,
            config.archive.warc,
            site=args.site,
            channel=args.channel,
            since=args.since,
            until=args.until,
            on_progress=progress,
            profiles={site.key: site.profile for site in config.seeds().sites},
            jobs=args.jobs,
        )
    print_report(report.as_json(), report_lines(report), args.format, sys.stdout)
    return EXIT_FAILED if report.failures else EXIT_OK


def report_lines(report: ReextractReport) -> Iterator[str]:
    """A summary line, and one line per failure."""
    yield report.summary()
    for failure in report.failures:
        yield f"failed: {failure.url}: {failure.reason}"
