"""Turn one fetched page into an Article: decode once, parse once, run each field's cascade."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import cached_property, lru_cache
from typing import TypeVar

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector
from w3lib.encoding import html_to_unicode

from pipelines.normalise.article import Article, Image
from pipelines.normalise.body import (
    body_items,
    densest_paragraph_parent,
    positioned,
    split_subtitle,
)
from pipelines.normalise.dates import find_datetime
from pipelines.normalise.errors import NoDate, NotAnArticleUrl, NotHtml, NoTitle
from pipelines.normalise.profiles import SiteProfile, profile_for_url
from pipelines.normalise.text import (
    fold_text,
    split_keywords,
    starts_with_dashes,
    strip_label,
    strip_leading_dashes,
)
from pipelines.normalise.urls import page_url, parse_article_url

Headers = Mapping[str, str] | Sequence[tuple[str, str]]
T = TypeVar("T")

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_META_CONTENT = etree.XPath("//meta[@name=$name]/@content")
# Text nodes after the title, where a subtitle or a date line would be.
_FOLLOWING_TEXT = etree.XPath("following::text()[normalize-space()][position() <= 40]")
_LABEL_SEPARATOR = re.compile(r"\s*\|\s*|\s+(?=\S{1,4}:)")
_SUBTITLE_MAX = 120


@lru_cache(maxsize=256)
def _selector(css: str) -> CSSSelector:
    """A CSS selector compiled once per process."""
    return CSSSelector(css, translator="html")


def _first(root: lxml.html.HtmlElement, selectors: Sequence[str]) -> lxml.html.HtmlElement | None:
    """The first element matching the first selector that matches anything."""
    for css in selectors:
        for element in _selector(css)(root):
            return element
    return None


def _text(element: lxml.html.HtmlElement) -> str:
    """The folded text of an element."""
    return fold_text(element.text_content())


class Page:
    """One parsed page of a site, with the lookups several field extractors share."""

    def __init__(self, url: str, root: lxml.html.HtmlElement, profile: SiteProfile) -> None:
        self.url = url
        self.root = root
        self.profile = profile

    @cached_property
    def breadcrumb(self) -> lxml.html.HtmlElement | None:
        """The breadcrumb element (首页>协商>政协动态)."""
        return _first(self.root, self.profile.breadcrumb)

    @cached_property
    def title_heading(self) -> lxml.html.HtmlElement | None:
        """The profile's title heading, when it holds text."""
        for css in self.profile.title:
            for element in _selector(css)(self.root):
                if _text(element):
                    return element
        return None

    @cached_property
    def plain_h1s(self) -> list[lxml.html.HtmlElement]:
        """The <h1> elements with text that are not the breadcrumb."""
        crumb = self.breadcrumb
        return [
            element
            for element in self.root.iter("h1")
            if _text(element) and not (crumb is not None and crumb in element.iter())
        ]

    @cached_property
    def heading(self) -> lxml.html.HtmlElement | None:
        """Where the title stands: the profile's heading, an <h1> the <title> names, any <h1>."""
        if self.title_heading is not None:
            return self.title_heading
        html_title = title_from_html_title(self) or ""
        named = [element for element in self.plain_h1s if _text(element) in html_title]
        return (named or self.plain_h1s or [None])[0]

    @cached_property
    def body(self) -> lxml.html.HtmlElement | None:
        """The article body: the profile's selector, else the densest paragraph parent."""
        found = _first(self.root, self.profile.body)
        return found if found is not None else densest_paragraph_parent(self.root)

    @cached_property
    def date_line(self) -> str:
        """The folded text of the line under the title: date | 作者:… | 来源:…"""
        element = _first(self.root, self.profile.date_line)
        return _text(element) if element is not None else ""

    @cached_property
    def text_after_heading(self) -> list[etree._ElementUnicodeResult]:
        """Text nodes after the title up to and including the first one holding a date."""
        if self.heading is None:
            return []
        found = []
        for node in _FOLLOWING_TEXT(self.heading):
            parent = node.getparent()
            if parent is None or parent.tag in ("script", "style"):
                continue
            if self.body is not None and (
                parent is self.body or self.body in parent.iterancestors()
            ):
                break
            found.append(node)
            if find_datetime(fold_text(node)):
                break
        return found

    def meta(self, names: Sequence[str]) -> str | None:
        """The folded content of the first named <meta> tag that has some."""
        for name in names:
            for content in _META_CONTENT(self.root, name=name):
                if fold_text(content):
                    return fold_text(content)
        return None

    def labelled(self, line: str, labels: Sequence[str]) -> str | None:
        """The value after `label:` in a line of `a | label:value | …` parts."""
        for part in _LABEL_SEPARATOR.split(line):
            value = strip_label(part, tuple(labels))
            if value:
                return value
        return None


def _cascade(page: Page, extractors: Sequence[Callable[[Page], T | None]]) -> T | None:
    """The first non-empty value the extractors find, each a fallback for the one before."""
    for extract in extractors:
        value = extract(page)
        if value:
            return value
    return None


# --- title -----------------------------------------------------------------------------------


def title_from_heading(page: Page) -> str | None:
    """The title heading (h1.Content_title span#a on rmzxb)."""
    return _text(page.title_heading) if page.title_heading is not None else None


def title_from_html_title(page: Page) -> str | None:
    """The <title> without the site name after it."""
    element = page.root.find(".//title")
    title = _text(element) if element is not None else ""
    for suffix in page.profile.title_suffixes:
        title = title.removesuffix(fold_text(suffix)).strip()
    return title or None


def title_from_first_h1(page: Page) -> str | None:
    """The first <h1> that is not the breadcrumb."""
    return _text(page.plain_h1s[0]) if page.plain_h1s else None


TITLE_EXTRACTORS = (title_from_heading, title_from_html_title, title_from_first_h1)


# --- dates, byline -----------------------------------------------------------------------------


def date_from_date_line(page: Page) -> datetime | None:
    """The date at the start of the line under the title."""
    return find_datetime(page.date_line)


def date_near_title(page: Page) -> datetime | None:
    """The first date written in the text that follows the title."""
    for node in page.text_after_heading:
        found = find_datetime(fold_text(node))
        if found:
            return found
    return None


def date_from_meta(page: Page) -> datetime | None:
    """The publication date meta tag (date only on rmzxb)."""
    content = page.meta(page.profile.date_metas)
    return find_datetime(content) if content else None


DATE_EXTRACTORS = (date_from_date_line, date_near_title, date_from_meta)


def author_from_date_line(page: Page) -> str | None:
    """The 作者 part of the date line."""
    return page.labelled(page.date_line, page.profile.author_labels)


def source_from_date_line(page: Page) -> str | None:
    """The 来源 part of the date line."""
    return page.labelled(page.date_line, page.profile.source_labels)


def source_from_meta(page: Page) -> str | None:
    """The source meta tag."""
    return page.meta(page.profile.source_metas)


SOURCE_EXTRACTORS = (source_from_date_line, source_from_meta)


# --- subtitle, section, content id -------------------------------------------------------------


def subtitle_after_title(page: Page) -> str | None:
    """A line opening with —— between the title and the date line, whatever element holds it."""
    for node in page.text_after_heading:
        if starts_with_dashes(fold_text(node)):
            holder = node.getparent()
            line = _text(holder) if holder is not None and not node.is_tail else fold_text(node)
            if not starts_with_dashes(line) or len(line) > _SUBTITLE_MAX:
                line = fold_text(node)
            return strip_leading_dashes(line) or None
    return None


def section_from_breadcrumb(page: Page) -> tuple[str, ...] | None:
    """The breadcrumb's items after the home page: ("协商", "政协动态")."""
    if page.breadcrumb is None:
        return None
    crumbs = (crumb.strip() for crumb in _text(page.breadcrumb).split(">"))
    home = {fold_text(name).replace(" ", "") for name in page.profile.home_crumbs}
    return tuple(crumb for crumb in crumbs if crumb and crumb.replace(" ", "") not in home)


def content_id_from_meta(page: Page) -> str | None:
    """The contentid meta tag."""
    return page.meta(page.profile.content_id_metas)


def content_id_from_url(page: Page) -> str | None:
    """The id in the article URL."""
    located = parse_article_url(page.url, page.profile)
    return located.content_id if located else None


CONTENT_ID_EXTRACTORS = (content_id_from_meta, content_id_from_url)


# --- editor and keywords: visible lines only ---------------------------------------------------


def _labelled_paragraph(page: Page, labels: Sequence[str]) -> str | None:
    """The value of the first short <p> anywhere that reads `label:value`, brackets allowed."""
    for element in page.root.iter("p"):
        line = _text(element).strip("()[]")
        if len(line) < 80:
            value = strip_label(line, tuple(labels))
            if value:
                return value
    return None


def editor_from_editor_line(page: Page) -> str | None:
    """The editor line (p.Editor: 编辑：…)."""
    element = _first(page.root, page.profile.editor)
    if element is None:
        return None
    return strip_label(_text(element), page.profile.editor_labels) or _text(element) or None


def editor_from_any_line(page: Page) -> str | None:
    """Any short paragraph reading 编辑:… or (责任编辑:…)."""
    return _labelled_paragraph(page, page.profile.editor_labels)


EDITOR_EXTRACTORS = (editor_from_editor_line, editor_from_any_line)


def keywords_from_keyword_line(page: Page) -> tuple[str, ...] | None:
    """The keyword line (p.Keyword: 关键词：…); never the machine-made keywords meta tag."""
    element = _first(page.root, page.profile.keywords)
    if element is None:
        return None
    line = strip_label(_text(element), page.profile.keyword_labels) or _text(element)
    return split_keywords(line)


def keywords_from_any_line(page: Page) -> tuple[str, ...] | None:
    """Any short paragraph reading 关键词:…"""
    line = _labelled_paragraph(page, page.profile.keyword_labels)
    return split_keywords(line) if line else None


KEYWORD_EXTRACTORS = (keywords_from_keyword_line, keywords_from_any_line)


# --- body ----------------------------------------------------------------------------------------


def _drop_boilerplate(page: Page) -> None:
    """Remove scripts, share boxes, pagers, editor and keyword lines (keeping their tails)."""
    for css in page.profile.boilerplate:
        for element in _selector(css)(page.root):
            element.drop_tree()


# --- the page as a whole -------------------------------------------------------------------------


def _header(headers: Headers, name: str) -> str | None:
    """The first value of a header, names compared case-insensitively."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in pairs:
        if key.lower() == name:
            return value
    return None


def _parse(url: str, headers: Headers, body: bytes) -> lxml.html.HtmlElement:
    """Decode the body once, as Scrapy does (header charset, then meta, then BOM), and parse it."""
    content_type = _header(headers, "content-type")
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type not in _HTML_TYPES:
            raise NotHtml(url, f"the response is {media_type or 'untyped'}, not an HTML page")
    elif not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise NotHtml(url, "the response has no Content-Type and does not look like HTML")
    _, text = html_to_unicode(content_type, body)
    try:
        return lxml.html.document_fromstring(_XML_DECLARATION.sub("", text, count=1))
    except etree.ParserError as error:
        raise NoTitle(url, f"the page is empty ({error})") from error


def _missing(article: Article) -> tuple[str, ...]:
    """Names of the optional fields the page did not provide."""
    optional = ("content_id", "section", "subtitle", "source", "author", "editor", "keywords")
    names = [name for name in optional if not getattr(article, name)]
    names += [name for name in ("paragraphs", "images") if not getattr(article, name)]
    return tuple(names)


def normalise_page(
    url: str, headers: Headers, body: bytes, *, profile: SiteProfile | None = None
) -> Article:
    """The article one page holds: a pure function of the URL, response headers and body.

    Headers are those after content decoding (Content-Type is the one read). Raises a
    NotNormalisable subclass naming the reason when the page is no article.
    """
    profile = profile or profile_for_url(url)
    if parse_article_url(url, profile) is None:
        raise NotAnArticleUrl(url, f"the path is not an article path of site {profile.name}")
    page = Page(url, _parse(url, headers, body), profile)
    article = _head_article(page)
    _drop_boilerplate(page)
    items = body_items(page.body, url, profile) if page.body is not None else []
    subtitle = article.subtitle
    if subtitle is None:
        subtitle, items = split_subtitle(items)
    paragraphs, images = positioned(items)
    article = replace(article, subtitle=subtitle, paragraphs=paragraphs, images=images)
    return replace(article, missing_fields=_missing(article))


def _head_article(page: Page) -> Article:
    """The fields read around the body, before boilerplate is removed from the page."""
    title = _cascade(page, TITLE_EXTRACTORS)
    if not title:
        raise NoTitle(page.url, "no title heading and no <title>: an error page or empty template")
    published_at = _cascade(page, DATE_EXTRACTORS)
    if published_at is None:
        raise NoDate(page.url, "no publication date under the title or in the meta tags")
    return Article(
        url=page_url(page.url, 1, page.profile),
        title=title,
        published_at=published_at,
        content_id=_cascade(page, CONTENT_ID_EXTRACTORS),
        section=section_from_breadcrumb(page) or (),
        subtitle=subtitle_after_title(page),
        source=_cascade(page, SOURCE_EXTRACTORS),
        author=author_from_date_line(page),
        editor=_cascade(page, EDITOR_EXTRACTORS),
        keywords=_cascade(page, KEYWORD_EXTRACTORS) or (),
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
    merged = replace(
        pages[0], paragraphs=tuple(paragraphs), images=tuple(images), page_count=len(pages)
    )
    return replace(merged, missing_fields=_missing(merged))
