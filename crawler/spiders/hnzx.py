"""河南省政协 (www.hnzx.gov.cn): list walking and link rules only."""

from __future__ import annotations

from crawler.spiders.cppcc import ProfileLinkRules


class HnzxSpider(ProfileLinkRules):
    """Crawl 河南省政协: channel list pages of unknown markup, `/YYYY/MM-DD/<7 digits>.html`
    articles.

    The list markup is unknown, so every link on a list page that matches the article
    pattern is an item, and the next page is a 下一页 or `index_N` link in the channel's folder
    (the base spider's rules).
    """

    name = "hnzx"
