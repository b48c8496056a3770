"""Thin item pipelines: an article's pages merged, and the article (or why not) catalogued."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from crawler.catalogue import catalogue_writer, settled
from crawler.items import ArticlePagesItem, FetchedPage
from pipelines.catalogue.writer import CatalogueWriter
from pipelines.normalise import Article, NotNormalisable, merge_pages
from pipelines.stats import LIFECYCLE, PAGES_REJECTED

logger = logging.getLogger(__name__)


class PageRejected(DropItem):
    """A fetched page that was archived but could not become an article."""


class NotAnArticleUrl(PageRejected):
    """The URL is not one of the site's article URLs."""


class NotHtml(PageRejected):
    """The page is not HTML."""


class NoTitle(PageRejected):
    """No title was found: an error template, a login page, a layout we do not know."""


class NoDate(PageRejected):
    """No publication date was found."""


class Undecodable(PageRejected):
    """The body is content-encoded and does not decode: it is archived as received."""


class FutureDate(PageRejected):
    """The page is dated more than a day after it was fetched."""


class NotNormalisableOther(PageRejected):
    """Normalisation failed for a reason without a class of its own."""


# One DropItem subclass per reason, so Scrapy's stats count each reason
# (item_dropped_reasons_count/<class name>).
_DROP_CLASSES: dict[str, type[PageRejected]] = {
    "not-an-article-url": NotAnArticleUrl,
    "not-html": NotHtml,
    "no-title": NoTitle,
    "no-date": NoDate,
    "undecodable": Undecodable,
    "future-date": FutureDate,
}


class ArticlePipeline:
    """Merge an article's pages, normalised by the spider, into one Article, or say why not;
    count what normalising found."""

    def __init__(self, stats: StatsCollector):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticlePipeline:
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticlePagesItem):
            return item
        first, *later = item.pages
        if first.article is None:
            problem = first.rejected or NotNormalisable(
                first.url, "the spider did not normalise it"
            )
            item.rejection = (problem.reason, str(problem))
            return item
        article = merge_pages([first.article, *self._later_pages(item, later)])
        # The spider knows the canonical URL (alias hosts folded); the page knows the rest.
        item.article = replace(article, url=item.url)
        self._count(item, article)
        return item

    def _count(self, item: ArticlePagesItem, article: Article) -> None:
        """Per channel field coverage: articles, fields not found, fields found only by a
        generic fallback (the profile's selectors missed them: the layout changed)."""
        self.stats.inc_value(f"cppcc/articles_normalised/{item.channel}")
        for name in article.missing_fields:
            self.stats.inc_value(f"cppcc/fields_missing/{item.channel}/{name}")
        for name in article.fallback_fields:
            self.stats.inc_value(f"cppcc/fields_fallback/{item.channel}/{name}")
        # Kept, but flagged: e.g. a date that disagrees with the one in the URL.
        for name in article.warnings:
            self.stats.inc_value(f"cppcc/warnings/{name}")
            logger.warning("article %s: %s", item.url, name)

    def _later_pages(self, item: ArticlePagesItem, later: list[FetchedPage]) -> list[Article]:
        """The pages after the first that normalised; the others are counted and logged."""
        usable = []
        for page in later:
            if page.article is not None:
                usable.append(page.article)
                continue
            # Page 1 made it an article; a broken later page costs only its own text.
            logger.warning(
                "article %s is kept without an unusable page: %s", item.url, page.rejected
            )
            self.stats.inc_value("cppcc/articles/pages_unusable")
        return usable


class CataloguePipeline:
    """Write each article (or the reason it is not one) to the catalogue.

    The writes go to the crawl's catalogue writer process (many to a transaction); an item
    leaves the pipeline once its write has settled, and Scrapy downloads on meanwhile.
    """

    def __init__(self, writer: CatalogueWriter, run_id: int | None, stats: StatsCollector):
        self.writer = writer
        self.run_id = run_id
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CataloguePipeline:
        run_id = crawler.settings.getint("CPPCC_RUN_ID") or None
        assert crawler.stats is not None
        return cls(catalogue_writer(crawler), run_id, crawler.stats)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticlePagesItem):
            return item
        if item.article is None:
            raise await self._reject(item)
        captures = [(page.page, page.capture) for page in item.pages if page.capture]
        outcome = await self._write("save_article", item, article=item.article, captures=captures)
        self.stats.inc_value(f"cppcc/articles/{getattr(outcome, 'value', outcome)}")
        if item.withdrawn:  # a withdrawn article found again: save_article restored it
            self.stats.inc_value(f"{LIFECYCLE}{item.channel}/restored")
            logger.info("article %s is back: restored", item.url)
        return item

    async def _reject(self, item: ArticlePagesItem) -> PageRejected:
        """Record why the item is not an article; the DropItem to raise, named for the reason."""
        reason, detail = item.rejection or ("unknown", "no article and no reason")
        first = item.pages[0]
        await self._write(
            "save_rejection", item, url=first.url, reason=reason, detail=detail,
            location=first.capture,
        )  # fmt: skip
        self.stats.inc_value(PAGES_REJECTED)
        return _DROP_CLASSES.get(reason, NotNormalisableOther)(f"{first.url}: {reason}: {detail}")

    async def _write(self, write: str, item: ArticlePagesItem, **values: Any) -> Any:
        """What the writer process's `write` of the item's values returned, once committed."""
        future = self.writer.submit(
            write, site=item.site, channel=item.channel, run_id=self.run_id, **values
        )
        return await settled(future)
