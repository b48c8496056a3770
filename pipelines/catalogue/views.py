"""The catalogue's rows as plain values: JSON-ready dicts, and Article dataclasses again."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import object_session

from pipelines.catalogue.models import (
    RUN_COUNTS,
    ArticleEvent,
    ArticleRecord,
    Capture,
    Rejection,
    Run,
)
from pipelines.catalogue.queries import run_rejections
from pipelines.display import display_time
from pipelines.stats import (
    FAILED_PAGES,
    LIFECYCLE_STATS,
    RETRY_AFTER_STATS,
    WALK_STATS,
    WARC_STATS,
)

if TYPE_CHECKING:
    from pipelines.normalise.article import Article, Image


def article_to_article(row: ArticleRecord) -> Article:
    """The Article dataclass the row was saved from (its content hash is the stored one)."""
    # Imported here: importing pipelines.normalise.article runs the package's __init__, the
    # whole normaliser (lxml, w3lib); listing and counting rows does not need it.
    from pipelines.normalise.article import Article

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
        attachments=tuple(row.attachments),
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
        "withdrawn_at": iso(row.withdrawn_at),
    }


def section_text(section: list[str] | tuple[str, ...]) -> str:
    """A section breadcrumb as one cell of text (`协商 > 政协动态`): the one way every table
    and CSV (`articles`, `export csv`) writes it, so their columns compare equal."""
    return SECTION_SEPARATOR.join(section)


SECTION_SEPARATOR = " > "


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
        "attachments": list(row.attachments),
        "content_hash": row.content_hash,
        "page_count": row.page_count,
        "withdrawn_at": iso(row.withdrawn_at),
        "events": [event_view(event) for event in row.events],
        "captures": [capture_view(capture) for capture in row.captures],
    }


def event_view(event: ArticleEvent) -> dict[str, Any]:
    """One withdrawal or restoration of an article, with where its evidence is archived."""
    return {
        "kind": event.kind,
        "at": iso(event.at),
        "reason": event.reason,
        "url": event.url,
        "status": event.status,
        "warc_file": event.warc_filename,
        "offset": event.warc_offset,
        "length": event.warc_length,
        "record_id": event.record_id,
    }


def event_line(event: ArticleEvent) -> str:
    """`withdrawn on 2026-12-07T09:00:00+08:00: http-404`: how `show --format text` says it."""
    return f"{event.kind} on {iso(event.at)}: {event.reason}"


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
    """One crawl run, with its field coverage; with its full Scrapy stats under "stats" when asked.

    The rejected pages are read through the run's session, when it has one.
    """
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
    session = object_session(run)
    rejections = run_rejections(session, run.id) if session is not None else []
    view["coverage"] = coverage_view(run.channels, run.stats or {}, rejections)
    view["warc"] = warc_view(run.stats or {})
    view["walk"] = walk_view(run.stats or {})
    view["lifecycle"] = lifecycle_view(run.stats or {})
    view["failed_pages"] = failed_pages_view(run.stats or {})
    view["retry_after"] = retry_after_view(run.stats or {})
    if with_stats:
        view["stats"] = run.stats
    return view


def coverage_view(
    channels: list[str], stats: dict[str, Any], rejections: list[Rejection]
) -> dict[str, Any]:
    """What a run's pages yielded, from its stats and rejections.

    `channels`: per "site/channel", `{"articles": n, "missing": {field: n}, "fallback": {field: n}}`
    (fields no extractor found; fields only a generic fallback found, the profile's selectors
    having missed them); `warnings`: `{name: n}`; `rejected`: `{reason: n}` and
    `rejected_pages`: `[{"url", "channel", "reason"}]`, pages archived but not catalogued.
    """
    found: dict[str, dict[str, Any]] = {}
    if stats:  # a run still going has no stats yet: then nothing is known of its channels
        found = {ref: _channel_coverage() for ref in channels}
    warnings: Counter[str] = Counter()
    for site, site_stats in stats_by_site(stats):
        for key, value in site_stats.items():
            parts = key.split("/")
            if parts[:2] == ["cppcc", "warnings"] and len(parts) == 3:
                warnings[parts[2]] += value
            elif parts[:2] == ["cppcc", "articles_normalised"] and len(parts) == 3:
                _channel(found, site, parts[2])["articles"] += value
            elif parts[0] == "cppcc" and len(parts) == 4 and parts[1] in _FIELD_STATS:
                fields = _channel(found, site, parts[2])[_FIELD_STATS[parts[1]]]
                fields[parts[3]] = fields.get(parts[3], 0) + value
    return {
        "channels": {ref: found[ref] for ref in sorted(found)},
        "warnings": dict(sorted(warnings.items())),
        "rejected": dict(sorted(Counter(row.reason for row in rejections).items())),
        "rejected_pages": [
            {"url": row.url, "channel": f"{row.site}/{row.channel}", "reason": row.reason}
            for row in rejections
        ],
    }


_FIELD_STATS = {"fields_missing": "missing", "fields_fallback": "fallback"}


def _channel_coverage() -> dict[str, Any]:
    return {"articles": 0, "missing": {}, "fallback": {}}


def _channel(found: dict[str, dict[str, Any]], site: str | None, channel: str) -> dict[str, Any]:
    return found.setdefault(f"{site}/{channel}" if site else channel, _channel_coverage())


def warc_view(stats: dict[str, Any]) -> dict[str, int]:
    """Records, revisits, compressed bytes and files the run wrote, over all its sites."""
    totals = dict.fromkeys(WARC_STATS, 0)
    for _, site_stats in stats_by_site(stats):
        for name, key in WARC_STATS.items():
            totals[name] += int(site_stats.get(key, 0) or 0)
    return totals


def walk_view(stats: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per "site/channel", what the run's walk of its list pages did and the state it left:
    `state` (`complete`, `walked to page 12 of 30`), list `pages` walked, the deepest page
    `reached`, the channel's `last_page`, why it `stopped`, and the list page that `failure`
    names when one could not be read."""
    walks: dict[str, dict[str, Any]] = {}
    for site, site_stats in stats_by_site(stats):
        for key, value in site_stats.items():
            parts = key.split("/")
            if parts[:2] == ["cppcc", "walk"] and len(parts) == 4 and parts[3] in WALK_STATS:
                ref = f"{site}/{parts[2]}" if site else parts[2]
                walks.setdefault(ref, {})[parts[3]] = value
    return dict(sorted(walks.items()))


def lifecycle_view(stats: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per "site/channel", what the run's re-checks of its catalogued articles found: live
    ones `rechecked`, articles `withdrawn` (recorded), `restored`, `still_withdrawn`, and
    withdrawals `held_back` by the outage guard with why (`held_back_why`)."""
    found: dict[str, dict[str, Any]] = {}
    for site, site_stats in stats_by_site(stats):
        for key, value in site_stats.items():
            parts = key.split("/")
            if (
                parts[:2] == ["cppcc", "lifecycle"]
                and len(parts) == 4
                and parts[3] in LIFECYCLE_STATS
            ):
                ref = f"{site}/{parts[2]}" if site else parts[2]
                found.setdefault(ref, {})[parts[3]] = value
    return dict(sorted(found.items()))


def retry_after_view(stats: dict[str, Any]) -> dict[str, int]:
    """Waits a server asked for (429/503 with Retry-After), the seconds waited, and how many
    were cut to CPPCC_RETRY_AFTER_MAX, over all the run's sites."""
    totals = dict.fromkeys(RETRY_AFTER_STATS, 0)
    for _, site_stats in stats_by_site(stats):
        for name, key in RETRY_AFTER_STATS.items():
            totals[name] += int(site_stats.get(key, 0) or 0)
    return totals


def failed_pages_view(stats: dict[str, Any]) -> list[dict[str, str]]:
    """Pages that failed for a reason other than their status (a redirect loop, a reset
    connection): `[{"url", "why"}]`, over all the run's sites."""
    return [page for _, site_stats in stats_by_site(stats)
            for page in site_stats.get(FAILED_PAGES) or []]  # fmt: skip


def stats_by_site(stats: dict[str, Any]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """The launcher stores one Scrapy stats dict per site; a flat dict is of an unnamed site."""
    if stats and all(isinstance(value, dict) for value in stats.values()):
        yield from stats.items()
    else:
        yield None, stats


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in Beijing time, e.g. `2022-03-04T18:00:00+08:00` (display_time)."""
    return display_time(moment)


def _page_time(moment: datetime) -> str:
    # Page dates are to the second: `YYYY-MM-DDTHH:MM:SS+08:00`.
    return display_time(moment, timespec="seconds") or ""


def _image(stored: dict[str, Any]) -> Image:
    from pipelines.normalise.article import Image

    # Keys the Image dataclass does not know (a field since removed) are ignored.
    known = {field.name for field in dataclasses.fields(Image)}
    return Image(**{key: value for key, value in stored.items() if key in known})
