"""The line under the title: publication date, author (作者) and source (来源)."""

from __future__ import annotations

from datetime import datetime

from pipelines.normalise.dates import find_datetime
from pipelines.normalise.page import Page, first, text_of
from pipelines.normalise.text import fold_text, strip_label


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


def source_from_source_element(page: Page) -> str | None:
    """An element holding only `来源：<name>` (span.info > em on 中国政协网)."""
    element = first(page.root, page.profile.source)
    if element is None:
        return None
    return strip_label(text_of(element), page.profile.source_labels) or text_of(element) or None


def source_from_meta(page: Page) -> str | None:
    """The source meta tag."""
    return page.meta(page.profile.source_metas)


SOURCE_EXTRACTORS = (source_from_date_line, source_from_source_element, source_from_meta)
