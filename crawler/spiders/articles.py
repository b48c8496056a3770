"""Article pages: page 1, its later pages one after the other, its pictures and attached
files; each page normalised as it arrives, and the article handed on as one item."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.capture import FIRST_CAPTURE_KEY
from crawler.catalogue import catalogue_writer
from crawler.items import ArticlePagesItem, FetchedPage
from crawler.list_failures import STOPPING, describe_failure
from crawler.normalising import PageNormaliser
from crawler.prompt_stop import CrawlStopping
from crawler.spiders.site import SiteSpider
from crawler.withdrawals import RECHECK_KEY, WITHDRAWN, Rechecks
from pipelines.catalogue.lifecycle import Withdrawal
from pipelines.warc.location import RecordLocation
from pipelines.withdrawal import (
    NOT_FOUND_TEMPLATE,
    OutageGuard,
    gone_reason,
    redirect_reason,
    says_not_found,
)

logger = logging.getLogger(__name__)

# Scheduler priorities (higher first): see crawler/spiders/lists.py for the whole order.
ARTICLE_PRIORITY = 0
ATTACHMENT_PRIORITY = -1  # pictures and attached files
# request.meta: the list page number that listed an article (its walk counts the article
# settled once it is catalogued, rejected or failed).
WALK_PAGE_KEY = "cppcc_walk_page"
# Articles that failed for a reason other than their status (a redirect loop, a reset
# connection), listed by URL in the run's summary: at most this many.
FAILED_PAGES_LISTED = 100


class ArticlePages(SiteSpider):
    """The callbacks of an article's pages and parts."""

    # -- article pages --------------------------------------------------------------------

    async def parse_article(self, response: Response) -> AsyncIterator[Any]:
        """Page 1 of an article: its pictures, then its next page or the finished item; for
        a re-check that finds the article withdrawn, nothing (the crawl records it at close)."""
        first = await self._fetched(response, 1)
        channel, recheck = response.meta["cppcc_channel"], response.meta.get(RECHECK_KEY)
        if recheck is not None:
            withdrawal = self._withdrawal(response, first)
            if withdrawal is not None:
                self.rechecks.withdrawn(channel, recheck, withdrawal)
                self._settle(response.meta)
                return
            self.rechecks.answered(channel, recheck)
        item = ArticlePagesItem(
            site=self.site.key,
            channel=channel,
            url=self.article_url(response.url) or response.meta["cppcc_article"],
            pages=[first],
            walk_page=response.meta.get(WALK_PAGE_KEY),
            withdrawn=recheck == WITHDRAWN,
        )
        for request in self._page_parts(response, first):
            yield request
        pages = self.article_pages(response, first)
        for output in self._next_page_or_item(item, pages, requested={1}):
            yield output

    async def parse_article_page(self, response: Response) -> AsyncIterator[Any]:
        """A later page of an article: kept, and its pager read for pages not yet seen."""
        item: ArticlePagesItem = response.meta["cppcc_item"]
        page = await self._fetched(response, response.meta["cppcc_page"])
        item.pages.append(page)
        for request in self._page_parts(response, page):
            yield request
        pending: dict[int, str] = response.meta["cppcc_pending"]
        for number, url in self.article_pages(response, page).items():
            pending.setdefault(number, url)
        for output in self._next_page_or_item(item, pending, response.meta["cppcc_requested"]):
            yield output

    # -- normalising ----------------------------------------------------------------------

    @cached_property
    def normaliser(self) -> PageNormaliser:
        """Where this crawl's pages are normalised: a process of its own on a second core."""
        return PageNormaliser.from_crawler(self.crawler)

    async def _fetched(self, response: Response, page: int) -> FetchedPage:
        """The page as fetched, normalised: its article (or why it is none) and its links.

        Normalised once, parsed once: the item pipelines want its fields, the spider its
        pictures and pager. A page rejected (no date, say) is parsed once more for its links,
        and a page that is no HTML at all has none."""
        fetched = FetchedPage(
            url=response.url,
            status=response.status,
            headers=_headers(response),
            body=response.body,
            capture=response.meta.get("cppcc_capture"),
            page=page,
        )
        normalised = await self.normaliser.page(
            fetched.url,
            fetched.headers,
            fetched.body,
            profile=self.profile,
            fetched_at=fetched.fetched_at,
        )
        fetched.article, fetched.rejected = normalised.article, normalised.rejected
        fetched.links = normalised.links
        return fetched

    def _next_page_or_item(
        self, item: ArticlePagesItem, pending: dict[int, str], requested: set[int]
    ) -> Iterable[Any]:
        """Fetch the lowest page not yet asked for, or hand on the item when none is left."""
        # Pages are fetched one after the other: every page's pager may show more of them.
        left = {number: url for number, url in pending.items() if number not in requested}
        if not left:
            yield self._finished(item)
            return
        number = min(left)
        meta = {
            "cppcc_item": item,
            "cppcc_page": number,
            "cppcc_pending": left,
            "cppcc_requested": requested | {number},
        }
        yield scrapy.Request(
            left[number],
            callback=self.parse_article_page,
            errback=self.article_page_failed,
            meta=meta,
            priority=ARTICLE_PRIORITY,
            # The chain must reach its end to yield the item; it never asks for a page twice.
            dont_filter=True,
        )

    def article_page_failed(self, failure: Failure) -> Iterable[Any]:
        """A later page of an article failed: keep what was fetched, and say what is missing."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(CrawlStopping):
            # Not the page's failure: the article is left whole for the next crawl, unsettled.
            self.crawler.stats.inc_value("cppcc/stopping/articles_unfinished")
            return
        item: ArticlePagesItem = request.meta["cppcc_item"]
        item.missing_pages.append(request.url)
        self.crawler.stats.inc_value("cppcc/articles/pages_missing")
        meta = request.meta
        yield from self._next_page_or_item(item, meta["cppcc_pending"], meta["cppcc_requested"])

    def article_failed(self, failure: Failure) -> None:
        """Page 1 of an article could not be fetched: logged, counted, and settled for its walk.

        A page that answered an HTTP error is archived and listed in the run's summary; a
        redirect loop or a download error is counted here and named there.
        """
        request = failure.request  # type: ignore[attr-defined]
        kind, why, _ = describe_failure(failure)
        if kind == STOPPING:  # not sent: neither failed nor settled; the next crawl fetches it
            return
        self._recheck_failed(failure, request.meta)
        self._page_failed(request.meta.get("redirect_urls", [request.url])[0], kind, why)
        self._settle(request.meta)

    # -- re-checks: articles withdrawn and restored ---------------------------------------

    @cached_property
    def rechecks(self) -> Rechecks:
        """This crawl's re-checks of catalogued articles (made on first use)."""
        settings = self.crawler.settings
        guard = OutageGuard(
            min_rechecks=settings.getint("CPPCC_WITHDRAWN_MIN_RECHECKS", 5),
            max_percent=settings.getfloat("CPPCC_WITHDRAWN_MAX_PERCENT", 50.0),
        )
        assert self.crawler.stats is not None
        return Rechecks(self.crawler.stats, guard)

    def _withdrawal(self, response: Response, first: FetchedPage) -> Withdrawal | None:
        """The withdrawal a re-checked article's page shows: a redirect to the home page or a
        list page, or a page that does not normalise and says "page not found"."""
        reason = None
        if response.meta.get("redirect_urls"):
            reason = self._redirect_reason(response.url)
        if reason is None and first.article is None and says_not_found(first.headers, first.body):
            reason = NOT_FOUND_TEMPLATE
        if reason is None:
            return None
        return self._withdrawal_of(response.meta, reason, response.meta.get(FIRST_CAPTURE_KEY))

    def _redirect_reason(self, url: str) -> str | None:
        lists = [self.site.url(channel.list_path) for channel in self.site.channels]
        return redirect_reason(url, self.site.base_url, self.own_hosts, lists)

    def _withdrawal_of(
        self, meta: dict[str, Any], reason: str, evidence: RecordLocation | None
    ) -> Withdrawal:
        at = evidence.fetched_at if evidence is not None else datetime.now(UTC)
        return Withdrawal(meta["cppcc_article"], reason, evidence, at)

    def _recheck_failed(self, failure: Failure, meta: dict[str, Any]) -> None:
        """A re-check that failed: a 404 or 410 is a withdrawal; a 5xx or a download error
        says the server is in trouble, not that the article went."""
        recheck = meta.get(RECHECK_KEY)
        if recheck is None:
            return
        channel = meta["cppcc_channel"]
        reason = gone_reason(failure.value.response.status) if failure.check(HttpError) else None
        if reason is None:
            self.rechecks.answered(channel, recheck)
            return
        evidence = failure.value.response.meta.get(FIRST_CAPTURE_KEY)
        self.rechecks.withdrawn(channel, recheck, self._withdrawal_of(meta, reason, evidence))

    def close_rechecks(self) -> None:
        """Record the withdrawals this crawl's re-checks found (or say why not)."""
        if "rechecks" not in self.__dict__:
            return  # nothing re-checked
        run_id = self.crawler.settings.getint("CPPCC_RUN_ID") or None
        self.rechecks.close(catalogue_writer(self.crawler), self.site.key, run_id)

    def _page_failed(self, url: str, kind: str, why: str) -> None:
        stats = self.crawler.stats
        stats.inc_value(f"cppcc/articles/failed/{kind}")
        if kind.startswith("http-") or kind == "robots":
            # Archived and listed by the run report already; or the crawler being polite.
            logger.info("article %s %s", url, why)
            return
        logger.warning("article %s %s", url, why)
        failed = stats.get_value("cppcc/failed_pages") or []
        if len(failed) < FAILED_PAGES_LISTED:
            stats.set_value("cppcc/failed_pages", [*failed, {"url": url, "why": why}])

    def _item_settled(self, item: Any) -> None:
        """An article left the item pipelines (catalogued, rejected or failed): settled."""
        if isinstance(item, ArticlePagesItem) and item.walk_page is not None:
            self.walks.settled(item.channel, item.walk_page)

    def _settle(self, meta: dict[str, Any]) -> None:
        if meta.get(WALK_PAGE_KEY) is not None:
            self.walks.settled(meta["cppcc_channel"], meta[WALK_PAGE_KEY])

    def _finished(self, item: ArticlePagesItem) -> ArticlePagesItem:
        """The item with its pages in page order; missing pages logged with their URLs."""
        item.pages.sort(key=lambda page: page.page)
        if item.missing_pages:
            logger.warning(
                "article %s is kept without %d page(s) that could not be fetched: %s",
                item.url,
                len(item.missing_pages),
                " ".join(item.missing_pages),
            )
        return item

    def _page_parts(self, response: Response, page: FetchedPage) -> Iterable[scrapy.Request]:
        """A request for each picture and attached file the normaliser found on this page.

        They are part of the article: archived, never parsed, and they may sit on a host of
        their own, so the offsite filter lets them through. A page archived as a revisit
        (unchanged since its last capture) has its parts archived already: they are not asked
        for again.
        """
        capture = response.meta.get("cppcc_capture")
        if capture is not None and capture.record_type == "revisit":
            self.crawler.stats.inc_value("cppcc/pictures/unchanged_page")
            return
        links = page.links
        for urls, callback in (
            (links.pictures, self.picture_fetched),
            (links.attachments, self.attachment_fetched),
        ):
            for url in dict.fromkeys(urls):
                if url.startswith(("http://", "https://")):
                    yield scrapy.Request(
                        url,
                        callback=callback,
                        meta={"allow_offsite": True},
                        priority=ATTACHMENT_PRIORITY,
                    )

    def picture_fetched(self, response: Response) -> None:
        """Count a picture; the capture hook has already archived it."""
        self.crawler.stats.inc_value("cppcc/pictures")

    def attachment_fetched(self, response: Response) -> None:
        """Count an attachment; the capture hook has already archived it."""
        self.crawler.stats.inc_value("cppcc/attachments")


def _headers(response: Response) -> list[tuple[str, str]]:
    """Every header value of the response, repeated ones too."""
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in response.headers.items()
        for value in values
    ]
