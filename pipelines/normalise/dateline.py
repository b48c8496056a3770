"""The line under the title: publication date, author (作者) and source (来源)."""

from __future__ import annotations

from datetime import datetime

from pipelines.normalise.dates import find_datetime
from pipelines.normalise.generic import (
    author_from_byline,
    author_from_info_line,
    author_from_meta,
    date_from_info_line,
    source_from_edition_line,
    source_from_info_line,
)
from pipelines.normalise.page import Page, first, generic, text_of
from pipelines.normalise.text import fold_text, strip_label


def _guessed_line(page: Page) -> str | None:
    """The date line guessed from the text after the title, when the profile's is not there."""
    return page.date_line if page.profile_date_line is None else None


def date_from_date_line(page: Page) -> datetime | None:
    """The date at the start of the profile's line under the title."""
    line = page.profile_date_line
    return find_datetime(line) if line else None


@generic
def date_from_guessed_line(page: Page) -> datetime | None:
    """The date in the line guessed to be under the title."""
    line = _guessed_line(page)
    return find_datetime(line) if line else None


@generic
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


DATE_EXTRACTORS = (
    date_from_date_line,
    date_from_guessed_line,
    date_near_title,
    date_from_info_line,
    date_from_meta,
)


def author_from_date_line(page: Page) -> str | None:
    """The 作者 part of the profile's date line."""
    line = page.profile_date_line
    return page.labelled(line, page.profile.author_labels) if line else None


@generic
def author_from_guessed_line(page: Page) -> str | None:
    """The 作者 part of the guessed date line."""
    line = _guessed_line(page)
    return page.labelled(line, page.profile.author_labels) if line else None


AUTHOR_EXTRACTORS = (
    author_from_date_line,
    author_from_info_line,
    author_from_guessed_line,
    author_from_byline,
    author_from_meta,
)


def source_from_date_line(page: Page) -> str | None:
    """The 来源 part of the profile's date line."""
    line = page.profile_date_line
    return page.labelled(line, page.profile.source_labels) if line else None


@generic
def source_from_guessed_line(page: Page) -> str | None:
    """The 来源 part of the guessed date line."""
    line = _guessed_line(page)
    return page.labelled(line, page.profile.source_labels) if line else None


def source_from_source_element(page: Page) -> str | None:
    """An element holding only `来源：<name>` (span.info > em on 中国政协网)."""
    element = first(page.root, page.profile.source)
    if element is None:
        return None
    return strip_label(text_of(element), page.profile.source_labels) or text_of(element) or None


def source_from_meta(page: Page) -> str | None:
    """The source meta tag."""
    return page.meta(page.profile.source_metas)


SOURCE_EXTRACTORS = (
    source_from_date_line,
    source_from_info_line,
    source_from_guessed_line,
    source_from_source_element,
    source_from_meta,
    source_from_edition_line,
)
