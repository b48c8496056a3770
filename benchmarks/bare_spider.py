"""The baseline: a Scrapy spider that only fetches a channel's pages, with our settings.

`python -m benchmarks.bare_spider LIST_URL CONCURRENCY STATS_FILE` walks the list pages and
fetches every article they link, with crawler/settings.py less our pipelines, extensions and
middlewares (and less politeness), and writes Scrapy's final stats to STATS_FILE as JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.settings import Settings


class BareSpider(scrapy.Spider):
    """Follow `/c/` article links and `index_N` list pages; parse nothing else."""

    name = "bare"

    def __init__(self, list_url: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.start_urls = [list_url]

    def parse(self, response: Response, **kwargs: Any) -> Iterator[scrapy.Request]:
        for href in response.css("a::attr(href)").getall():
            if href.startswith("/c/"):
                yield response.follow(href, callback=self.parse_article)
            elif "/yw_n/index_" in href:
                yield response.follow(href, callback=self.parse)

    def parse_article(self, response: Response) -> None:
        return None


def bare_settings(concurrency: int) -> Settings:
    """crawler/settings.py without our components and without politeness."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    overrides = {
        "ITEM_PIPELINES": {},
        "EXTENSIONS": {},
        # Scrapy's cookie middleware stays off as we ship it (it would go online for the
        # public-suffix list); ours is that middleware with the bundled list, so it stays.
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
            "crawler.middlewares.OfflineCookiesMiddleware": 700,
        },
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "LOG_LEVEL": "WARNING",
    }
    settings.setdict(overrides, priority="cmdline")
    return settings


def main(list_url: str, concurrency: int, stats_file: str) -> None:
    process = CrawlerProcess(bare_settings(concurrency))
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, list_url=list_url)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    with open(stats_file, "w", encoding="utf-8") as out:
        json.dump(stats, out, default=str)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
