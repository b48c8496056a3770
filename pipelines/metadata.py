"""An article's normalised fields (or why a page is not one) as a WARC metadata record, and back.

Written beside the page's response record, so the catalogue can be rebuilt from the WARC
files alone (`cppcc-archive reindex`), with the site and channel the crawl knew.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipelines.normalise.article import Article, Image

KIND = "cppcc-kind"  # "article" or "rejection"
SITE, CHANNEL = "cppcc-site", "cppcc-channel"
PAGE = "cppcc-page"  # "<page number> <WARC-Record-ID of its response>", one per page
ARTICLE = "cppcc-article"  # the article's fields as one line of JSON
REASON, DETAIL = "cppcc-reason", "cppcc-detail"


@dataclass(frozen=True)
class ArchivedArticle:
    """What a metadata record says: an article, or a page rejected and why."""

    site: str
    channel: str
    pages: tuple[tuple[int, str], ...]  # (page number, response record id), page 1 first
    article: Article | None = None
    reason: str | None = None
    detail: str | None = None


def article_fields(
    site: str, channel: str, pages: Sequence[tuple[int, str]], article: Article
) -> list[tuple[str, str]]:
    """The warc-fields of an article's metadata record."""
    return [
        (KIND, "article"),
        *_common(site, channel, pages),
        (ARTICLE, json.dumps(_article_json(article), ensure_ascii=False, sort_keys=True)),
    ]


def rejection_fields(
    site: str, channel: str, pages: Sequence[tuple[int, str]], reason: str, detail: str
) -> list[tuple[str, str]]:
    """The warc-fields of a rejected page's metadata record."""
    return [
        (KIND, "rejection"),
        *_common(site, channel, pages),
        (REASON, reason),
        (DETAIL, " ".join(detail.split())),  # one line
    ]


def parse_fields(block: bytes) -> ArchivedArticle | None:
    """The metadata record's content; None when it is not one of ours."""
    fields = _warc_fields(block)
    kind = _first(fields, KIND)
    if kind not in ("article", "rejection"):
        return None
    pages = []
    for value in fields.get(PAGE, []):
        number, _, record_id = value.partition(" ")
        pages.append((int(number), record_id))
    site, channel = _first(fields, SITE) or "", _first(fields, CHANNEL) or ""
    if kind == "article":
        article = _article(json.loads(_first(fields, ARTICLE)))
        return ArchivedArticle(site, channel, tuple(sorted(pages)), article=article)
    return ArchivedArticle(
        site,
        channel,
        tuple(sorted(pages)),
        reason=_first(fields, REASON),
        detail=_first(fields, DETAIL),
    )


def _common(site: str, channel: str, pages: Iterable[tuple[int, str]]) -> list[tuple[str, str]]:
    return [(SITE, site), (CHANNEL, channel), *((PAGE, f"{n} {rid}") for n, rid in pages)]


def _article_json(article: Article) -> dict[str, Any]:
    return {
        "url": article.url,
        "title": article.title,
        "published_at": article.published_at.isoformat(),
        "content_id": article.content_id,
        "section": list(article.section),
        "subtitle": article.subtitle,
        "source": article.source,
        "author": article.author,
        "editor": article.editor,
        "keywords": list(article.keywords),
        "paragraphs": list(article.paragraphs),
        "images": [
            {"url": i.url, "caption": i.caption, "position": i.position} for i in article.images
        ],
        "page_count": article.page_count,
        "attachments": list(article.attachments),
    }


def _article(data: dict[str, Any]) -> Article:
    return Article(
        url=data["url"],
        title=data["title"],
        published_at=datetime.fromisoformat(data["published_at"]),
        content_id=data.get("content_id"),
        section=tuple(data.get("section", ())),
        subtitle=data.get("subtitle"),
        source=data.get("source"),
        author=data.get("author"),
        editor=data.get("editor"),
        keywords=tuple(data.get("keywords", ())),
        paragraphs=tuple(data.get("paragraphs", ())),
        images=tuple(Image(**image) for image in data.get("images", ())),
        page_count=data.get("page_count", 1),
        attachments=tuple(data.get("attachments", ())),  # absent in records before 2026-12
    )


def _warc_fields(block: bytes) -> dict[str, list[str]]:
    # Split on CRLF only: a JSON value may hold U+2028, which str.splitlines would cut.
    fields: dict[str, list[str]] = {}
    for line in block.decode("utf-8").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            fields.setdefault(name.strip(), []).append(value.strip())
    return fields


def _first(fields: dict[str, list[str]], name: str) -> Any:
    values = fields.get(name)
    return values[0] if values else None
