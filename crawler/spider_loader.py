"""Spiders by seeds key: a site with a spider class of its own gets it, every other seeded site
a spider made from its profile alone, so that a new site needs a seeds entry, not code."""

from __future__ import annotations

from typing import Any

from scrapy.settings import BaseSettings
from scrapy.spiderloader import SpiderLoader

from crawler.spiders.base import ChannelSpider
from pipelines.errors import SeedsError
from pipelines.seeds import load_seeds


def spider_class(site_key: str) -> type[ChannelSpider]:
    """The spider of a seeded site that needs no code: ChannelSpider named for the site."""
    name = "".join(part.capitalize() for part in site_key.replace("-", "_").split("_"))
    return type(f"{name}Spider", (ChannelSpider,), {"name": site_key, "__module__": __name__})


class SeededSpiderLoader(SpiderLoader):
    """Scrapy's loader (SPIDER_MODULES), and a profile spider for each other seeded site."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self._seeds_path = settings.get("CPPCC_SEEDS") or None
        self._made: dict[str, type[ChannelSpider]] = {}

    def _seeded_keys(self) -> list[str]:
        try:
            return [site.key for site in load_seeds(self._seeds_path).sites]
        except SeedsError:
            return []  # `scrapy list` with a bad seeds file; a crawl says why in its spider

    def load(self, spider_name: str) -> Any:
        try:
            return super().load(spider_name)
        except KeyError:
            if spider_name not in self._seeded_keys():
                raise
        if spider_name not in self._made:
            self._made[spider_name] = spider_class(spider_name)
        return self._made[spider_name]

    def list(self) -> list[str]:
        return sorted({*super().list(), *self._seeded_keys()})
