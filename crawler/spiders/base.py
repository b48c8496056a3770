"""What every CPPCC site spider shares: seeds, channels, list walking and article pages."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from crawler.catalogue import catalogue_reader
from crawler.conditional import UNCONDITIONAL_KEY
from crawler.items import ArticlePagesItem, FetchedPage
from crawler.list_failures import describe_failure
from crawler.walk import ListPage, ListWalk
from crawler.walk_record import WalkRecorder
from pipelines.catalogue.recrawl import KnownPage, known_pages, stale_articles
from pipelines.catalogue.walks import walk_states
from pipelines.normalise import (
    ArticleUrl,
    SiteProfile,
    canonical_article_url,
    page_url,
    parse_article_url,
)
from pipelines.recheck import DEFAULT_INTERVALS, is_due, parse_intervals, parse_now
from pipelines.seeds import Channel, Site, load_seeds

logger = logging.getLogger(__name__)

_NOT_WORD = re.compile(r"\W+")  # decorations around a pager text: spaces, >, », ›

# Scheduler priorities (higher first). A list page's articles, their later pages and their
# pictures are all fetched before the next list page: the walk stays one list page ahead of
# the downloads instead of queueing every article of the channel (Scrapy's queue is LIFO, so
# at equal priority the next list page would always jump the queue). Re-checks of articles
# that have left the list pages come last: new articles first.
ARTICLE_PRIORITY = 0
ATTACHMENT_PRIORITY = -1  # pictures and attached files
NEXT_LIST_PAGE_PRIORITY = -2
RECHECK_PRIORITY = -3
# request.meta: the ListPage a list request fetches, and the list page number that listed an
# article (its walk counts the article settled once it is catalogued, rejected or failed).
LIST_PAGE_KEY = "cppcc_list_page"
WALK_PAGE_KEY = "cppcc_walk_page"
# Articles that failed for a reason other than their status (a redirect loop, a reset
# connection), listed by URL in the run's summary: at most this many.
FAILED_PAGES_LISTED = 100


class ChannelSpider(scrapy.Spider):
    """Walk the list pages of a site's channels and fetch every article linked from them.

    A site spider names its profile and link rules; everything else is here. Spider
    arguments: `channels` (comma-separated channel keys; all enabled channels when empty)
    and `max_list_pages` (list pages walked per channel; 0 for no limit).

    Recrawls are incremental: an article already catalogued is fetched again only when its
    re-check is due (CPPCC_RECHECK_AFTER, a decaying schedule; CPPCC_NOW stands in for the
    clock), and a channel's walk stops at the first list page whose articles are all known
    (CPPCC_WALK_KNOWN_LIST_PAGES more such pages are walked before stopping).
    """

    # The site's selector table (pager, body), set by each site's spider.
    profile: SiteProfile
    # Texts of a list page's "next page" link, decorations (下一页>, 下一页 ») removed.
    next_page_texts: tuple[str, ...] = ("下一页", "下页")

    def __init__(
        self, *args: Any, channels: str = "", max_list_pages: str | int = 0, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.channel_keys = [key for key in str(channels).split(",") if key]
        self.max_list_pages = int(max_list_pages or 0)
        self.site: Site
        self.selected: tuple[Channel, ...] = ()
        self.own_hosts: frozenset[str] = frozenset()
        self.recheck_after: tuple[timedelta, ...] = ()
        self.walk_known_pages = 0
        self.backlog_list_pages = 10  # list pages of a channel's backlog walked per crawl
        self.recheck_limit = 500  # articles re-checked per channel and run, off the list walk
        self.now: datetime | None = None  # None: the real clock
        self.walks: WalkRecorder

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        site = load_seeds(settings.get("CPPCC_SEEDS") or None).site(cls.name)
        # The seeds file owns politeness per site; a -s on the command line still wins.
        settings.set("DOWNLOAD_DELAY", site.download_delay, priority="spider")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", site.concurrent_requests, priority="spider")
        settings.set("AUTOTHROTTLE_ENABLED", site.autothrottle, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ChannelSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        seeds = load_seeds(crawler.settings.get("CPPCC_SEEDS") or None)
        spider.site = seeds.site(cls.name)
        refs = [f"{cls.name}/{key}" for key in spider.channel_keys] or [cls.name]
        spider.selected = seeds.select(refs)
        spider.own_hosts = _own_hosts(spider.site)
        settings = crawler.settings
        spider.recheck_after = parse_intervals(
            settings.get("CPPCC_RECHECK_AFTER") or DEFAULT_INTERVALS
        )
        spider.walk_known_pages = settings.getint("CPPCC_WALK_KNOWN_LIST_PAGES", 0)
        spider.backlog_list_pages = max(1, settings.getint("CPPCC_BACKLOG_LIST_PAGES", 10))
        spider.recheck_limit = settings.getint("CPPCC_RECHECK_PER_RUN", 500)
        spider.now = parse_now(settings.get("CPPCC_NOW") or "")
        spider.walks = WalkRecorder(crawler, spider.site.key, spider._new_walk)
        for handler, signal in (
            (spider._item_settled, signals.item_scraped),
            (spider._item_settled, signals.item_dropped),
            (spider._item_settled, signals.item_error),
            (spider._request_dropped, signals.request_dropped),
        ):
            crawler.signals.connect(handler, signal=signal)
        return spider

    # -- site rules, overridden by each site ---------------------------------------------

    def located(self, url: str) -> ArticleUrl | None:
        """Content id and page when `url` is an article page on this site, below its base_url."""
        if not self.is_own_host(url):
            return None
        return parse_article_url(url, self.profile, base_url=self.site.base_url)

    def article_url(self, url: str) -> str | None:
        """The canonical page-1 URL when `url` is an article of this site, else None."""
        if self.located(url) is None:
            return None
        return canonical_article_url(
            url, base_url=self.site.base_url, aliases=self.site.aliases, profile=self.profile
        )

    def article_pages(self, response: Response, page: FetchedPage) -> dict[int, str]:
        """The other pages of the article on `response` that its pager links, by number."""
        this = self.located(response.url)
        if this is None:
            return {}
        pages: dict[int, str] = {}
        # The pager links pages as <id>_<n>.shtml; it may show only a window of them.
        for url in page.links(self.profile).pager:
            other = self.located(url)
            if other and other.content_id == this.content_id and other.page > 1:
                pages.setdefault(other.page, page_url(url, other.page, self.profile))
        return pages

    # -- where a URL is ---------------------------------------------------------------------

    def is_own_host(self, url: str) -> bool:
        """Whether `url` is on the site's host or one of its aliases."""
        return urlsplit(url).netloc.lower() in self.own_hosts

    def in_channel(self, url: str, channel: Channel, *, subfolders: bool = True) -> bool:
        """Whether `url` is on the site and inside the folder of the channel's list page."""
        folder = urlsplit(self.site.url(channel.list_path)).path.rsplit("/", 1)[0] + "/"
        path = urlsplit(url).path
        if not self.is_own_host(url) or not path.startswith(folder):
            return False
        return subfolders or "/" not in path[len(folder) :]

    # -- list pages ---------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        """The first list page of each selected channel, then its articles due a re-check."""
        self.walks.load(channel.key for channel in self.selected)
        for channel in self.selected:
            yield self._list_request(self.walks.walk(channel.key).first(), channel)
        for channel in self.selected:
            for request in self._due_rechecks(channel):
                yield request

    def _new_walk(self, channel_key: str) -> ListWalk:
        """The walk of a channel, from the state the catalogue holds (read once, at start)."""
        channel = self.site.channel(channel_key)
        with catalogue_reader(self.crawler)() as session:
            state = walk_states(session, self.site.key, [channel_key])[channel_key]
        return self.walk_of(channel, state)

    def walk_of(self, channel: Channel, state: Any) -> ListWalk:
        """A walk of `channel` from `state` with this crawl's limits."""
        return ListWalk(
            self.site.url(channel.list_path),
            state,
            slice_pages=self.backlog_list_pages,
            walk_known_pages=self.walk_known_pages,
            max_pages=self.max_list_pages,
        )

    def _due_rechecks(self, channel: Channel) -> list[scrapy.Request]:
        """Requests for the channel's catalogued articles whose re-check is due.

        The list walk stops at the first page of settled articles, so an article that has
        left the first pages would never be checked again otherwise. At most
        CPPCC_RECHECK_PER_RUN of them, least recently checked first; one met on a list page is
        asked for once.
        """
        now = self.now or datetime.now(UTC)
        with catalogue_reader(self.crawler)() as session:
            stale = stale_articles(
                session, self.site.key, channel.key, now - self.recheck_after[0], self.recheck_limit
            )
        due = [url for url, page in stale if is_due(page.first_seen, page.last_checked, now,
                                                    self.recheck_after)]  # fmt: skip
        self.crawler.stats.inc_value("cppcc/articles/due_off_list", len(due))
        meta = {"cppcc_channel": channel.key}
        return [
            scrapy.Request(url, callback=self.parse_article, errback=self.article_failed,
                           meta={**meta, "cppcc_article": url}, priority=RECHECK_PRIORITY)
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

    def parse_list(self, response: Response) -> Iterable[scrapy.Request]:
        """The articles a channel's list page links, and the walk's next list page."""
        channel = self.site.channel(response.meta["cppcc_channel"])
        walk = self.walks.walk(channel.key)
        page = response.meta.get(LIST_PAGE_KEY) or ListPage(
            response.url, response.meta.get("cppcc_list_number", 1), walk.first().phase
        )
        unreadable = self._unreadable_list_page(response, channel)
        if unreadable is not None:
            yield from self._list_page_failed(channel, page, unreadable, kind="unreadable")
            return
        self.crawler.stats.inc_value(f"cppcc/list_pages/{channel.key}")
        urls = self._article_links(response)
        empty = None if urls else self._empty_list_page(response, page)
        if empty is not None:
            yield from self._list_page_failed(channel, page, empty, kind="no-articles")
            return
        known = self._known(urls)
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
        prefix = f"cppcc/walk/{channel.key}"
        stats.set_value(f"{prefix}/failed_at", page.number)
        stats.set_value(f"{prefix}/failure", f"list page {page.number} {page.url} {why}")
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
        """The canonical URLs of the articles a list page links, in page order, once each."""
        urls = (
            self.article_url(response.urljoin(href))
            for href in response.css("a::attr(href)").getall()
        )
        return list(dict.fromkeys(url for url in urls if url))

    def _known(self, urls: list[str]) -> dict[str, KnownPage]:
        with catalogue_reader(self.crawler)() as session:
            return known_pages(session, urls)

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
        navigation to other channels is never followed.
        """
        # A list page not named index*.shtml (a channel's folder URL) is page 1.
        current = _list_page_number(urlsplit(response.url).path) or 1
        for link in response.css("a"):
            url = response.urljoin(link.attrib.get("href", ""))
            if not self.in_channel(url, channel, subfolders=False):
                continue
            text = _NOT_WORD.sub("", "".join(link.css("::text").getall()))
            if text in self.next_page_texts or _list_page_number(urlsplit(url).path) == current + 1:
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

    # -- article pages --------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterable[Any]:
        """Page 1 of an article: its pictures, then its next page or the finished item."""
        first = _fetched(response, page=1)
        item = ArticlePagesItem(
            site=self.site.key,
            channel=response.meta["cppcc_channel"],
            url=self.article_url(response.url) or response.meta["cppcc_article"],
            pages=[first],
            walk_page=response.meta.get(WALK_PAGE_KEY),
        )
        yield from self._page_parts(response, first)
        yield from self._next_page_or_item(item, self.article_pages(response, first), requested={1})

    def parse_article_page(self, response: Response) -> Iterable[Any]:
        """A later page of an article: kept, and its pager read for pages not yet seen."""
        item: ArticlePagesItem = response.meta["cppcc_item"]
        page = _fetched(response, page=response.meta["cppcc_page"])
        item.pages.append(page)
        yield from self._page_parts(response, page)
        pending: dict[int, str] = response.meta["cppcc_pending"]
        for number, url in self.article_pages(response, page).items():
            pending.setdefault(number, url)
        yield from self._next_page_or_item(item, pending, response.meta["cppcc_requested"])

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
        self._page_failed(request.meta.get("redirect_urls", [request.url])[0], kind, why)
        self._settle(request.meta)

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

    def _request_dropped(self, request: scrapy.Request) -> None:
        """A request the scheduler dropped as asked for already: an article listed twice
        (settled), or a redirect back to a page already fetched (a redirect loop)."""
        meta = request.meta
        if not meta.get("redirect_times"):
            self._settle(meta)
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

    def _settle(self, meta: dict[str, Any]) -> None:
        if meta.get(WALK_PAGE_KEY) is not None:
            self.walks.settled(meta["cppcc_channel"], meta[WALK_PAGE_KEY])

    def closed(self, reason: str) -> None:
        """Record how far each channel's walk got (what it finished, whatever the reason)."""
        self.walks.close()

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
        links = page.links(self.profile)
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


_LIST_PAGE = re.compile(r"/index(?:_(\d+))?\.s?html?$")


def _list_page_number(path: str) -> int | None:
    match = _LIST_PAGE.search(path)
    if not match:
        return None
    return int(match.group(1) or 1)


def _own_hosts(site: Site) -> frozenset[str]:
    """The site's host (with its port) and its aliases (bare hosts or URLs), lower-cased."""
    aliases = (urlsplit(alias).netloc if "//" in alias else alias for alias in site.aliases)
    return frozenset({urlsplit(site.base_url).netloc.lower(), *map(str.lower, aliases)})


def _headers(response: Response) -> list[tuple[str, str]]:
    """Every header value of the response, repeated ones too."""
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in response.headers.items()
        for value in values
    ]


def _fetched(response: Response, page: int) -> FetchedPage:
    return FetchedPage(
        url=response.url,
        status=response.status,
        headers=_headers(response),
        body=response.body,
        capture=response.meta.get("cppcc_capture"),
        page=page,
    )
