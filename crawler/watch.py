"""Stop a crawl cleanly when the process that launched it is gone."""

from __future__ import annotations

import logging
import os

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall

logger = logging.getLogger(__name__)
CLOSE_REASON = "launcher_gone"


class LauncherWatchExtension:
    """Close the spider when the launcher (the CLI or the service) has died.

    A crawl must not outlive the service that started it: after a kill -9 of the service it
    stops as after a power loss, but cleanly, so its WARC file is closed. The crawl runs in
    a session of its own (so a terminal's Ctrl-C reaches only the launcher), which is why a
    dead parent is noticed by polling rather than by the process group.
    Setting: CPPCC_LAUNCHER_PID (0 or unset: off).
    """

    def __init__(self, crawler: Crawler, launcher_pid: int, interval: float = 1.0):
        self.crawler = crawler
        self.launcher_pid = launcher_pid
        self.interval = interval
        self.ticker: LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LauncherWatchExtension:
        launcher_pid = crawler.settings.getint("CPPCC_LAUNCHER_PID")
        if not launcher_pid:
            raise NotConfigured
        extension = cls(crawler, launcher_pid)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self.ticker = LoopingCall(self.check)
        self.ticker.start(self.interval, now=True)

    def spider_closed(self, spider: Spider) -> None:
        if self.ticker is not None and self.ticker.running:
            self.ticker.stop()

    def check(self) -> None:
        """When our parent is no longer the launcher (it died and we were re-parented), stop."""
        if os.getppid() == self.launcher_pid:
            return
        logger.warning(
            "The launcher (pid %s) is gone: stopping the crawl cleanly", self.launcher_pid
        )
        if self.ticker is not None and self.ticker.running:
            self.ticker.stop()
        if self.crawler.engine is not None:  # None only before the engine exists
            closing = deferred_from_coro(
                self.crawler.engine.close_spider_async(reason=CLOSE_REASON)
            )
            closing.addErrback(lambda failure: logger.error("Cannot stop the crawl: %s", failure))
