"""人民政协网 (www.rmzxb.com.cn): list walking and link rules only."""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.http import Response

from crawler.spiders.base import ChannelSpider
from pipelines.normalise.urls import canonical_article_url, parse_article_url


class RmzxbSpider(ChannelSpider):
    """Crawl 人民政协网: `/<slug>/index.shtml` lists, `/c/YYYY-MM-DD/<id>.shtml` articles."""

    name = "rmzxb"
    # Pictures of an article sit in its body, `div.text_box`.
    article_body_images = "div.text_box img::attr(src)"

    def article_url(self, url: str) -> str | None:
        host = urlsplit(url).netloc.lower()
        own_hosts = {urlsplit(self.site.base_url).netloc.lower(), *self.site.aliases}
        if host not in own_hosts or parse_article_url(url) is None:
            return None
        return canonical_article_url(url, base_url=self.site.base_url, aliases=self.site.aliases)

    def article_pages(self, response: Response) -> list[str]:
        this = parse_article_url(response.url)
        if this is None:
            return []
        pages: dict[int, str] = {}
        # The pager (div.Paging) links every page of the article as <id>_<n>.shtml.
        for href in response.css("div.Paging a::attr(href)").getall():
            url = response.urljoin(href)
            other = parse_article_url(url)
            if other and other.content_id == this.content_id and other.page > this.page:
                pages.setdefault(other.page, url.split("?")[0])
        return [pages[n] for n in sorted(pages)]
