"""The catalogue's rows as plain values: JSON-ready dicts, and Article dataclasses again."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from pipelines.catalogue.models import RUN_COUNTS, ArticleRecord, Capture, Run
from pipelines.normalise.article import Article, Image

_IMAGE_FIELDS = frozenset(field.name for field in dataclasses.fields(Image))


def article_to_article(row: ArticleRecord) -> Article:
    """The Article dataclass the row was saved from (its content hash is the stored one)."""
    return Article(
        url=row.url,
        title=row.title,
        published_at=row.published_at,
        content_id=row.content_id,
        section=tuple(row.section),
        subtitle=row.subtitle,
        source=row.source,
        author=row.author,
        editor=row.editor,
        keywords=tuple(row.keywords),
        paragraphs=tuple(row.paragraphs),
        images=tuple(_image(image) for image in row.images),
        page_count=row.page_count,
    )


def article_summary(row: ArticleRecord) -> dict[str, Any]:
    """One line of an article list."""
    return {
        "id": row.id,
        "url": row.url,
        "site": row.site,
        "channel": row.channel,
        "section": list(row.section),
        "title": row.title,
        "published_at": _page_time(row.published_at),
        "source": row.source,
    }


def article_view(row: ArticleRecord) -> dict[str, Any]:
    """Everything about one article, with where each of its pages is archived."""
    return {
        "id": row.id,
        "url": row.url,
        "site": row.site,
        "channel": row.channel,
        "content_id": row.content_id,
        "section": list(row.section),
        "title": row.title,
        "subtitle": row.subtitle,
        "published_at": _page_time(row.published_at),
        "source": row.source,
        "author": row.author,
        "editor": row.editor,
        "keywords": list(row.keywords),
        "paragraphs": list(row.paragraphs),
        "images": [dict(image) for image in row.images],
        "content_hash": row.content_hash,
        "page_count": row.page_count,
        "captures": [capture_view(capture) for capture in row.captures],
    }


def capture_view(capture: Capture) -> dict[str, Any]:
    """Where one page was archived: enough to read the record back from its WARC file."""
    return {
        "warc_file": capture.warc_filename,
        "offset": capture.warc_offset,
        "length": capture.warc_length,
        "record_id": capture.record_id,
        "fetched_at": iso(capture.fetched_at),
        "status": capture.status,
        "url": capture.url,
        "page": capture.page_number,
    }


def run_view(run: Run, *, with_stats: bool = False) -> dict[str, Any]:
    """One crawl run; with its full Scrapy stats under "stats" when asked."""
    view: dict[str, Any] = {
        "id": run.id,
        "trigger": run.trigger,
        "status": run.status,
        "channels": list(run.channels),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "pid": run.pid,
        "host": run.host,
        "exit_code": run.exit_code,
        "finish_reason": run.finish_reason,
        "error": run.error,
        "counts": {name: getattr(run, name) for name in RUN_COUNTS},
    }
    if with_stats:
        view["stats"] = run.stats
    return view


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with the UTC offset, e.g. `2022-03-04T10:00:00+00:00`; None stays None."""
    return None if moment is None else moment.isoformat()


def _page_time(moment: datetime) -> str:
    # Page dates are to the second: `YYYY-MM-DDTHH:MM:SS+08:00`.
    return moment.isoformat(timespec="seconds")


def _image(stored: dict[str, Any]) -> Image:
    # Keys the Image dataclass does not know (a field since removed) are ignored.
    return Image(**{key: value for key, value in stored.items() if key in _IMAGE_FIELDS})
