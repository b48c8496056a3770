"""Pure normaliser: (url, headers, body) of a CPPCC news page -> Article; no Scrapy here."""

from pipelines.normalise.article import Article, Image
from pipelines.normalise.checks import DATE_DISAGREES_WITH_URL
from pipelines.normalise.dates import SHANGHAI, find_datetime, format_date_line, parse_datetime
from pipelines.normalise.errors import (
    FutureDate,
    NoDate,
    NotAnArticleUrl,
    NotHtml,
    NoTitle,
    NotNormalisable,
    Undecodable,
)
from pipelines.normalise.extract import (
    NormalisedPage,
    PageLinks,
    merge_pages,
    normalise_for_crawl,
    normalise_page,
    page_links,
)
from pipelines.normalise.render import render_text
from pipelines.normalise.text import fold_text
from pipelines.normalise.urls import ArticleUrl, canonical_article_url, page_url, parse_article_url
from pipelines.profiles.files import (
    bundled_profile,
    parse_profile,
    profile_for_url,
    profile_named,
    read_profile_file,
)
from pipelines.profiles.model import SiteProfile

__all__ = [
    "DATE_DISAGREES_WITH_URL",
    "SHANGHAI",
    "Article",
    "ArticleUrl",
    "FutureDate",
    "Image",
    "NoDate",
    "NoTitle",
    "NormalisedPage",
    "NotAnArticleUrl",
    "NotHtml",
    "NotNormalisable",
    "PageLinks",
    "SiteProfile",
    "Undecodable",
    "bundled_profile",
    "canonical_article_url",
    "find_datetime",
    "fold_text",
    "format_date_line",
    "merge_pages",
    "normalise_for_crawl",
    "normalise_page",
    "page_links",
    "page_url",
    "parse_article_url",
    "parse_datetime",
    "parse_profile",
    "profile_for_url",
    "profile_named",
    "read_profile_file",
    "render_text",
]
