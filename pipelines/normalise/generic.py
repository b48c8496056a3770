"""The extractors only the generic profile's patterns need (seeds/profiles/generic.toml: the
profile of sites without one of their own)."""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import lru_cache

import lxml.html

from pipelines.normalise.dates import SHANGHAI, find_datetime
from pipelines.normalise.page import Page, generic, text_of

_LINE_MAX = 200  # a line of the header, not a paragraph
_EDITOR_LINE_MAX = 80
_REGION_TEXT_MAX = 2000
_BLOCKS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd"}
    | {"table", "tbody", "tr", "td", "th", "center", "section", "header"}
)
_VALUE_TRIM = " |｜丨/·,，;；:()[]【】〖〗<>《》"
# 新华网 prints the date in pieces: `<em>2023</em>` `<em>05</em>/<em>06</em>` `10:20:30`.
_SPLIT_DATE = re.compile(
    r"(?P<year>(?:19|20)\d{2})\s+(?P<month>\d{1,2})\s*/\s*(?P<day>\d{1,2})"
    r"\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})"
)
# The edition line of a 方正 e-paper page: 《人民政协报》（2023年05月10日 第 02 版）.
_EDITION = re.compile(r"《(?P<paper>[^《》]{2,20}(?:报|刊))》\s*\(?\s*(?:19|20)\d{2}年")
_BYLINE = re.compile(r"(?:本报|本网|新华社)?记者\s+(?P<names>\S.{0,30})")


@lru_cache(maxsize=8)
def _label_pattern(labels: tuple[str, ...]) -> re.Pattern[str]:
    """Any of the labels before a colon, longest first (信息来源 before 来源)."""
    ordered = sorted(labels, key=len, reverse=True)
    return re.compile(rf"({'|'.join(map(re.escape, ordered))})\s*:")


def labelled_values(line: str, labels: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(label, value) pairs of an info line; each value ends where the next label starts."""
    matches = list(_label_pattern(labels).finditer(line))
    ends = [match.start() for match in matches[1:]] + [len(line)] if matches else []
    for match, end in zip(matches, ends, strict=True):
        yield match[1], line[match.end() : end].strip(_VALUE_TRIM)


def value_of(line: str, wanted: Sequence[str], labels: tuple[str, ...]) -> str | None:
    """The first non-empty value of a `wanted` label in the line."""
    for label, value in labelled_values(line, labels):
        if label in wanted and value:
            return value
    return None


def _region_start(page: Page) -> lxml.html.HtmlElement | None:
    """The largest ancestor of the title that holds no part of the body: the article's head."""
    start, body = page.heading, page.body
    if start is None:
        return None
    while True:
        parent = start.getparent()
        if parent is None or parent.tag in ("body", "html"):
            return start
        if body is not None and (parent is body or body in parent.iterdescendants()):
            return start
        start = parent


# Several extractors read the same page's head lines: found once per page.
_HEADER_LINES: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


def header_lines(page: Page) -> list[str]:
    """The short lines from the head of the article (title included) to its body."""
    if page not in _HEADER_LINES:
        _HEADER_LINES[page] = _find_header_lines(page)
    return _HEADER_LINES[page]


def _find_header_lines(page: Page) -> list[str]:
    start = _region_start(page)
    if start is None:
        return []
    lines: list[str] = []
    size = 0
    started = False
    for element in page.root.iter():
        if element is start:
            started = True
        if not started or not isinstance(element.tag, str):
            continue
        if element is page.body or size > _REGION_TEXT_MAX:
            break
        if element.tag in _BLOCKS and not any(
            child.tag in _BLOCKS for child in element.iterdescendants() if child is not page.body
        ):
            line = text_of(element)
            if line and len(line) <= _LINE_MAX:
                lines.append(line)
                size += len(line)
    return lines


def _header_value(page: Page, wanted: Sequence[str]) -> str | None:
    labels = page.profile.info_labels
    if not labels:
        return None
    for line in header_lines(page):
        value = value_of(line, wanted, labels)
        if value:
            return value
    return None


@generic
def source_from_info_line(page: Page) -> str | None:
    """来源:X in a line under the title, ending where the next label (作者:, 点击:…) starts."""
    return _header_value(page, page.profile.source_labels)


@generic
def source_from_edition_line(page: Page) -> str | None:
    """The paper an e-paper article was printed in: 《人民政协报》（2023年05月10日 第 02 版）."""
    if not page.profile.info_labels:
        return None
    for line in header_lines(page):
        match = _EDITION.search(line)
        if match:
            return match["paper"]
    return None


@generic
def author_from_info_line(page: Page) -> str | None:
    """作者:X in a line under the title."""
    return _header_value(page, page.profile.author_labels)


@generic
def author_from_byline(page: Page) -> str | None:
    """A line under the title that is only a byline: `记者 王晓东`."""
    if not page.profile.info_labels:
        return None
    for line in header_lines(page):
        match = _BYLINE.fullmatch(line)
        if match:
            return match["names"].strip()
    return None


def author_from_meta(page: Page) -> str | None:
    """The author meta tag the profile names (`Author` of TRS/大汉/开普云 pages)."""
    return page.meta(page.profile.author_metas)


def _split_date(text: str) -> datetime | None:
    match = _SPLIT_DATE.search(text)
    if match is None:
        return None
    year, month, day, hour, minute = (int(match[name]) for name in _SPLIT_DATE.groupindex)
    try:
        return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)
    except ValueError:
        return None


@generic
def date_from_info_line(page: Page) -> datetime | None:
    """The first date in the head of the article, the title's own line and before it too."""
    if not page.profile.info_labels:
        return None
    for line in header_lines(page):
        found = find_datetime(line) or _split_date(line)
        if found:
            return found
    return None


def _short_elements(page: Page) -> Iterator[str]:
    """The text of every short element that holds no other block, in page order."""
    for element in page.root.iter():
        if element.tag in _BLOCKS or element.tag == "span":
            line = text_of(element)
            if 0 < len(line) <= _EDITOR_LINE_MAX:
                yield line


@generic
def editor_from_any_element(page: Page) -> str | None:
    """(责任编辑:X), 【责任编辑:X】 or 责编:X in any short element of the page."""
    labels = page.profile.info_labels
    if not labels:
        return None
    for line in _short_elements(page):
        value = value_of(line, page.profile.editor_labels, labels)
        if value:
            return value
    return None


def title_from_meta(page: Page) -> str | None:
    """The title meta tag the profile names (`ArticleTitle` of TRS/大汉/开普云 pages)."""
    return page.meta(page.profile.title_metas)


@generic
def title_from_dated_heading(page: Page) -> str | None:
    """The heading a date follows, when the <title> names no heading (e-paper pages title
    every article with the paper's name)."""
    heading = page.heading
    if not page.profile.info_labels or heading is None or page.named_heading is not None:
        return None
    if heading.tag != "h1" or not any(find_datetime(text) for text in page.text_after_heading):
        return None
    return text_of(heading) or None


@generic
def title_from_named_heading(page: Page) -> str | None:
    """A heading the <title> opens with (`title_栏目_站名`), its own text (PHPCMS: before <br>)."""
    return page.named_heading[1] if page.named_heading is not None else None
