"""What every CPPCC site spider is: list walking and article pages over a seeded site."""

from __future__ import annotations

from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.spiders.lists import ListPages


class ChannelSpider(ListPages):
    """Walk the list pages of a site's channels and fetch every article linked from them.

    Every seeded site is crawled by a subclass named for its seeds key (made by
    crawler/spider_loader.py unless a site needs code of its own); what differs between sites
    is in their profiles. The rest is in its bases: the site and its limits
    (crawler/spiders/site.py), article pages (articles.py), list walking (lists.py).

    Recrawls are incremental: an article already catalogued is fetched again only when its
    re-check is due (CPPCC_RECHECK_AFTER, a decaying schedule; CPPCC_NOW stands in for the
    clock), and a channel's walk stops at the first list page whose articles are all
    known (CPPCC_WALK_KNOWN_LIST_PAGES more such pages are walked before stopping).
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        for handler, signal in (
            (spider._item_settled, signals.item_scraped),
            (spider._item_settled, signals.item_dropped),
            (spider._item_settled, signals.item_error),
            (spider._request_dropped, signals.request_dropped),
        ):
            crawler.signals.connect(handler, signal=signal)
        return spider
