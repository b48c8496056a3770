"""The run report: progress and final stats of a crawl, as JSON lines for the launcher."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from twisted.internet.task import LoopingCall

logger = logging.getLogger(__name__)

# The counts a user watches while a crawl runs, by the stats key they come from.
PROGRESS_STATS = {
    "pages_fetched": "response_received_count",
    "articles_new": "cppcc/articles/new",
    "articles_updated": "cppcc/articles/updated",
    "articles_unchanged": "cppcc/articles/unchanged",
    "pages_rejected": "cppcc/pages_rejected",
    "http_errors": "cppcc/http_errors",
}
# What counts as an error: our own code raising, the archive failing, or a download failing
# for a reason other than an HTTP status (those are `http_errors`).
ERROR_STATS_PREFIXES = ("spider_exceptions/", "cppcc/errors/", "cppcc/warc/errors")
ERROR_STATS = ("downloader/exception_count",)


def progress_counts(stats: dict[str, Any]) -> dict[str, int]:
    counts = {name: int(stats.get(key, 0)) for name, key in PROGRESS_STATS.items()}
    counts["errors"] = sum(
        int(value)
        for key, value in stats.items()
        if key.startswith(ERROR_STATS_PREFIXES) or key in ERROR_STATS
    )
    return counts


class RunReportExtension:
    """Write `{"event": "progress", ...}` lines while the crawl runs and one `finished` line.

    The launcher reads this file: `scrapy crawl` exits 0 even when callbacks raised, so the
    stats and the finish reason are how it knows what happened.
    """

    def __init__(self, path: Path, interval: float, stats: StatsCollector):
        self.path = path
        self.interval = interval
        self.stats = stats
        self.http_errors: list[dict[str, Any]] = []
        self.out: IO[str] | None = None
        self.ticker: LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunReportExtension:
        path = crawler.settings.get("CPPCC_REPORT_FILE")
        if not path:
            raise NotConfigured  # off unless a launcher asks for a report: nothing to say
        extension = cls(
            Path(path), crawler.settings.getfloat("CPPCC_REPORT_INTERVAL"), crawler.stats
        )
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(extension.item_error, signal=signals.item_error)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self.out = self.path.open("a", encoding="utf-8")
        self._write({"event": "started", "spider": spider.name})
        self.ticker = LoopingCall(self._progress)
        self.ticker.start(self.interval, now=False)

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        if response.status >= 400:
            self.stats.inc_value("cppcc/http_errors")
            self.http_errors.append({"url": response.url, "status": response.status})

    def item_error(self, item: Any, response: Response, spider: Spider, failure: Any) -> None:
        # An exception in our own pipeline code: the run is failed, whatever the exit code.
        self.stats.inc_value("cppcc/errors/item")

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.ticker is not None and self.ticker.running:
            self.ticker.stop()
        stats = self.stats.get_stats()
        self._write(
            {
                "event": "finished",
                "finish_reason": reason,
                "counts": progress_counts(stats),
                "http_errors": self.http_errors,
                "stats": {key: _jsonable(value) for key, value in stats.items()},
            }
        )
        if self.out is not None:
            self.out.close()
            self.out = None

    def _progress(self) -> None:
        self._write({"event": "progress", "counts": progress_counts(self.stats.get_stats())})

    def _write(self, event: dict[str, Any]) -> None:
        if self.out is None:
            return
        self.out.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.out.flush()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)
