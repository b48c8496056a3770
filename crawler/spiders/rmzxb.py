"""人民政协网 (www.rmzxb.com.cn): list walking and link rules only."""

from __future__ import annotations

from scrapy.http import Response

from crawler.spiders.base import ChannelSpider
from pipelines.normalise import (
    RMZXB,
    ArticleUrl,
    canonical_article_url,
    page_url,
    parse_article_url,
)


class RmzxbSpider(ChannelSpider):
    """Crawl 人民政协网: `/<slug>/index.shtml` lists, `/c/YYYY-MM-DD/<id>.shtml` articles."""

    name = "rmzxb"
    profile = RMZXB

    def located(self, url: str) -> ArticleUrl | None:
        """Content id and page when `url` is an article page on this site, below its base_url."""
        if not self.is_own_host(url):
            return None
        return parse_article_url(url, self.profile, base_url=self.site.base_url)

    def article_url(self, url: str) -> str | None:
        if self.located(url) is None:
            return None
        return canonical_article_url(
            url, base_url=self.site.base_url, aliases=self.site.aliases, profile=self.profile
        )

    def article_pages(self, response: Response) -> dict[int, str]:
        this = self.located(response.url)
        if this is None:
            return {}
        pages: dict[int, str] = {}
        # The pager (div.Paging) links pages as <id>_<n>.shtml; it may show only a window.
        for css in self.profile.pager:
            for href in response.css(css).css("a::attr(href)").getall():
                url = response.urljoin(href)
                other = self.located(url)
                if other and other.content_id == this.content_id and other.page > 1:
                    pages.setdefault(other.page, page_url(url, other.page, self.profile))
        return pages
