"""`scrapy crawl`, refused unless `cppcc-archive` started it.

A crawl started by hand takes no channel lock and records no run, so it could run beside
the service's crawl of the same channel and archive pages no run accounts for. The launcher
(scheduler/crawl_process.py) starts this same command with the run it recorded
(CPPCC_RUN_ID); anyone else is pointed at `cppcc-archive crawl`.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCrawl

EXIT_USAGE = 2


class Command(ScrapyCrawl):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        # Here, before Scrapy builds its crawler process (and logs its banner): a refusal
        # is one line.
        super().process_options(args, opts)
        assert self.settings is not None
        if not self.settings.getint("CPPCC_RUN_ID"):
            spider = args[0] if args else "SITE"
            print(
                f"scrapy crawl {spider}: a crawl started directly takes no channel lock and "
                f"records no run; run `cppcc-archive crawl {spider}` (or {spider}/CHANNEL) "
                "instead, which starts this crawl with its run",
                file=sys.stderr,
            )
            sys.exit(EXIT_USAGE)
