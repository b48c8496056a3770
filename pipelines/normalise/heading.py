"""What stands above an article's body: title, subtitle, breadcrumb section and content id."""

from __future__ import annotations

from pipelines.normalise.generic import (
    title_from_dated_heading,
    title_from_meta,
    title_from_named_heading,
)
from pipelines.normalise.page import Page, generic, text_of
from pipelines.normalise.text import fold_text, starts_with_dashes, strip_leading_dashes
from pipelines.normalise.urls import parse_article_url

_SUBTITLE_MAX = 120


def title_from_heading(page: Page) -> str | None:
    """The title heading (h1.Content_title span#a on rmzxb)."""
    return text_of(page.title_heading) if page.title_heading is not None else None


@generic
def title_from_html_title(page: Page) -> str | None:
    """The <title> without the site name after it."""
    return page.html_title


@generic
def title_from_first_h1(page: Page) -> str | None:
    """The first <h1> that is not the breadcrumb."""
    return text_of(page.plain_h1s[0]) if page.plain_h1s else None


TITLE_EXTRACTORS = (
    title_from_heading,
    title_from_meta,
    title_from_named_heading,
    title_from_dated_heading,
    title_from_html_title,
    title_from_first_h1,
)


def subtitle_after_title(page: Page) -> str | None:
    """A line opening with —— between the title and the date line, whatever element holds it."""
    for node in page.text_after_heading:
        if starts_with_dashes(fold_text(node)):
            holder = node.getparent()
            line = text_of(holder) if holder is not None and not node.is_tail else fold_text(node)
            if not starts_with_dashes(line) or len(line) > _SUBTITLE_MAX:
                line = fold_text(node)
            return strip_leading_dashes(line) or None
    return None


def section_from_breadcrumb(page: Page) -> tuple[str, ...] | None:
    """The breadcrumb's items after the home page: ("协商", "政协动态")."""
    if page.breadcrumb is None:
        return None
    crumbs = (crumb.strip() for crumb in text_of(page.breadcrumb).split(">"))
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
