"""Turn one fetched page into an Article: decode once, parse once, run each field's cascade."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from pipelines.normalise.article import Article, Image
from pipelines.normalise.body import body_items, positioned, split_subtitle
from pipelines.normalise.checks import (
    attachment_urls,
    check_not_future,
    date_warnings,
    pager_urls,
)
from pipelines.normalise.credits import EDITOR_EXTRACTORS, KEYWORD_EXTRACTORS
from pipelines.normalise.dateline import AUTHOR_EXTRACTORS, DATE_EXTRACTORS, SOURCE_EXTRACTORS
from pipelines.normalise.errors import NoDate, NotAnArticleUrl, NoTitle, NotNormalisable
from pipelines.normalise.heading import (
    CONTENT_ID_EXTRACTORS,
    TITLE_EXTRACTORS,
    section_from_breadcrumb,
    subtitle_after_title,
)
from pipelines.normalise.page import Headers, Page, parse_html
from pipelines.normalise.urls import page_url, parse_article_url
from pipelines.profiles.files import profile_for_url
from pipelines.profiles.model import SiteProfile


def _missing(article: Article) -> tuple[str, ...]:
    """Names of the optional fields the page did not provide."""
    optional = ("content_id", "section", "subtitle", "source", "author", "editor", "keywords")
    names = [name for name in optional if not getattr(article, name)]
    names += [name for name in ("paragraphs", "images") if not getattr(article, name)]
    return tuple(names)


def _fallbacks(page: Page, article: Article) -> tuple[str, ...]:
    """The fields a generic fallback found, the body's when the profile's selector missed it."""
    names = list(page.fallback_fields)
    if page.profile_body is None and page.body is not None:
        names += [name for name in ("paragraphs", "images") if getattr(article, name)]
    return tuple(names)


def _body_items(page: Page) -> list[str | Image]:
    """The body's paragraphs and pictures; the body is found before the page chrome is dropped."""
    body = page.body
    page.drop_boilerplate()
    return body_items(body, page.url, page.profile) if body is not None else []


def normalise_page(
    url: str,
    headers: Headers,
    body: bytes,
    *,
    profile: SiteProfile | None = None,
    fetched_at: datetime | None = None,
) -> Article:
    """The article one page holds: a pure function of the URL, response headers and body.

    Headers are those after content decoding (Content-Type is the one read). Raises a
    NotNormalisable subclass naming the reason when the page is no article; FutureDate when
    page 1 is dated more than a day after `fetched_at` (when the page was fetched: the
    crawl, reindex and reextract pass it, so all three apply the same rule).
    """
    profile = profile or profile_for_url(url)
    located = parse_article_url(url, profile)
    if located is None:
        raise NotAnArticleUrl(url, f"the path is not an article path of site {profile.name}")
    page = Page(url, parse_html(url, headers, body), profile)
    article = _head_article(page)
    if fetched_at is not None and located.page == 1:  # later pages' dates are not kept
        check_not_future(article, fetched_at)
    article = replace(
        article,
        attachments=attachment_urls(page),
        pager_links=pager_urls(page),
        warnings=date_warnings(article, profile),
    )
    items = _body_items(page)
    subtitle = article.subtitle
    # Only page 1 opens with the subtitle; a later page's —— line is a paragraph.
    if subtitle is None and located.page == 1:
        subtitle, items = split_subtitle(items)
    paragraphs, images = positioned(items)
    article = replace(article, subtitle=subtitle, paragraphs=paragraphs, images=images)
    return replace(
        article, missing_fields=_missing(article), fallback_fields=_fallbacks(page, article)
    )


@dataclass(frozen=True)
class PageLinks:
    """What a crawler follows from an article page: its pictures, attached files, other pages."""

    pictures: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    pager: tuple[str, ...] = ()

    @classmethod
    def of(cls, article: Article) -> PageLinks:
        """The links of a page normalise_page made `article` of."""
        pictures = tuple(image.url for image in article.images)
        return cls(pictures, article.attachments, article.pager_links)


def page_links(
    url: str, headers: Headers, body: bytes, *, profile: SiteProfile | None = None
) -> PageLinks:
    """The links normalise_page reports for this page, found even where it rejects the page.

    For a page it rejects (no date, say): the crawler archives its pictures, files and other
    pages all the same, so that a fixed profile can make it an article later, from the WARC
    files alone. Raises NotNormalisable only for a page that is no HTML at all.
    """
    profile = profile or profile_for_url(url)
    page = Page(url, parse_html(url, headers, body), profile)
    # In normalise_page's order: before the body's boilerplate is dropped from the tree.
    attachments, pager = attachment_urls(page), pager_urls(page)
    pictures = tuple(item.url for item in _body_items(page) if isinstance(item, Image))
    return PageLinks(pictures, attachments, pager)


@dataclass(frozen=True)
class NormalisedPage:
    """What a crawl needs of a page it fetched: the article, or why it is none; its links."""

    article: Article | None
    rejected: NotNormalisable | None
    links: PageLinks


def normalise_for_crawl(
    url: str,
    headers: Headers,
    body: bytes,
    *,
    profile: SiteProfile,
    fetched_at: datetime | None = None,
) -> NormalisedPage:
    """normalise_page, and the page's links even when it rejects the page (page_links): one
    parse for an article, two for a rejected page; a page that is no HTML has no links.

    Picklable both ways, so a crawl can run it in a process of its own
    (crawler/normalising.py)."""
    try:
        article = normalise_page(url, headers, body, profile=profile, fetched_at=fetched_at)
        return NormalisedPage(article, None, PageLinks.of(article))
    except NotNormalisable as exc:
        rejected = exc
    try:
        links = page_links(url, headers, body, profile=profile)
    except NotNormalisable:
        links = PageLinks()
    return NormalisedPage(None, rejected, links)


def _head_article(page: Page) -> Article:
    """The fields read around the body, before boilerplate is removed from the page."""
    title = page.find("title", TITLE_EXTRACTORS)
    if not title:
        raise NoTitle(page.url, "no title heading and no <title>: an error page or empty template")
    published_at = page.find("published_at", DATE_EXTRACTORS)
    if published_at is None:
        raise NoDate(page.url, "no publication date under the title or in the meta tags")
    return Article(
        url=page_url(page.url, 1, page.profile),
        title=title,
        published_at=published_at,
        content_id=page.find("content_id", CONTENT_ID_EXTRACTORS),
        section=section_from_breadcrumb(page) or (),
        subtitle=subtitle_after_title(page),
        source=page.find("source", SOURCE_EXTRACTORS),
        author=page.find("author", AUTHOR_EXTRACTORS),
        editor=page.find("editor", EDITOR_EXTRACTORS),
        keywords=page.find("keywords", KEYWORD_EXTRACTORS) or (),
    )


def merge_pages(pages: Sequence[Article]) -> Article:
    """One article from its pages in order: page 1's fields, all paragraphs and pictures."""
    if not pages:
        raise ValueError("merge_pages needs at least one page")
    paragraphs: list[str] = []
    images: list[Image] = []
    for page in pages:
        offset = len(paragraphs)
        images += [replace(image, position=image.position + offset) for image in page.images]
        paragraphs += page.paragraphs
    attachments = tuple(dict.fromkeys(url for page in pages for url in page.attachments))
    warnings = tuple(dict.fromkeys(warning for page in pages for warning in page.warnings))
    # Page 1 gives the head fields; the body is by fallback if any page's was.
    body = ("paragraphs", "images")
    fallback = [name for name in pages[0].fallback_fields if name not in body]
    fallback += [name for name in body if any(name in page.fallback_fields for page in pages)]
    merged = replace(
        pages[0],
        paragraphs=tuple(paragraphs),
        images=tuple(images),
        page_count=len(pages),
        attachments=attachments,
        warnings=warnings,
        fallback_fields=tuple(fallback),
    )
    return replace(merged, missing_fields=_missing(merged))
