"""A site spider's base: its seeds entry, selected channels and limits, and where its URLs are."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Self
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import BaseSettings

from crawler.items import FetchedPage
from crawler.walk import ListWalk
from crawler.walk_record import WalkRecorder
from pipelines.normalise import (
    ArticleUrl,
    SiteProfile,
    canonical_article_url,
    page_url,
    parse_article_url,
)
from pipelines.recheck import DEFAULT_INTERVALS, parse_intervals, parse_now
from pipelines.seeds import Channel, Site, load_seeds


class SiteSpider(scrapy.Spider):
    """A spider of one seeded site: its channels, its limits, and where its URLs are.

    Spider
    arguments: `channels` (comma-separated channel keys; all enabled channels when empty)
    and `max_list_pages` (list pages walked per channel; 0 for no limit).

    Recrawls are incremental: an article already catalogued is fetched again only when its
    re-check is due (CPPCC_RECHECK_AFTER, a decaying schedule; CPPCC_NOW stands in for the
    clock), and a channel's walk stops at the first list page whose articles are all known
    (CPPCC_WALK_KNOWN_LIST_PAGES more such pages are walked before stopping).
    """

    # The site's profile (its selectors, URL patterns and list rules), from the seeds.
    profile: SiteProfile

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
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        seeds = load_seeds(crawler.settings.get("CPPCC_SEEDS") or None)
        spider.site = seeds.site(cls.name)
        spider.profile = spider.site.profile
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
        spider.walks = WalkRecorder(crawler, spider.site.key, spider.new_walk)
        return spider

    # -- site rules, from the site's profile ----------------------------------------------

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
        for url in page.links.pager:
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

    def new_walk(self, channel_key: str) -> ListWalk:
        """The walk of a channel, from the state the catalogue holds (read once, at start)."""
        raise NotImplementedError  # the list walking (crawler/spiders/lists.py) knows how


def _own_hosts(site: Site) -> frozenset[str]:
    """The site's host (with its port) and its aliases (bare hosts or URLs), lower-cased."""
    aliases = (urlsplit(alias).netloc if "//" in alias else alias for alias in site.aliases)
    return frozenset({urlsplit(site.base_url).netloc.lower(), *map(str.lower, aliases)})
