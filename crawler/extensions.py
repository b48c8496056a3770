"""The run report: progress and final stats of a crawl, as JSON lines for the launcher."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from twisted.internet.task import LoopingCall

from pipelines.stats import HTTP_ERRORS, ITEM_ERRORS, progress_counts

logger = logging.getLogger(__name__)


def is_robots_txt(url: str) -> bool:
    """Whether `url` is a site's robots.txt (fetched by Scrapy itself, not by a spider)."""
    return urlsplit(url).path == "/robots.txt"


class RunReportExtension:
    """Write `{"event": "progress", ...}` lines while the crawl runs and one `finished` line.

    The launcher reads this file: `scrapy crawl` exits 0 even when callbacks raised, so the
    stats and the finish reason are how it knows what happened.
    """

    def __init__(self, path: Path, interval: float, stats: StatsCollector):
        self.path = path
        self.interval = interval
        self.stats = stats
        # The last status of each page that answered an error: a retried 500 is one page, and
        # a page that answered 500 and then 200 is no error at all.
        self.http_errors: dict[str, int] = {}
        self.robots_txt_status: int | None = None
        self.out: IO[str] | None = None
        self.ticker: LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunReportExtension:
        """On when CPPCC_REPORT_FILE names a file; follows the crawl's signals."""
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
        """Open the report and write progress every CPPCC_REPORT_INTERVAL seconds."""
        self.out = self.path.open("a", encoding="utf-8")
        self._write({"event": "started", "spider": spider.name})
        self.ticker = LoopingCall(self._progress)
        self.ticker.start(self.interval, now=False)

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        """Keep the last status of each page that answered an error, and robots.txt's."""
        if is_robots_txt(response.url):
            # Many sites have no robots.txt: a 404 there means "no rules", not a broken page.
            self.robots_txt_status = response.status
            return
        if response.status >= 400:
            self.http_errors[response.url] = response.status
        else:
            self.http_errors.pop(response.url, None)
        self.stats.set_value(HTTP_ERRORS, len(self.http_errors))

    def item_error(self, item: Any, response: Response, spider: Spider, failure: Any) -> None:
        """Count an exception raised in an item pipeline."""
        # An exception in our own pipeline code: the run is failed, whatever the exit code.
        self.stats.inc_value(ITEM_ERRORS)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Write the `finished` event: finish reason, counts, error pages, all stats."""
        if self.ticker is not None and self.ticker.running:
            self.ticker.stop()
        stats = self.stats.get_stats()
        self._write(
            {
                "event": "finished",
                "finish_reason": reason,
                "counts": progress_counts(stats),
                "http_errors": [
                    {"url": url, "status": status} for url, status in self.http_errors.items()
                ],
                "robots_txt_status": self.robots_txt_status,
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
    if isinstance(value, list | tuple):  # e.g. cppcc/failed_pages: one dict a page
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return str(value)
