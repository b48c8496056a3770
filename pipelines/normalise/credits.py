"""The editor and keyword lines printed with an article: visible lines only, never meta tags."""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.normalise.generic import editor_from_any_element
from pipelines.normalise.page import Page, first, generic, text_of
from pipelines.normalise.text import split_keywords, strip_label

_LABELLED_LINE_MAX = 80


def _labelled_paragraph(page: Page, labels: Sequence[str]) -> str | None:
    """The value of the first short <p> anywhere that reads `label:value`, brackets allowed."""
    for element in page.root.iter("p"):
        line = text_of(element).strip("()[]")
        if len(line) < _LABELLED_LINE_MAX:
            value = strip_label(line, tuple(labels))
            if value:
                return value
    return None


def editor_from_editor_line(page: Page) -> str | None:
    """The editor line (p.Editor: 编辑：…)."""
    element = first(page.root, page.profile.editor)
    if element is None:
        return None
    return strip_label(text_of(element), page.profile.editor_labels) or text_of(element) or None


@generic
def editor_from_any_line(page: Page) -> str | None:
    """Any short paragraph reading 编辑:… or (责任编辑:…)."""
    return _labelled_paragraph(page, page.profile.editor_labels)


EDITOR_EXTRACTORS = (editor_from_editor_line, editor_from_any_element, editor_from_any_line)


def keywords_from_keyword_line(page: Page) -> tuple[str, ...] | None:
    """The keyword line (p.Keyword: 关键词：…); never the machine-made keywords meta tag."""
    element = first(page.root, page.profile.keywords)
    if element is None:
        return None
    line = strip_label(text_of(element), page.profile.keyword_labels) or text_of(element)
    return split_keywords(line)


@generic
def keywords_from_any_line(page: Page) -> tuple[str, ...] | None:
    """Any short paragraph reading 关键词:…"""
    line = _labelled_paragraph(page, page.profile.keyword_labels)
    return split_keywords(line) if line else None


KEYWORD_EXTRACTORS = (keywords_from_keyword_line, keywords_from_any_line)
