"""中国政协网 (www.cppcc.gov.cn): list walking and link rules only."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from scrapy.http import Response

from crawler.spiders.base import ChannelSpider
from pipelines.normalise import profile_named

# The list box of the current design's list pages (`/zxxw/<slug>/`), and its items' links.
LIST_BOX = "#txtBox"
LIST_ITEM_LINKS = "li a::attr(href)"
# Items of the old design's list pages (`/zxww/newcppcc/<slug>/index.shtml`), written by a script:
# item[1]=new title_array('http://www.cppcc.gov.cn/zxww/2019/03/18/ARTI….shtml','…','2019-03-18');
TITLE_ARRAY_ITEM = re.compile(r"""new\s+title_array\(\s*(?P<q>['"])(?P<url>.*?)(?P=q)""")


class ProfileLinkRules(ChannelSpider):
    """Article URLs and pages by the site profile's patterns, relative to the seeds' base_url."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # The profile of the seeds key this spider is named for (not of a host: replicas of
        # several sites share 127.0.0.1).
        self.profile = profile_named(self.name)


def list_item_links(response: Response) -> list[str] | None:
    """Links of the items in `#txtBox` (current design); None without a `#txtBox`."""
    box = response.css(LIST_BOX)
    return box.css(LIST_ITEM_LINKS).getall() if box else None


def title_array_links(response: Response) -> list[str] | None:
    """URLs of the `title_array` items in the page's scripts (old design); None when no script
    speaks of title_array."""
    scripts = "\n".join(response.xpath("//script/text()").getall())
    if "title_array" not in scripts:
        return None
    return [match["url"] for match in TITLE_ARRAY_ITEM.finditer(scripts)]


def all_links(response: Response) -> list[str] | None:
    """Every link on the page: the fallback when neither list markup is there."""
    return response.css("a::attr(href)").getall()


# Tried in order; the first whose markup is on the page gives the list, even an empty one:
# navigation and top news around the list link articles of other channels, so the page's
# other links count only when the list itself cannot be found.
LIST_LINK_FINDERS: tuple[Callable[[Response], list[str] | None], ...] = (
    list_item_links,
    title_array_links,
    all_links,
)


class CppccSpider(ProfileLinkRules):
    """Crawl 中国政协网: `/zxxw/<slug>/` and `/zxww/newcppcc/<slug>/index.shtml` lists,
    `/zxww/YYYY/MM/DD/ARTI<16 digits>.shtml` articles, and their pictures and attachments."""

    name = "cppcc"

    def _article_links(self, response: Response) -> list[str]:
        for finder in LIST_LINK_FINDERS:
            hrefs = finder(response)
            if hrefs is not None:
                self.crawler.stats.inc_value(f"cppcc/list_links/{finder.__name__}")
                break
        urls = (self.article_url(response.urljoin(href)) for href in hrefs or ())
        return list(dict.fromkeys(url for url in urls if url))
