"""Plain-text rendering of an article, laid out as a reader sees the page."""

from __future__ import annotations

from collections.abc import Iterator

from pipelines.normalise.article import Article, Image
from pipelines.normalise.dates import format_date_line


def date_line(article: Article) -> str:
    """The line under the title, in page order: `date | 作者:… | 来源:…`."""
    parts = [format_date_line(article.published_at)]
    if article.author:
        parts.append(f"作者:{article.author}")
    if article.source:
        parts.append(f"来源:{article.source}")
    return " | ".join(parts)


def _body_lines(article: Article, mark_pictures: bool) -> Iterator[str]:
    """Captions and paragraphs in page order (a picture without a caption prints nothing,
    unless pictures are marked). A picture placed past the last paragraph comes after it."""
    last = len(article.paragraphs)
    for index in range(last + 1):
        for image in article.images:
            if min(image.position, last) == index:
                yield from _picture_lines(image, mark_pictures)
        if index < last:
            yield article.paragraphs[index]


def _picture_lines(image: Image, mark_pictures: bool) -> Iterator[str]:
    if mark_pictures:
        # A reader of plain text must see where a picture stood and which caption is its.
        yield f"[图片: {image.url}]" + (f" {image.caption}" if image.caption else "")
    elif image.caption:
        yield image.caption


def render_lines(article: Article, *, mark_pictures: bool = False) -> list[str]:
    """The article's lines: title, subtitle, date line, body, editor, keywords.

    `mark_pictures`: each picture is a line `[图片: URL] caption` where it stands, and each
    attachment a line `[附件: URL]` at the end; without it, only captions are printed, as the
    page's text reads."""
    lines = [article.title]
    if article.subtitle:
        lines.append(f"——{article.subtitle}")
    lines.append(date_line(article))
    lines += _body_lines(article, mark_pictures)
    if article.editor:
        lines.append(f"编辑:{article.editor}")
    if article.keywords:
        lines.append("关键词:" + " ".join(article.keywords))
    if mark_pictures:
        lines += (f"[附件: {url}]" for url in article.attachments)
    return lines


def render_text(article: Article, *, mark_pictures: bool = False) -> str:
    """The article as plain text, one item per line with blank lines between."""
    return "\n\n".join(render_lines(article, mark_pictures=mark_pictures)) + "\n"
