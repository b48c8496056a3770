"""What every CPPCC site spider shares: seeds, channels, list walking and article pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from crawler.items import ArticlePagesItem, FetchedPage
from crawler.seeds import Channel, Site, load_seeds


class ChannelSpider(scrapy.Spider):
    """Walk the list pages of a site's channels and fetch every article linked from them.

    A site spider names its link rules; everything else is here. Spider arguments:
    `channels` (comma-separated channel keys; all enabled channels when empty) and
    `max_list_pages` (list pages walked per channel; 0 for no limit).
    """

    # Link rules, set by each site's spider.
    article_body_images = "img::attr(src)"  # CSS for the pictures of an article page
    next_page_texts = ("下一页",)

    def __init__(
        self, *args: Any, channels: str = "", max_list_pages: str | int = 0, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.channel_keys = [key for key in str(channels).split(",") if key]
        self.max_list_pages = int(max_list_pages or 0)
        self.site: Site
        self.selected: tuple[Channel, ...] = ()

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
        return spider

    # -- site rules, overridden by each site ---------------------------------------------

    def article_url(self, url: str) -> str | None:
        """The canonical page-1 URL when `url` is an article of this site, else None."""
        raise NotImplementedError

    def article_pages(self, response: Response) -> list[str]:
        """URLs of the pages after the first of the article on `response`, in order."""
        raise NotImplementedError

    # -- list pages ---------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        for channel in self.selected:
            yield self._list_request(self.site.url(channel.list_path), channel, number=1)

    def _list_request(self, url: str, channel: Channel, number: int) -> scrapy.Request:
        meta = {"cppcc_channel": channel.key, "cppcc_list_number": number}
        return scrapy.Request(url, callback=self.parse_list, meta=meta)

    def parse_list(self, response: Response) -> Iterable[scrapy.Request]:
        channel = self.site.channel(response.meta["cppcc_channel"])
        self.crawler.stats.inc_value(f"cppcc/list_pages/{channel.key}")
        for href in response.css("a::attr(href)").getall():
            url = self.article_url(response.urljoin(href))
            if url:
                meta = {"cppcc_channel": channel.key, "cppcc_article": url}
                yield scrapy.Request(url, callback=self.parse_article, meta=meta)
        number = response.meta["cppcc_list_number"]
        if self.max_list_pages and number >= self.max_list_pages:
            return
        next_url = self.next_list_page(response, channel)
        if next_url:
            yield self._list_request(next_url, channel, number + 1)

    def next_list_page(self, response: Response, channel: Channel) -> str | None:
        """The channel's next list page: `index_N.shtml` after this one, or a 下一页 link.

        Only pages in the channel's own folder count, so navigation to other channels is
        never followed.
        """
        folder = urlsplit(self.site.url(channel.list_path)).path.rsplit("/", 1)[0] + "/"
        # A list page not named index*.shtml (a channel's folder URL) is page 1.
        current = _list_page_number(urlsplit(response.url).path) or 1
        candidates = []
        for link in response.css("a"):
            url = response.urljoin(link.attrib.get("href", ""))
            path = urlsplit(url).path
            if not path.startswith(folder) or "/" in path[len(folder) :]:
                continue
            number = _list_page_number(path)
            text = "".join(link.css("::text").getall()).strip()
            if text in self.next_page_texts or (number is not None and number == current + 1):
                candidates.append(url)
        return candidates[0] if candidates else None

    # -- article pages --------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterable[Any]:
        item = ArticlePagesItem(
            site=self.site.key,
            channel=response.meta["cppcc_channel"],
            url=self.article_url(response.url) or response.meta["cppcc_article"],
            pages=[_fetched(response)],
        )
        yield from self._pictures(response)
        yield from self._next_page_or_item(item, self.article_pages(response))

    def parse_article_page(self, response: Response) -> Iterable[Any]:
        item: ArticlePagesItem = response.meta["cppcc_item"]
        item.pages.append(_fetched(response))
        yield from self._pictures(response)
        yield from self._next_page_or_item(item, response.meta["cppcc_remaining"])

    def _next_page_or_item(self, item: ArticlePagesItem, remaining: list[str]) -> Iterable[Any]:
        # Pages are fetched one after the other so the item holds them in order.
        if not remaining:
            yield item
            return
        meta = {"cppcc_item": item, "cppcc_remaining": remaining[1:]}
        yield scrapy.Request(
            remaining[0],
            callback=self.parse_article_page,
            errback=self.article_page_failed,
            meta=meta,
        )

    def article_page_failed(self, failure: Failure) -> Iterable[Any]:
        """A later page of an article failed: keep what was fetched, and say what is missing."""
        request = failure.request  # type: ignore[attr-defined]
        item: ArticlePagesItem = request.meta["cppcc_item"]
        item.missing_pages.append(request.url)
        self.crawler.stats.inc_value("cppcc/articles/pages_missing")
        yield from self._next_page_or_item(item, request.meta["cppcc_remaining"])

    def _pictures(self, response: Response) -> Iterable[scrapy.Request]:
        # Pictures are part of the article: archived, never parsed. They may sit on an image
        # host of their own, so the offsite filter lets them through.
        for src in response.css(self.article_body_images).getall():
            url = response.urljoin(src.strip())
            if url.startswith(("http://", "https://")):
                yield scrapy.Request(
                    url, callback=self.picture_fetched, meta={"allow_offsite": True}, priority=-1
                )

    def picture_fetched(self, response: Response) -> None:
        self.crawler.stats.inc_value("cppcc/pictures")


_LIST_PAGE = re.compile(r"/index(?:_(\d+))?\.s?html?$")


def _list_page_number(path: str) -> int | None:
    match = _LIST_PAGE.search(path)
    if not match:
        return None
    return int(match.group(1) or 1)


def _fetched(response: Response) -> FetchedPage:
    headers = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in response.headers.items()
        for value in values
    ]
    return FetchedPage(
        url=response.url,
        status=response.status,
        headers=headers,
        body=response.body,
        capture=response.meta.get("cppcc_capture"),
    )
