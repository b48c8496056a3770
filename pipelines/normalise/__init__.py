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
from pipelines.normalise.extract import PageLinks, merge_pages, normalise_page, page_links
from pipelines.normalise.generic import GENERIC
from pipelines.normalise.profiles import (
    CPPCC,
    HNZX,
    PROFILES,
    RMZXB,
    SiteProfile,
    profile_for_url,
    profile_named,
)
from pipelines.normalise.render import render_text
from pipelines.normalise.text import fold_text
from pipelines.normalise.urls import ArticleUrl, canonical_article_url, page_url, parse_article_url

__all__ = [
    "CPPCC",
    "DATE_DISAGREES_WITH_URL",
    "GENERIC",
    "HNZX",
    "PROFILES",
    "RMZXB",
    "SHANGHAI",
    "Article",
    "ArticleUrl",
    "FutureDate",
    "Image",
    "NoDate",
    "NoTitle",
    "NotAnArticleUrl",
    "NotHtml",
    "NotNormalisable",
    "PageLinks",
    "SiteProfile",
    "Undecodable",
    "canonical_article_url",
    "find_datetime",
    "fold_text",
    "format_date_line",
    "merge_pages",
    "normalise_page",
    "page_links",
    "page_url",
    "parse_article_url",
    "parse_datetime",
    "profile_for_url",
    "profile_named",
    "render_text",
]
