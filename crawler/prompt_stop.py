"""Stop promptly: once a crawl is stopping, send nothing more that waits in the downloader.

When a crawl is asked to stop (Ctrl-C, its time limit, its launcher gone, a lost catalogue),
Scrapy stops taking requests from its scheduler but waits for every request already handed
to the downloader, including those queued behind the download delay: with a 3 s delay and
eight queued, half a minute of fetching after the user said stop. This extension fails the
queued ones instead (CrawlStopping), so only the pages in flight are finished. A request
dropped so is not a failure of the page: the spider neither counts it nor settles it in its
walk, and the next crawl fetches it.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider, signals
from scrapy.core.downloader import Slot
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.statscollectors import StatsCollector
from twisted.internet.task import LoopingCall

logger = logging.getLogger(__name__)
CHECK_INTERVAL = 0.2  # seconds between looks: a stop is acted on within this
DROPPED_STAT = "cppcc/stopping/dropped"


class CrawlStopping(IgnoreRequest):
    """A request not sent because the crawl is stopping: not the page's failure."""


def crawl_is_stopping(crawler: Crawler) -> bool:
    """Whether the crawl is stopping (a signal, a time limit, its launcher gone, CloseSpider)."""
    # The engine tells no one that it is closing before it waits for the requests queued in
    # the downloader; its slot's `closing` (Scrapy 2.14-2.19) is the one sign.
    closing = getattr(getattr(crawler.engine, "_slot", None), "closing", None)
    return not crawler.crawling or closing is not None


def drop_queued(slot: Slot, why: str, stats: StatsCollector) -> int:
    """Fail the requests waiting in a downloader slot with CrawlStopping; how many there were.

    A robots.txt request is left to go: RobotsTxtMiddleware logs any failure of it as an
    error, and the requests it holds back wait for it anyway.
    """
    kept: list[tuple[Any, Any]] = []
    dropped = 0
    while slot.queue:
        request, deferred = slot.queue.popleft()
        if request.url.endswith("/robots.txt"):
            kept.append((request, deferred))
            continue
        dropped += 1
        deferred.errback(CrawlStopping(f"{request.url}: not sent, {why}"))
    slot.queue.extend(kept)
    if dropped:
        stats.inc_value(DROPPED_STAT, dropped)
    return dropped


class PromptStopExtension:
    """Once the crawl is stopping, fail what waits in the downloader's queues (see module)."""

    def __init__(self, crawler: Crawler, stats: StatsCollector) -> None:
        self.crawler = crawler
        self.stats = stats
        self.ticker: LoopingCall | None = None
        self.announced = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PromptStopExtension:
        assert crawler.stats is not None
        extension = cls(crawler, crawler.stats)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self.ticker = LoopingCall(self.check)
        self.ticker.start(CHECK_INTERVAL, now=False)

    def spider_closed(self, spider: Spider) -> None:
        if self.ticker is not None and self.ticker.running:
            self.ticker.stop()

    def check(self) -> None:
        """While stopping, drop what waits in every downloader slot (more may still come from
        middlewares finishing a request they held)."""
        if self.crawler.engine is None or not crawl_is_stopping(self.crawler):
            return
        downloader = self.crawler.engine.downloader
        dropped = sum(
            drop_queued(slot, "the crawl is stopping", self.stats)
            for slot in list(downloader.slots.values())
        )
        if not self.announced:
            self.announced = True
            logger.info(
                "The crawl is stopping: %d request(s) in flight are finished, %d waiting in "
                "the downloader (a download delay, a Retry-After) are not sent (the next crawl "
                "fetches them)",
                len(downloader.active) - dropped,
                dropped,
            )
        elif dropped:
            logger.info("The crawl is stopping: %d more waiting request(s) not sent", dropped)
