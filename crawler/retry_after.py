"""Honour Retry-After: a 429 or 503 that names a wait holds back its host's next request."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from time import monotonic

from scrapy import Request, signals
from scrapy.core.downloader import Downloader, Slot
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from scrapy.utils.asyncio import call_later

from crawler.prompt_stop import crawl_is_stopping, drop_queued

logger = logging.getLogger(__name__)

# The statuses whose Retry-After means "come back later" (RFC 9110 §10.2.3); a 3xx's only
# says when to follow a redirect.
STATUSES = frozenset({429, 503})
_DELTA_SECONDS = re.compile(r"\d+")
# A hold looks this often whether the crawl is stopping: the engine waits for every request
# queued in the downloader before it closes, so a held request must not outlive the crawl.
_TICK = 1.0


def _http_date(text: str | None) -> datetime | None:
    """An HTTP-date as an aware datetime (UTC when it names no zone); None when it is none."""
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def retry_after_seconds(
    value: str, server_date: str | None = None, now: datetime | None = None
) -> float | None:
    """The seconds a Retry-After value asks to wait; None when it is no delay and no date.

    An HTTP-date counts from the response's own Date (`server_date`) when it has a valid one,
    so that a server whose clock is off still gets the wait it meant; else from `now`.
    """
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    retry_at = _http_date(value)
    if retry_at is None:
        return None
    start = _http_date(server_date) or now or datetime.now(UTC)
    return max(0.0, (retry_at - start).total_seconds())


class RetryAfterExtension:
    """Hold a downloader slot (a host) back for as long as a 429 or 503's Retry-After asks,
    at most CPPCC_RETRY_AFTER_MAX seconds; RetryMiddleware's retry of the page waits in it.

    It acts in `response_downloaded`, as AutoThrottle does: the downloader sends that signal
    before it frees the slot and starts the slot's next request, which a downloader
    middleware's process_response would come too late to stop. It holds the slot with the
    slot's `latercall`, the downloader's own way to hold a slot back, which AutoThrottle (it
    changes only `delay`) cannot shorten. A crawl that stops during a hold does not send what
    the hold kept back: those requests fail (CrawlStopping) and the next crawl asks again.
    """

    def __init__(self, crawler: Crawler, stats: StatsCollector, max_wait: float) -> None:
        self.crawler = crawler
        self.stats = stats
        self.max_wait = max_wait
        self._until: dict[str, float] = {}  # slot key -> monotonic time its hold ends

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterExtension:
        max_wait = crawler.settings.getfloat("CPPCC_RETRY_AFTER_MAX")
        if max_wait <= 0:
            raise NotConfigured
        if not hasattr(Downloader, "_latercall"):
            raise NotConfigured("Retry-After is honoured with Scrapy 2.14 or newer only")
        assert crawler.stats is not None
        extension = cls(crawler, crawler.stats, max_wait)
        crawler.signals.connect(extension.response_downloaded, signal=signals.response_downloaded)
        return extension

    def response_downloaded(self, response: Response, request: Request) -> None:
        """Hold the response's slot when it is a 429 or 503 with a Retry-After."""
        raw = response.headers.get("Retry-After") if response.status in STATUSES else None
        if raw is None:
            return
        value = raw.decode("latin-1")
        wait = self._wait(value, response, request)
        key = request.meta.get(Downloader.DOWNLOAD_SLOT)
        if wait is not None and key is not None:
            logger.info(
                "%s answered %d with Retry-After: %s: the next request to its host waits %.1f s",
                request.url,
                response.status,
                value,
                wait,
            )
            self._hold(key, wait)

    def _wait(self, value: str, response: Response, request: Request) -> float | None:
        """The seconds to wait for a Retry-After `value`, cut to the bound; None if unreadable."""
        date = response.headers.get("Date")
        asked = retry_after_seconds(value, date.decode("latin-1") if date else None)
        if asked is None:
            self.stats.inc_value("cppcc/retry_after/unparsable")
            logger.warning(
                "%s answered %d with Retry-After %r, which is no delay and no date: "
                "retried without waiting for it",
                request.url,
                response.status,
                value,
            )
            return None
        if asked > self.max_wait:
            self.stats.inc_value("cppcc/retry_after/capped")
            logger.warning(
                "%s answered %d with Retry-After: %s (%.0f s); the wait is cut to "
                "CPPCC_RETRY_AFTER_MAX, %g s",
                request.url,
                response.status,
                value,
                asked,
                self.max_wait,
            )
        return min(asked, self.max_wait)

    def _hold(self, key: str, wait: float) -> None:
        """Start no request of slot `key` for `wait` seconds (a longer hold already set stays)."""
        assert self.crawler.engine is not None
        slot = self.crawler.engine.downloader.slots.get(key)
        if slot is None or wait <= 0:
            return
        now = monotonic()
        held_until = self._until.get(key, now) if slot.latercall is not None else now
        until = now + wait
        if held_until >= until:
            return
        if slot.latercall is not None:
            slot.latercall.cancel()  # the downloader's own delay, or a shorter hold of ours
        self._until[key] = until
        self._arm(key, slot)
        self.stats.inc_value("cppcc/retry_after/waits")
        # Whole seconds: Scrapy's stats count in integers.
        self.stats.inc_value("cppcc/retry_after/seconds", round(until - max(now, held_until)))

    def _arm(self, key: str, slot: Slot) -> None:
        """Hold the slot until its next look, at most _TICK seconds away."""
        remaining = self._until[key] - monotonic()
        slot.latercall = call_later(max(0.0, min(remaining, _TICK)), self._look, key, slot)

    def _look(self, key: str, slot: Slot) -> None:
        """Hold on, or let the slot go: its wait is over, or the crawl is stopping."""
        assert self.crawler.engine is not None
        if crawl_is_stopping(self.crawler):
            self._drop_queued(key, slot)
        elif monotonic() < self._until[key]:
            self._arm(key, slot)
            return
        # As after a download delay: the hold is cleared and the queued requests start.
        self.crawler.engine.downloader._latercall(slot)

    def _drop_queued(self, key: str, slot: Slot) -> None:
        """Fail the requests the hold kept back: the server asked for time, the crawl is over."""
        dropped = drop_queued(slot, "the crawl stopped during a Retry-After wait", self.stats)
        if dropped:
            logger.info(
                "the crawl is stopping: %d request(s) to %s held for a Retry-After are not sent",
                dropped,
                key,
            )
            self.stats.inc_value("cppcc/retry_after/dropped_at_stop", dropped)
