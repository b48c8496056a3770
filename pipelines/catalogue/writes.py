"""Write to the catalogue: sites and channels, articles and their captures, rejections, runs.

Every function takes a Session and only flushes: the caller owns the transaction.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from pipelines.catalogue.conflicts import dialect_of, insert_for, table_of
from pipelines.catalogue.lifecycle import restore_article
from pipelines.catalogue.models import (
    RUN_COUNTS,
    ArticleContent,
    ArticleRecord,
    ArticleVersion,
    Capture,
    Channel,
    Rejection,
    Run,
    RunChannel,
    Site,
    split_channel_key,
)
from pipelines.catalogue.search import index_article
from pipelines.errors import UsageError
from pipelines.normalise.article import Article
from pipelines.warc.location import RecordLocation

RUN_TRIGGERS = ("manual", "schedule")
RUN_STATUSES = ("running", "finished", "failed", "interrupted")

# (channel key, channel name, list URL)
ChannelSeed = tuple[str, str, str]
# (site key, site name, its channels)
SiteSeed = tuple[str, str, Sequence[ChannelSeed]]


class ArticleOutcome(enum.StrEnum):
    """What saving an article did to the catalogue."""

    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def upsert_site_channels(session: Session, sites: Iterable[SiteSeed]) -> None:
    """Insert or rename the seeds' sites and channels; channels no longer seeded are kept.

    INSERT … ON CONFLICT, so two crawls starting at once on a new catalogue do not both
    insert the same site (the second would fail on the key).
    """
    for site_key, site_name, channels in sites:
        _upsert(session, Site, {"key": site_key, "name": site_name}, ["key"], ["name"])
        for channel_key, channel_name, list_url in channels:
            row = {"site": site_key, "key": channel_key, "name": channel_name, "list_url": list_url}
            _upsert(session, Channel, row, ["site", "key"], ["name", "list_url"])
    session.flush()


def _upsert(
    session: Session, model: Any, row: dict[str, Any], keys: list[str], updated: list[str]
) -> None:
    statement = insert_for(dialect_of(session), model).values(**row)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in updated}
    )
    session.execute(statement)


def save_article(
    session: Session,
    *,
    article: Article,
    site: str,
    channel: str,
    captures: Sequence[tuple[int, RecordLocation]],
    run_id: int | None,
    seen_at: datetime | None = None,
) -> ArticleOutcome:
    """Catalogue `article` (one row per canonical URL) and the WARC records of its pages.

    `captures` pairs each page number with where its response was archived; captures already
    catalogued (same record id) are skipped. `seen_at` defaults to the newest capture's time,
    so a catalogue rebuilt from the WARC files gets the same dates. An article already
    catalogued keeps the channel that found it first. Safe when another process saves the
    same URL at the same time. An article withdrawn before `seen_at` is restored (its
    withdrawal ends, an event says when): its page is there again.
    """
    seen_at = seen_at or newest_fetch(captures)
    first_page = first_page_of(captures)
    first_record_id = first_page.record_id if first_page else None
    # Most articles a crawl saves are new: written with plain INSERTs, which a crawl does
    # several hundred a second cheaper than through ORM objects and savepoints.
    content = content_values(article, seen_at)
    article_id = _insert_new_article(session, new_article_row(article, site, channel, content))
    if article_id is not None:
        outcome = ArticleOutcome.NEW
        _insert_version(session, article_id, 1, content, first_record_id, run_id)
        index_article(session, SimpleNamespace(id=article_id, **content))
    else:
        # Catalogued before, or by another process since: compare, update, add a version.
        record = _locked_article(session, article.url)
        if record is None:  # the row that conflicted is gone again (deleted meanwhile)
            raise RuntimeError(f"article {article.url} conflicts with a row that is not there")
        superseded = {name: getattr(record, name) for name in VERSIONED_FIELDS}
        outcome = _update_article(record, article, seen_at)
        restore_article(session, record, at=seen_at, evidence=first_page, run_id=run_id)
        if outcome is not ArticleOutcome.UNCHANGED:
            _add_version(session, record, superseded, first_record_id, run_id)
            index_article(session, record)
        article_id = record.id
    add_captures(session, [(article_id, captures, run_id)])
    return outcome


def save_rejection(
    session: Session,
    *,
    url: str,
    site: str,
    channel: str,
    reason: str,
    detail: str | None,
    location: RecordLocation | None,
    run_id: int | None,
    seen_at: datetime | None = None,
) -> int:
    """Record a page that was archived but not catalogued, and why; returns the row's id.

    `reason` is a slug (e.g. "no-title"); `seen_at` defaults to the capture's time, else now.
    """
    if seen_at is None:
        seen_at = location.fetched_at if location else datetime.now(UTC)
    rejection = Rejection(
        url=url,
        site=site,
        channel=channel,
        reason=reason,
        detail=detail,
        warc_filename=location.filename if location else None,
        warc_offset=location.offset if location else None,
        warc_length=location.length if location else None,
        record_id=location.record_id if location else None,
        run_id=run_id,
        seen_at=seen_at,
    )
    session.add(rejection)
    session.flush()
    return rejection.id


def start_run(
    session: Session,
    *,
    trigger: str,
    channels: Sequence[str],
    pid: int | None,
    host: str | None,
    started_at: datetime,
    lease_seconds: float | None = None,
) -> int:
    """Record a crawl that starts now, as `running`; returns its id.

    `trigger` is "manual" or "schedule"; `channels` are "site/channel" keys (ValueError
    otherwise). Its heartbeat starts at `started_at`; `lease_seconds`: how long it may go
    without one before others take it for dead (None: locks.STALE_AFTER).
    """
    if trigger not in RUN_TRIGGERS:
        raise ValueError(f"run trigger {trigger!r} is not one of {', '.join(RUN_TRIGGERS)}")
    keys = dict.fromkeys(split_channel_key(channel) for channel in channels)  # ordered, unique
    run = Run(
        trigger=trigger,
        status="running",
        channels=list(channels),
        started_at=started_at,
        heartbeat_at=started_at,
        lease_seconds=lease_seconds,
        pid=pid,
        host=host,
        **dict.fromkeys(RUN_COUNTS, 0),
    )
    session.add(run)
    session.flush()
    session.add_all(RunChannel(run_id=run.id, site=site, channel=key) for site, key in keys)
    session.flush()
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    *,
    status: str,
    finished_at: datetime,
    exit_code: int | None,
    finish_reason: str | None,
    error: str | None = None,
    counts: Mapping[str, int] | None = None,
    stats: Mapping[str, object] | None = None,
) -> None:
    """Record how a crawl ended: its status, exit code, counts and full Scrapy stats.

    `counts` keys are the run's count columns (see `RUN_COUNTS`); ones left out keep their
    value. Raises UsageError for an unknown run id.
    """
    if status not in RUN_STATUSES:
        raise ValueError(f"run status {status!r} is not one of {', '.join(RUN_STATUSES)}")
    unknown = set(counts or {}) - set(RUN_COUNTS)
    if unknown:
        raise ValueError(f"unknown run counts: {', '.join(sorted(unknown))}")
    run = session.get(Run, run_id, with_for_update=True)
    if run is None:
        raise UsageError(f"no run #{run_id} in the catalogue; `cppcc-archive runs` lists them")
    run.status, run.finished_at, run.exit_code = status, finished_at, exit_code
    run.finish_reason, run.error = finish_reason, error
    for name, value in (counts or {}).items():
        setattr(run, name, int(value))
    if stats is not None:
        run.stats = _json_ready(stats)
    session.flush()


def newest_fetch(captures: Sequence[tuple[int, RecordLocation]]) -> datetime:
    """When the newest of the captures was fetched (now, if there are none): when an article
    saved without a `seen_at` was seen."""
    if captures:
        return max(location.fetched_at for _, location in captures)
    return datetime.now(UTC)


def first_page_of(captures: Sequence[tuple[int, RecordLocation]]) -> RecordLocation | None:
    """The capture of the article's first page (the lowest page number) among `captures`."""
    first = min(captures, key=lambda capture: capture[0], default=None)
    return first[1] if first else None


def _locked_article(session: Session, url: str) -> ArticleRecord | None:
    # FOR UPDATE: compare-then-update must not interleave with another writer (no-op on SQLite).
    query = select(ArticleRecord).where(ArticleRecord.url == url).with_for_update()
    return session.scalars(query).one_or_none()


def new_article_row(
    article: Article, site: str, channel: str, content: Mapping[str, Any]
) -> dict[str, Any]:
    """The `articles` row of an article first seen now: `content` is its content_values."""
    seen_at = content["updated_at"]
    return {
        "url": article.url,
        "site": site,
        "channel": channel,
        "first_seen_at": seen_at,
        "last_seen_at": seen_at,
        "attachments": list(article.attachments),
        **content,
    }


def _insert_new_article(session: Session, row: Mapping[str, Any]) -> int | None:
    """Insert the article `row` if its URL is not catalogued; its new id, or None if it was.

    ON CONFLICT DO NOTHING: a URL another process inserts at the same time is a conflict
    here (PostgreSQL waits for that transaction), never an error that spoils the caller's.
    """
    dialect = dialect_of(session)
    result = session.connection().execute(_statements(dialect).insert_new_article, row)
    if dialect == "postgresql":
        new_id: int | None = result.scalar_one_or_none()
        return new_id
    # SQLite before 3.35 has no RETURNING: a row inserted (not ignored) is the last row id.
    return result.lastrowid if result.rowcount == 1 else None


def _update_article(record: ArticleRecord, article: Article, seen_at: datetime) -> ArticleOutcome:
    record.first_seen_at = min(record.first_seen_at, seen_at)
    record.last_seen_at = max(record.last_seen_at, seen_at)
    if seen_at >= record.updated_at and list(article.attachments) != record.attachments:
        record.attachments = list(article.attachments)  # the newest capture's links
    # An older capture (replayed from the WARC files out of order) never overwrites newer text.
    if record.content_hash == article.content_hash or seen_at < record.updated_at:
        return ArticleOutcome.UNCHANGED
    _copy_content(record, article, seen_at)
    return ArticleOutcome.UPDATED


def _add_version(
    session: Session,
    record: ArticleRecord,
    superseded: Mapping[str, Any],
    record_id: str | None,
    run_id: int | None,
) -> None:
    """The article's content as it is now, numbered after the versions before it.

    The version it supersedes gets its content (`superseded`, the article's before this
    update) into its own row; the new one keeps only its heading (see ArticleVersion).
    `record_id` names the capture of page 1 that showed it.
    """
    last = session.scalar(
        select(ArticleVersion.number)
        .where(ArticleVersion.article_id == record.id)
        .order_by(ArticleVersion.number.desc())
        .limit(1)
    )
    statements = _statements(dialect_of(session))
    if last is not None:
        kept = {name: superseded[name] for name in SUPERSEDED_FIELDS}
        session.connection().execute(
            statements.keep_version_content,
            {**kept, "version_article": record.id, "version_number": last},
        )
    content = {name: getattr(record, name) for name in VERSIONED_FIELDS}
    content["updated_at"] = record.updated_at
    _insert_version(session, record.id, (last or 0) + 1, content, record_id, run_id)


def _insert_version(
    session: Session,
    article_id: int,
    number: int,
    content: Mapping[str, Any],
    record_id: str | None,
    run_id: int | None,
) -> None:
    """Version `number` of the article, the newest: its heading, the content in the article."""
    row = version_heading(article_id, number, content, record_id, run_id)
    session.connection().execute(_statements(dialect_of(session)).insert_version, row)


def version_heading(
    article_id: int,
    number: int,
    content: Mapping[str, Any],
    record_id: str | None,
    run_id: int | None,
) -> dict[str, Any]:
    """The row of the newest version of an article with `content` (and its `updated_at`)."""
    return {
        **{name: content[name] for name in HEADING_FIELDS},
        "article_id": article_id,
        "number": number,
        "captured_at": content["updated_at"],
        "record_id": record_id,
        "run_id": run_id,
    }


# What a version is of its article: every field of the normalised content. A version's row
# keeps HEADING_FIELDS always, the others once superseded (see ArticleVersion).
VERSIONED_FIELDS = tuple(ArticleContent.__annotations__)
HEADING_FIELDS = ("content_hash", "title")
SUPERSEDED_FIELDS = tuple(name for name in VERSIONED_FIELDS if name not in HEADING_FIELDS)


def add_captures(
    session: Session,
    captured: Iterable[tuple[int, Sequence[tuple[int, RecordLocation]], int | None]],
) -> None:
    """Catalogue the captures not catalogued yet; claim the ones archived before as rejected.

    `captured` is (article id, its captures, run id) for one article or many, in the order
    they are saved: a record two of them name is the first one's.
    ON CONFLICT DO NOTHING on the record id: a capture saved twice (replayed from the WARC
    files, or by two processes at once) is one row. Any other failure (an unknown run) is not
    swallowed.
    """
    rows = [
        capture_row(location, article_id=article_id, page_number=page, run_id=run_id)
        for article_id, captures, run_id in captured
        for page, location in captures
    ]
    if not rows:
        return
    statements = _statements(dialect_of(session))
    connection = session.connection()
    connection.execute(statements.insert_capture, rows)
    # Archived before it was known as an article (a page rejected, then re-extracted).
    unclaimed = [{"claim": row["article_id"], "record": row["record_id"]} for row in rows]
    connection.execute(statements.claim_capture, unclaimed)


def capture_row(
    location: RecordLocation, *, article_id: int | None, page_number: int, run_id: int | None
) -> dict[str, Any]:
    """The `captures` row of the record at `location`, page `page_number` of the article."""
    return {
        "article_id": article_id,
        "url": location.url,
        "warc_filename": location.filename,
        "warc_offset": location.offset,
        "warc_length": location.length,
        "record_id": location.record_id,
        "payload_digest": location.payload_digest,
        "fetched_at": location.fetched_at,
        "status": location.status,
        "page_number": page_number,
        "run_id": run_id,
    }


@dataclass(frozen=True)
class _Statements:
    """save_article's statements, built once per dialect: their values come as parameters,
    so SQLAlchemy compiles each once (a statement built per call costs more than the row)."""

    insert_new_article: Any
    insert_version: Any
    keep_version_content: Any
    insert_capture: Any
    claim_capture: Any


@functools.cache
def _statements(dialect: str) -> _Statements:
    articles, captures = table_of(ArticleRecord), table_of(Capture)
    versions = table_of(ArticleVersion)
    return _Statements(
        insert_new_article=_returning_id(
            insert_for(dialect, articles).on_conflict_do_nothing(index_elements=["url"]), dialect
        ),
        insert_version=insert(versions),
        keep_version_content=update(versions)
        .where(
            versions.c.article_id == bindparam("version_article"),
            versions.c.number == bindparam("version_number"),
        )
        .values({name: bindparam(name) for name in SUPERSEDED_FIELDS}),
        insert_capture=insert_for(dialect, captures).on_conflict_do_nothing(
            index_elements=["record_id"]
        ),
        claim_capture=update(captures)
        .where(captures.c.record_id == bindparam("record"), captures.c.article_id.is_(None))
        .values(article_id=bindparam("claim")),
    )


def _returning_id(statement: Any, dialect: str) -> Any:
    return statement.returning(ArticleRecord.id) if dialect == "postgresql" else statement


def _copy_content(record: ArticleRecord, article: Article, seen_at: datetime) -> None:
    for name, value in content_values(article, seen_at).items():
        setattr(record, name, value)


def content_values(article: Article, seen_at: datetime) -> dict[str, Any]:
    """The article's content columns (those of ArticleContent, and updated_at), as written."""
    return {
        "content_id": article.content_id,
        "section": list(article.section),
        "title": article.title,
        "subtitle": article.subtitle,
        "published_at": article.published_at,
        "source": article.source,
        "author": article.author,
        "editor": article.editor,
        "keywords": list(article.keywords),
        "paragraphs": list(article.paragraphs),
        "images": [_image_json(image) for image in article.images],
        "content_hash": article.content_hash,
        "page_count": article.page_count,
        "updated_at": seen_at,
    }


def _image_json(image: Any) -> dict[str, Any]:
    # Every field of Image (url, caption, and any added later such as position).
    return dataclasses.asdict(image)


def _json_ready(value: object) -> Any:
    """Scrapy stats as JSON: datetimes as ISO 8601, anything else unknown as its str()."""
    if isinstance(value, Mapping):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_ready(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def assign_channel(session: Session, site: str, channel: str, warc_names: Sequence[str]) -> None:
    """Give `channel` to the articles of `site` that have none and a capture in these WARC
    files (catalogued from a page alone, without the metadata record naming their channel)."""
    captured = select(Capture.article_id).where(Capture.warc_filename.in_(list(warc_names)))
    session.execute(
        update(ArticleRecord)
        .where(
            ArticleRecord.site == site,
            ArticleRecord.channel == "",
            ArticleRecord.id.in_(captured),
        )
        .values(channel=channel)
    )
