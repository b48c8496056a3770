"""The normalised article: the record every page of a CPPCC news site is turned into."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Image:
    """A picture in an article body, with the caption printed next to it (None when none)."""

    url: str
    caption: str | None = None
    # Index of the paragraph the picture stands before (len(paragraphs) when after the last one),
    # so a rendering can put pictures and captions back in page order.
    position: int = 0


@dataclass(frozen=True)
class Article:
    """What a reader sees of one article, all of its pages merged.

    Text fields are already folded (full-width ASCII forms to ASCII, white space collapsed).
    """

    url: str
    title: str
    published_at: datetime  # timezone-aware, Asia/Shanghai for page dates
    content_id: str | None = None
    section: tuple[str, ...] = ()
    subtitle: str | None = None
    source: str | None = None
    author: str | None = None
    editor: str | None = None
    keywords: tuple[str, ...] = ()
    paragraphs: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    page_count: int = 1
    # Fields the extractor had to leave empty or take from a fallback, for coverage stats.
    missing_fields: tuple[str, ...] = field(default=(), compare=False)
    # Fields found only by a generic fallback, the profile's selectors having missed them: a
    # layout change shows here even when the fallback found everything.
    fallback_fields: tuple[str, ...] = field(default=(), compare=False)
    # Links to files (PDF, Word, spreadsheets...) in the body, absolute, in page order.
    attachments: tuple[str, ...] = field(default=(), compare=False)
    # Links in the pager of a multi-page article, absolute, in page order: the pages the
    # crawler fetches next. Never part of the content.
    pager_links: tuple[str, ...] = field(default=(), compare=False)
    # Doubts about the page, e.g. "date-disagrees-with-url"; counted, never part of the content.
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def content_fields(self) -> dict[str, object]:
        """The fields that make up the article's content, as JSON-ready values."""
        return {
            "title": self.title,
            "subtitle": self.subtitle,
            "published_at": self.published_at.isoformat(),
            "source": self.source,
            "author": self.author,
            "editor": self.editor,
            "keywords": list(self.keywords),
            "section": list(self.section),
            "paragraphs": list(self.paragraphs),
            "images": [{"url": image.url, "caption": image.caption} for image in self.images],
        }

    @property
    def content_hash(self) -> str:
        """SHA-256 of the content fields: equal hashes mean a reader would see the same article."""
        canonical = json.dumps(self.content_fields(), ensure_ascii=False, sort_keys=True)
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
