"""Plain-text rendering of an article, laid out as a reader sees the page."""

from __future__ import annotations

from collections.abc import Iterator

from pipelines.normalise.article import Article
from pipelines.normalise.dates import format_date_line


def date_line(article: Article) -> str:
    """The line under the title, in page order: `date | 作者:… | 来源:…`."""
    parts = [format_date_line(article.published_at)]
    if article.author:
        parts.append(f"作者:{article.author}")
    if article.source:
        parts.append(f"来源:{article.source}")
    return " | ".join(parts)


def _body_lines(article: Article) -> Iterator[str]:
    """Captions and paragraphs in page order (a picture without a caption prints nothing)."""
    for index in range(len(article.paragraphs) + 1):
        for image in article.images:
            if image.position == index and image.caption:
                yield image.caption
        if index < len(article.paragraphs):
            yield article.paragraphs[index]


def render_lines(article: Article) -> list[str]:
    """The article's lines: title, subtitle, date line, body, editor, keywords."""
    lines = [article.title]
    if article.subtitle:
        lines.append(f"——{article.subtitle}")
    lines.append(date_line(article))
    lines += _body_lines(article)
    if article.editor:
        lines.append(f"编辑:{article.editor}")
    if article.keywords:
        lines.append("关键词:" + " ".join(article.keywords))
    return lines


def render_text(article: Article) -> str:
    """The article as plain text, one item per line with blank lines between."""
    return "\n\n".join(render_lines(article)) + "\n"
