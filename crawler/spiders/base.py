"""What every CPPCC site spider shares: seeds, channels, list walking and article pages."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from crawler.catalogue import catalogue_reader
from crawler.conditional import UNCONDITIONAL_KEY
from crawler.items import ArticlePagesItem, FetchedPage
from crawler.recheck import DEFAULT_INTERVALS, is_due, parse_intervals, parse_now
from crawler.seeds import Channel, Site, load_seeds
from pipelines.catalogue.recrawl import KnownPage, known_pages, stale_articles
from pipelines.normalise import (
    ArticleUrl,
    SiteProfile,
    canonical_article_url,
    page_url,
    parse_article_url,
)

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
        self.recheck_limit = 500  # articles re-checked per channel and run, off the list walk
        self.now: datetime | None = None  # None: the real clock
        self._known_list_pages: Counter[str] = Counter()  # by channel key

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
        spider.recheck_limit = settings.getint("CPPCC_RECHECK_PER_RUN", 500)
        spider.now = parse_now(settings.get("CPPCC_NOW") or "")
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
        for channel in self.selected:
            yield self._list_request(self.site.url(channel.list_path), channel, number=1)
        for channel in self.selected:
            for request in self._due_rechecks(channel):
                yield request

    def _due_rechecks(self, channel: Channel) -> list[scrapy.Request]:
        """Requests for the channel's catalogued articles whose re-check is due.

        The list walk stops at the first page of known articles, so an article that has left
        the first pages would never be checked again otherwise. At most CPPCC_RECHECK_PER_RUN
        of them, least recently checked first; one met on a list page is asked for once.
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
            scrapy.Request(url, callback=self.parse_article, meta={**meta, "cppcc_article": url},
                           priority=RECHECK_PRIORITY)
            for url in due
        ]  # fmt: skip

    def _list_request(self, url: str, channel: Channel, number: int) -> scrapy.Request:
        meta = {"cppcc_channel": channel.key, "cppcc_list_number": number}
        priority = ARTICLE_PRIORITY if number == 1 else NEXT_LIST_PAGE_PRIORITY
        return scrapy.Request(url, callback=self.parse_list, meta=meta, priority=priority)

    def parse_list(self, response: Response) -> Iterable[scrapy.Request]:
        """The articles a channel's list page links, and its next list page."""
        channel = self.site.channel(response.meta["cppcc_channel"])
        if not self.in_channel(response.url, channel):
            # A moved channel redirecting to the homepage: its links are not this channel's.
            logger.warning(
                "list page of %s ended up outside the channel at %s: nothing harvested",
                channel.ref,
                response.url,
            )
            self.crawler.stats.inc_value("cppcc/list_pages/off_channel")
            return
        self.crawler.stats.inc_value(f"cppcc/list_pages/{channel.key}")
        number = response.meta["cppcc_list_number"]
        urls = self._article_links(response)
        known = self._known(urls)
        yield from self._article_requests(urls, known, channel)
        if self.max_list_pages and number >= self.max_list_pages:
            return
        if any(url not in known for url in urls):
            self._known_list_pages[channel.key] = 0  # counted in a row, from here
        elif urls:
            self._known_list_pages[channel.key] += 1
            if self._known_list_pages[channel.key] > self.walk_known_pages:
                logger.info(
                    "%s: list page %d holds only known articles; the walk stops here",
                    channel.ref,
                    number,
                )
                self.crawler.stats.inc_value("cppcc/list_pages/walk_stopped_at_known")
                return
        next_url = self.next_list_page(response, channel)
        if next_url:
            yield self._list_request(next_url, channel, number + 1)

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
        self, urls: list[str], known: dict[str, KnownPage], channel: Channel
    ) -> Iterable[scrapy.Request]:
        """A request for every article not archived yet, and for the ones due a re-check."""
        now = self.now or datetime.now(UTC)
        stats = self.crawler.stats
        for url in urls:
            page = known.get(url)
            if page is not None:
                if not is_due(page.first_seen, page.last_checked, now, self.recheck_after):
                    stats.inc_value("cppcc/articles/not_due")
                    continue
                stats.inc_value("cppcc/articles/rechecked")
            meta: dict[str, Any] = {"cppcc_channel": channel.key, "cppcc_article": url}
            if page is None:
                # Never archived as an article, a rejected page or a redirect: the catalogue
                # holds no validators for it, so the conditional middleware need not look.
                meta[UNCONDITIONAL_KEY] = True
            yield scrapy.Request(
                url, callback=self.parse_article, meta=meta, priority=ARTICLE_PRIORITY
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

    # -- article pages --------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterable[Any]:
        """Page 1 of an article: its pictures, then its next page or the finished item."""
        first = _fetched(response, page=1)
        item = ArticlePagesItem(
            site=self.site.key,
            channel=response.meta["cppcc_channel"],
            url=self.article_url(response.url) or response.meta["cppcc_article"],
            pages=[first],
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
