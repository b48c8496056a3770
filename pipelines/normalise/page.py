"""One parsed page of a site: decoding, selectors, and the lookups field extractors share."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cached_property, lru_cache
from typing import TypeVar

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector
from w3lib.encoding import html_to_unicode

from pipelines.normalise.body import densest_paragraph_parent
from pipelines.normalise.dates import find_datetime
from pipelines.normalise.decoding import Headers, content_codings, decoded_body
from pipelines.normalise.errors import NotHtml, NoTitle
from pipelines.normalise.text import fold_text, strip_label
from pipelines.profiles.model import SiteProfile

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., object])

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_META_CONTENT = etree.XPath("//meta[@name=$name]/@content")
# Text nodes after the title, where a subtitle or a date line would be: at most this many
# that hold more than XML white space (XPath's normalize-space()).
_FOLLOWING_TEXTS = 40
_XML_SPACE = " \t\n\r"
_DATE_LINE_MAX = 120
# A few broken bytes happen on real pages; more means the whole page was decoded wrongly.
_REPLACEMENTS_TOLERATED = 3
_GB_FAMILY = frozenset({"gb18030", "gbk", "gb2312", "cp936"})
_LABEL_SEPARATOR = re.compile(r"\s*\|\s*|\s+(?=\S{1,4}:)")


@lru_cache(maxsize=256)
def selector(css: str) -> CSSSelector:
    """A CSS selector compiled once per process."""
    return CSSSelector(css, translator="html")


def first(root: lxml.html.HtmlElement, selectors: Sequence[str]) -> lxml.html.HtmlElement | None:
    """The first element matching the first selector that matches anything."""
    for css in selectors:
        for element in selector(css)(root):
            return element
    return None


def text_of(element: lxml.html.HtmlElement) -> str:
    """The folded text of an element."""
    return fold_text(element.text_content())


def _header(headers: Headers, name: str) -> str | None:
    """The first value of a header, names compared case-insensitively."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in pairs:
        if key.lower() == name:
            return value
    return None


def _strict_guess(body: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, else GB18030 (what Chinese sites use besides it)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _wrongly_decoded(encoding: str, text: str, body: bytes) -> bool:
    """Whether a label lied: many U+FFFD, or a GB label on valid multi-byte UTF-8."""
    if text.count("\ufffd") > _REPLACEMENTS_TOLERATED:
        return True
    is_gb = encoding.lower().replace("-", "").replace("_", "") in _GB_FAMILY
    return is_gb and not body.isascii() and _strict_guess(body) == "utf-8"


def _decode(content_type: str | None, body: bytes) -> str:
    """The body as text, decoded as Scrapy does, unless the declared charset is a lie.

    When the header's charset lies, the page's own declaration (BOM, <meta>) decides; when
    that lies too or is missing, the bytes are read as UTF-8 if valid UTF-8, else as GB18030.
    """
    for declared in (content_type, None):
        encoding, text = html_to_unicode(declared, body, auto_detect_fun=_strict_guess)
        if not _wrongly_decoded(encoding, text, body):
            return text
    return body.decode(_strict_guess(body), errors="replace")


def parse_html(url: str, headers: Headers, body: bytes) -> lxml.html.HtmlElement:
    """Decode the body once, as Scrapy does (header charset, then meta, then BOM), and parse it.

    A body still content-encoded (read back from a WARC file, or one the crawl could not
    decode) is decoded first; Undecodable when it does not decode to its end.
    """
    if content_codings(headers):
        body = decoded_body(url, headers, body)
    content_type = _header(headers, "content-type")
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type not in _HTML_TYPES:
            raise NotHtml(url, f"the response is {media_type or 'untyped'}, not an HTML page")
    elif not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise NotHtml(url, "the response has no Content-Type and does not look like HTML")
    text = _decode(content_type, body)
    try:
        return lxml.html.document_fromstring(_XML_DECLARATION.sub("", text, count=1))
    except etree.ParserError as error:
        raise NoTitle(url, f"the page is empty ({error})") from error


_TITLE_SEPARATORS = frozenset("_-|—–·:：｜ ")
_TITLE_MIN = 4
_TITLE_CLASS = re.compile(r"title|biaoti|bt\b", re.IGNORECASE)


def _is_heading_like(element: lxml.html.HtmlElement) -> bool:
    """A heading, or an element whose class says it holds a title (article-title, h-title)."""
    if element.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        return True
    return _TITLE_CLASS.search(element.get("class") or "") is not None


def _names_title(text: str, page_title: str, meta_title: str) -> bool:
    """Whether a heading's text is the title meta's, or the <title> or its part before a
    separator."""
    if len(text) < _TITLE_MIN:
        return False
    if text in (meta_title, page_title):
        return True
    return page_title.startswith(text) and page_title[len(text)] in _TITLE_SEPARATORS


# Extractors that read no selector or meta name of the profile and work on any page.
_GENERIC_EXTRACTORS: set[Callable[..., object]] = set()


def generic(extract: F) -> F:
    """Mark a field extractor as a generic fallback: what it finds, the profile did not."""
    _GENERIC_EXTRACTORS.add(extract)
    return extract


class Page:
    """One parsed page of a site, with the lookups several field extractors share."""

    def __init__(self, url: str, root: lxml.html.HtmlElement, profile: SiteProfile) -> None:
        self.url = url
        self.root = root
        self.profile = profile
        # Fields a generic fallback found because the profile's selectors found nothing.
        self.fallback_fields: list[str] = []

    def find(self, field: str, extractors: Sequence[Callable[[Page], T | None]]) -> T | None:
        """A field's cascade: the first non-empty value the extractors find, each a fallback for
        the one before; `field` is noted in fallback_fields when a generic one found it."""
        for extract in extractors:
            value = extract(self)
            if value:
                if extract in _GENERIC_EXTRACTORS:
                    self.fallback_fields.append(field)
                return value
        return None

    @cached_property
    def breadcrumb(self) -> lxml.html.HtmlElement | None:
        """The breadcrumb element (首页>协商>政协动态)."""
        return first(self.root, self.profile.breadcrumb)

    @cached_property
    def title_heading(self) -> lxml.html.HtmlElement | None:
        """The profile's title heading, when it holds text."""
        for css in self.profile.title:
            for element in selector(css)(self.root):
                if text_of(element):
                    return element
        return None

    @cached_property
    def html_title(self) -> str | None:
        """The <title> without the site name after it."""
        element = self.root.find(".//title")
        title = text_of(element) if element is not None else ""
        for suffix in self.profile.title_suffixes:
            title = title.removesuffix(fold_text(suffix)).strip()
        return title or None

    @cached_property
    def plain_h1s(self) -> list[lxml.html.HtmlElement]:
        """The <h1> elements with text that are not the breadcrumb."""
        crumb = self.breadcrumb
        return [
            element
            for element in self.root.iter("h1")
            if text_of(element) and not (crumb is not None and crumb in element.iter())
        ]

    @cached_property
    def named_heading(self) -> tuple[lxml.html.HtmlElement, str] | None:
        """A heading (h1-h6, or of a class naming a title) and its title text, where the text is
        the title meta tag's or opens the <title> before a separator (`标题_栏目_站名`).

        A heading's text is its whole text, or its text before its first child (PHPCMS prints
        the info line inside the <h1>, after a <br>); the longest found wins.
        """
        element = self.root.find(".//title")
        page_title = text_of(element) if element is not None else ""
        meta_title = self.meta(self.profile.title_metas) or ""
        best: tuple[lxml.html.HtmlElement, str] | None = None
        body = self.root.find("body")
        for candidate in body.iter() if body is not None else ():
            if not isinstance(candidate.tag, str) or not _is_heading_like(candidate):
                continue
            for text in (text_of(candidate), fold_text(candidate.text or "")):
                if _names_title(text, page_title, meta_title) and (
                    best is None or len(text) >= len(best[1])
                ):
                    best = (candidate, text)
        return best

    @cached_property
    def heading(self) -> lxml.html.HtmlElement | None:
        """Where the title stands: the profile's heading, a heading the <title> opens with, a
        heading the <title> names, any <h1>, else any element holding just the <title>'s text."""
        if self.title_heading is not None:
            return self.title_heading
        if self.named_heading is not None:
            return self.named_heading[0]
        html_title = self.html_title or ""
        named = [element for element in self.plain_h1s if text_of(element) in html_title]
        if not named and html_title:
            # Sites whose title is an <h2> or <h3> (河南省政协): only one the <title> names whole.
            named = [e for e in self.root.iter("h2", "h3", "h4") if text_of(e) == html_title]
        return (named or self.plain_h1s or [self._element_named(html_title)])[0]

    def _element_named(self, html_title: str) -> lxml.html.HtmlElement | None:
        """The deepest element of the body whose whole text is the <title>: a styled title."""
        body = self.root.find("body")
        if not html_title or body is None:
            return None
        found = None
        for element in body.iter():
            if isinstance(element.tag, str) and text_of(element) == html_title:
                found = element  # descendants come later in document order
        return found

    @cached_property
    def profile_body(self) -> lxml.html.HtmlElement | None:
        """The article body the profile's selectors find: of the first selector that matches an
        element with text that does not hold the title (a page wrapper), the longest match."""
        heading = self.heading
        for css in self.profile.body:
            matches = [
                element
                for element in selector(css)(self.root)
                if (heading is None or heading not in element.iter())
                and (text_of(element) or element.find(".//img") is not None)
            ]
            if matches:
                return max(matches, key=lambda element: len(text_of(element)))
        return None

    @cached_property
    def body(self) -> lxml.html.HtmlElement | None:
        """The article body: the profile's selector, else the densest paragraph parent."""
        found = self.profile_body
        return found if found is not None else densest_paragraph_parent(self.root)

    @cached_property
    def profile_date_line(self) -> str | None:
        """The folded text of the profile's date line element; None when the page has none."""
        element = first(self.root, self.profile.date_line)
        return text_of(element) if element is not None else None

    @cached_property
    def date_line(self) -> str:
        """The folded text of the line under the title: date | 作者:… | 来源:…

        Without the profile's element, the line is the element holding the first date after
        the title, or its parent (`<span>date</span><span>来源:…</span>`), whichever is larger
        and still a line: short, holding neither the title nor the body.
        """
        if self.profile_date_line is not None:
            return self.profile_date_line
        for node in self.text_after_heading:
            if find_datetime(fold_text(node)):
                holder = node.getparent()
                if holder is not None and not node.is_tail:
                    for element in (holder.getparent(), holder):
                        if element is not None and self._is_line(element):
                            return text_of(element)
                return fold_text(node)
        return ""

    def _is_line(self, element: lxml.html.HtmlElement) -> bool:
        """Whether an element can be the date line: short, and neither title nor body inside."""
        inside = set(element.iter())
        return (
            len(text_of(element)) <= _DATE_LINE_MAX
            and self.heading not in inside
            and self.body not in inside
        )

    @cached_property
    def text_after_heading(self) -> list[TextNode]:
        """Text nodes after the title up to and including the first one holding a date."""
        if self.heading is None:
            return []
        found = []
        # A body found as the densest paragraph parent may hold the title too (it may be
        # <body>): then it ends nothing.
        body = self.body
        if body is not None and body in self.heading.iterancestors():
            body = None
        for node in following_texts(self.heading, _FOLLOWING_TEXTS):
            parent = node.getparent()
            if parent is None or parent.tag in ("script", "style"):
                continue
            if body is not None and (parent is body or body in parent.iterancestors()):
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

    def drop_boilerplate(self) -> None:
        """Remove scripts, share boxes, pagers, editor and keyword lines (keeping their tails)."""
        for css in self.profile.boilerplate:
            for element in selector(css)(self.root):
                element.drop_tree()


class TextNode(str):
    """A text node as lxml's XPath gives it: the text, the element it is the text or the tail
    of (`getparent()`), and which (`is_tail`)."""

    parent: etree._Element
    is_tail: bool

    def __new__(cls, text: str, parent: etree._Element, is_tail: bool) -> TextNode:
        node = super().__new__(cls, text)
        node.parent, node.is_tail = parent, is_tail
        return node

    def getparent(self) -> etree._Element:
        return self.parent


def following_texts(element: etree._Element, limit: int) -> Iterator[TextNode]:
    """`following::text()[normalize-space()][position() <= limit]` of `element`, found lazily.

    libxml2 collects the whole following axis before it applies the position (0.3 ms a page,
    most of it beyond the date line this is read for); this walks the document from the
    element on and stops where its reader does.
    """
    count = 0
    for node in _texts_after(element):
        if node.strip(_XML_SPACE):
            yield node
            count += 1
            if count >= limit:
                return


def _texts_after(element: etree._Element) -> Iterator[TextNode]:
    """Every text node after `element`'s own, in document order."""
    node: etree._Element | None = element
    while node is not None:
        if node.tail:
            yield TextNode(node.tail, node, True)
        for sibling in node.itersiblings():
            yield from _texts_within(sibling)
        node = node.getparent()


def _texts_within(node: etree._Element) -> Iterator[TextNode]:
    """The text nodes of `node` (a comment's text is none), its descendants' and its tail."""
    if isinstance(node.tag, str) and node.text:
        yield TextNode(node.text, node, False)
    for child in node:
        yield from _texts_within(child)
    if node.tail:
        yield TextNode(node.tail, node, True)
