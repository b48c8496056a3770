"""List walking: a channel's list pages, the articles each links, and the walk's next page."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.capture import FIRST_CAPTURE_KEY
from crawler.catalogue import catalogue_reads
from crawler.conditional import UNCONDITIONAL_KEY
from crawler.list_failures import STOPPING, describe_failure
from crawler.list_links import list_links
from crawler.spiders.articles import ARTICLE_PRIORITY, WALK_PAGE_KEY, ArticlePages
from crawler.walk import ListPage, ListWalk
from crawler.withdrawals import LIVE, RECHECK_KEY, WITHDRAWN
from pipelines.catalogue.recrawl import KnownPage, known_pages, stale_articles
from pipelines.catalogue.walks import walk_states
from pipelines.recheck import is_due
from pipelines.seeds import Channel
from pipelines.stats import NO_ARTICLES, SIMULATED_NOW

logger = logging.getLogger(__name__)

_NOT_WORD = re.compile(r"\W+")  # decorations around a pager text: spaces, >, », ›

# Scheduler priorities (higher first). A list page's articles, their later pages and their
# pictures are all fetched before the next list page: the walk stays one list page ahead of
# the downloads instead of queueing every article of the channel (Scrapy's queue is LIFO, so
# at equal priority the next list page would always jump the queue). Re-checks of articles
# that have left the list pages come last: new articles first.
# (ARTICLE_PRIORITY 0 and ATTACHMENT_PRIORITY -1: crawler/spiders/articles.py.)
NEXT_LIST_PAGE_PRIORITY = -2
RECHECK_PRIORITY = -3
# request.meta: the ListPage a list request fetches.
LIST_PAGE_KEY = "cppcc_list_page"


class ListPages(ArticlePages):
    """The callbacks of a channel's list pages, and the state of each channel's walk."""

    async def start(self) -> AsyncIterator[Any]:
        """The first list page of each selected channel, then its articles due a re-check."""
        if self.now is not None:  # the run is dated by it (`health`, the service's metrics)
            self.crawler.stats.set_value(SIMULATED_NOW, self.now.isoformat())
        self.walks.load(channel.key for channel in self.selected)
        for channel in self.selected:
            yield self._list_request(self.walks.walk(channel.key).first(), channel)
        for channel in self.selected:
            for request in await self._due_rechecks(channel):
                yield request

    def new_walk(self, channel_key: str) -> ListWalk:
        """The walk of a channel, from the state the catalogue holds (read once, at start)."""
        channel = self.site.channel(channel_key)
        reads = catalogue_reads(self.crawler)
        states = reads.read_now(walk_states, self.site.key, [channel_key])
        return self.walk_of(channel, states[channel_key])

    def walk_of(self, channel: Channel, state: Any) -> ListWalk:
        """A walk of `channel` from `state` with this crawl's limits."""
        return ListWalk(
            self.site.url(channel.list_path),
            state,
            slice_pages=self.backlog_list_pages,
            walk_known_pages=self.walk_known_pages,
            max_pages=self.max_list_pages,
        )

    async def _due_rechecks(self, channel: Channel) -> list[scrapy.Request]:
        """Requests for the channel's catalogued articles whose re-check is due.

        The list walk stops at the first page of settled articles, so an article that has
        left the first pages would never be checked again otherwise. At most
        CPPCC_RECHECK_PER_RUN of them, least recently checked first; one met on a list page is
        asked for once.
        """
        now = self.now or datetime.now(UTC)
        stale = await catalogue_reads(self.crawler).read(
            stale_articles, self.site.key, channel.key, now - self.recheck_after[0],
            self.recheck_limit,
        )  # fmt: skip
        due = [url for url, page in stale if is_due(page.first_seen, page.last_checked, now,
                                                    self.recheck_after)]  # fmt: skip
        self.crawler.stats.inc_value("cppcc/articles/due_off_list", len(due))
        states = {url: WITHDRAWN if page.withdrawn_at else LIVE for url, page in stale}
        meta = {"cppcc_channel": channel.key}
        return [
            scrapy.Request(url, callback=self.parse_article, errback=self.article_failed,
                           meta={**meta, "cppcc_article": url, RECHECK_KEY: states[url]},
                           priority=RECHECK_PRIORITY)
            for url in due
        ]  # fmt: skip

    def _list_request(self, page: ListPage, channel: Channel) -> scrapy.Request:
        meta = {"cppcc_channel": channel.key, "cppcc_list_number": page.number, LIST_PAGE_KEY: page}
        return scrapy.Request(
            page.url,
            callback=self.parse_list,
            errback=self.list_failed,
            meta=meta,
            priority=ARTICLE_PRIORITY if page.number == 1 else NEXT_LIST_PAGE_PRIORITY,
        )

    async def parse_list(self, response: Response) -> AsyncIterator[scrapy.Request]:
        """The articles a channel's list page links, and the walk's next list page."""
        channel = self.site.channel(response.meta["cppcc_channel"])
        unreadable = self._unreadable_list_page(response, channel)
        urls = [] if unreadable else self._article_links(response)
        # Which of them the catalogue knows, asked in a reading thread: downloads go on.
        known = await catalogue_reads(self.crawler).read(known_pages, urls) if urls else {}
        for request in self._walk_on(response, channel, unreadable, urls, known):
            yield request

    def _walk_on(
        self,
        response: Response,
        channel: Channel,
        unreadable: str | None,
        urls: list[str],
        known: dict[str, KnownPage],
    ) -> Iterable[scrapy.Request]:
        """The list page's article requests and the walk's next list page, or its failure."""
        walk = self.walks.walk(channel.key)
        page = response.meta.get(LIST_PAGE_KEY) or ListPage(
            response.url, response.meta.get("cppcc_list_number", 1), walk.first().phase
        )
        if unreadable is not None:
            yield from self._list_page_failed(channel, page, unreadable, kind="unreadable")
            return
        self.crawler.stats.inc_value(f"cppcc/list_pages/{channel.key}")
        empty = None if urls else self._empty_list_page(response, page)
        if empty is not None:
            yield from self._list_page_failed(channel, page, empty, kind=NO_ARTICLES)
            return
        requests = list(self._article_requests(urls, known, channel, page))
        walk.requested(page, len(requests))
        yield from requests
        following = walk.walked(
            page,
            urls,
            known,
            self.next_list_page(response, channel),
            self.last_list_page(response, channel),
        )
        self._count_walk(channel, walk, page)
        if following is not None:
            if following.phase != page.phase or following.number != page.number + 1:
                logger.info(
                    "%s: list page %d holds only settled articles; the backlog walk goes on "
                    "at list page %d",
                    channel.ref, page.number, following.number,
                )  # fmt: skip
            yield self._list_request(following, channel)
        elif walk.stopped == "settled":
            logger.info(
                "%s: list page %d holds only settled articles; the walk stops here",
                channel.ref,
                page.number,
            )
            self.crawler.stats.inc_value("cppcc/list_pages/walk_stopped_at_known")
        self.walks.record(channel.key)

    def _unreadable_list_page(self, response: Response, channel: Channel) -> str | None:
        """Why a list page cannot be read as the channel's list; None when it can."""
        if not self.in_channel(response.url, channel):
            # A moved channel redirecting to the homepage: its links are not this channel's.
            self.crawler.stats.inc_value("cppcc/list_pages/off_channel")
            return f"ended up outside the channel, at {response.url}"
        coded = (response.headers.get("Content-Encoding") or b"").decode("latin-1")
        if coded:  # StrictDecodingMiddleware passed it on undecoded: it does not decode whole
            return f"has a body that does not decode (Content-Encoding: {coded})"
        declared = (response.headers.get("Content-Type") or b"").decode("latin-1")
        # Scrapy guesses HTML from a `.shtml` URL whatever the server says: ask the server.
        if not isinstance(response, TextResponse) or (declared and "html" not in declared):
            return f"is not an HTML page ({declared or 'no Content-Type'})"
        return None

    def _empty_list_page(self, response: Response, page: ListPage) -> str | None:
        """Why a list page linking no article stops the walk as a failure; None when it is
        only empty (a last page with no item left: the walk ends there)."""
        if page.number == 1:
            return "linked no article of the channel (has it moved, or its layout changed?)"
        if not response.css("a"):  # not even the site's navigation: an error page, garbage
            return "holds no link at all: not a list page"
        return None

    def list_failed(self, failure: Failure) -> Iterable[scrapy.Request]:
        """A list page could not be fetched: counted, named, and the walk ends (or goes on)."""
        request = failure.request  # type: ignore[attr-defined]
        channel = self.site.channel(request.meta["cppcc_channel"])
        page: ListPage = request.meta[LIST_PAGE_KEY]
        kind, why, gone = describe_failure(failure)
        if kind == STOPPING:  # not sent: the walk stays where it was, for the next crawl
            return
        yield from self._list_page_failed(channel, page, why, kind=kind, gone=gone)

    def _list_page_failed(
        self, channel: Channel, page: ListPage, why: str, *, kind: str, gone: bool = False
    ) -> Iterable[scrapy.Request]:
        walk = self.walks.walk(channel.key)
        stats = self.crawler.stats
        stats.inc_value("cppcc/list_errors")
        stats.inc_value(f"cppcc/list_errors/{kind}")
        following = walk.failed(page, why, gone=gone)
        if following is not None:
            logger.warning(
                "%s: list page %d %s %s; the backlog walk goes on at list page %d",
                channel.ref, page.number, page.url, why, following.number,
            )  # fmt: skip
            stats.inc_value(f"cppcc/walk/{channel.key}/resume_page_gone")
            yield self._list_request(following, channel)
            return
        logger.error("%s: list page %d %s %s", channel.ref, page.number, page.url, why)
        if page.number == 1:
            self.rechecks.channel_down(channel.key, f"1 {page.url} {why}")
        prefix = f"cppcc/walk/{channel.key}"
        stats.set_value(f"{prefix}/failed_at", page.number)
        stats.set_value(f"{prefix}/failure", f"list page {page.number} {page.url} {why}")
        stats.set_value(f"{prefix}/failure_kind", kind)
        self._count_walk(channel, walk, page)
        self.walks.record(channel.key)

    def _count_walk(self, channel: Channel, walk: ListWalk, page: ListPage) -> None:
        """The walk's stats: pages walked, the deepest reached, the last page, why it stopped."""
        stats, prefix = self.crawler.stats, f"cppcc/walk/{channel.key}"
        stats.set_value(f"{prefix}/pages", walk.pages_walked)
        stats.max_value(f"{prefix}/reached", page.number)
        if walk.last_page:
            stats.set_value(f"{prefix}/last_page", walk.last_page)
        if walk.stopped:
            stats.set_value(f"{prefix}/stopped", walk.stopped)

    def _article_links(self, response: Response) -> list[str]:
        """The canonical URLs of the articles a list page's items link, in page order, once
        each (the profile's list rules say which links are items)."""
        hrefs, rule = list_links(response, self.profile)
        self.crawler.stats.inc_value(f"cppcc/list_links/{rule}")
        urls = (self.article_url(response.urljoin(href)) for href in hrefs)
        return list(dict.fromkeys(url for url in urls if url))

    def _article_requests(
        self, urls: list[str], known: dict[str, KnownPage], channel: Channel, page: ListPage
    ) -> Iterable[scrapy.Request]:
        """A request for every article not archived yet, and for the ones due a re-check."""
        now = self.now or datetime.now(UTC)
        stats = self.crawler.stats
        for url in urls:
            found = known.get(url)
            if found is not None:
                if not is_due(found.first_seen, found.last_checked, now, self.recheck_after):
                    stats.inc_value("cppcc/articles/not_due")
                    continue
                stats.inc_value("cppcc/articles/rechecked")
            meta: dict[str, Any] = {
                "cppcc_channel": channel.key,
                "cppcc_article": url,
                WALK_PAGE_KEY: page.number,
            }
            if found is None:
                # Never archived as an article, a rejected page or a redirect: the catalogue
                # holds no validators for it, so the conditional middleware need not look.
                meta[UNCONDITIONAL_KEY] = True
            elif found.article:  # a catalogued article: is it still there?
                meta[RECHECK_KEY] = WITHDRAWN if found.withdrawn_at else LIVE
            yield scrapy.Request(
                url,
                callback=self.parse_article,
                errback=self.article_failed,
                meta=meta,
                priority=ARTICLE_PRIORITY,
            )

    def next_list_page(self, response: Response, channel: Channel) -> str | None:
        """The channel's next list page: `index_N.shtml` after this one, or a 下一页 link.

        Only pages on the site and in the channel's own folder (not a sub-folder) count, so
        navigation to other channels is never followed. A 下一页 on the last page that links
        the page itself (as many CMS pagers print it) is no next page.
        """
        # A list page not named index*.shtml (a channel's folder URL) is page 1.
        current = _list_page_number(urlsplit(response.url).path) or 1
        this_page = response.url.split("#", 1)[0]
        for link in response.css("a"):
            url = response.urljoin(link.attrib.get("href", ""))
            if url.split("#", 1)[0] == this_page or not self.in_channel(
                url, channel, subfolders=False
            ):
                continue
            text = _NOT_WORD.sub("", "".join(link.css("::text").getall()))
            is_next = _list_page_number(urlsplit(url).path) == current + 1
            if text in self.profile.next_page_texts or is_next:
                return url
        return None

    def last_list_page(self, response: Response, channel: Channel) -> int | None:
        """The number of the channel's last list page, as the page's pager links it (尾页)."""
        numbers = [
            _list_page_number(urlsplit(url).path)
            for url in map(response.urljoin, response.css("a::attr(href)").getall())
            if self.in_channel(url, channel, subfolders=False)
        ]
        return max((number for number in numbers if number), default=None)

    def _request_dropped(self, request: scrapy.Request) -> None:
        """A request the scheduler dropped as asked for already: an article listed twice
        (settled), or a redirect back to a page already fetched (a redirect loop)."""
        meta = request.meta
        if not meta.get("redirect_times"):
            self._settle(meta)
            return
        if RECHECK_KEY in meta and self._dropped_recheck(request):
            return
        why = "redirected back to a page already fetched (a redirect loop)"
        if LIST_PAGE_KEY in meta:
            channel = self.site.channel(meta["cppcc_channel"])
            page = meta[LIST_PAGE_KEY]
            for following in self._list_page_failed(channel, page, why, kind="redirect-loop"):
                assert self.crawler.engine is not None  # signals only fire while it runs
                self.crawler.engine.crawl(following)
            return
        self._page_failed(meta.get("redirect_urls", [request.url])[0], "redirect-loop", why)
        self._settle(meta)

    def _dropped_recheck(self, request: scrapy.Request) -> bool:
        """Whether a re-checked article redirected to a list page (or the home page) fetched
        already: withdrawn. The redirect is the evidence; the page it leads to is archived."""
        reason = self._redirect_reason(request.url)
        if reason is None:
            return False
        meta = request.meta
        evidence = meta.get(FIRST_CAPTURE_KEY)
        withdrawal = self._withdrawal_of(meta, reason, evidence)
        self.rechecks.withdrawn(meta["cppcc_channel"], meta[RECHECK_KEY], withdrawal)
        self._settle(meta)
        return True

    def closed(self, reason: str) -> None:
        """Record how far each channel's walk got (what it finished, whatever the reason),
        and the withdrawals the crawl's re-checks found."""
        self.walks.close()
        self.close_rechecks()


_LIST_PAGE = re.compile(r"/index(?:_(\d+))?\.s?html?$")


def _list_page_number(path: str) -> int | None:
    match = _LIST_PAGE.search(path)
    if not match:
        return None
    return int(match.group(1) or 1)
