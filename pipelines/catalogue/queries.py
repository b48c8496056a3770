"""Read the catalogue: articles by site, channel and date; one article; crawl runs."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pipelines.catalogue.models import SHANGHAI, ArticleRecord, Run


def list_articles(
    session: Session,
    *,
    site: str | None = None,
    channel: str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    limit: int | None = 50,
) -> list[ArticleRecord]:
    """Articles newest first (by publication time, then id), filtered.

    `channel` is a channel key (`yw`), matched on every site unless `site` is given. Dates in
    `since` and `until` are inclusive days in Asia/Shanghai: `until=date(2022, 3, 4)` includes
    all of that day. Naive datetimes are read as Asia/Shanghai times. `limit=None`: no limit.
    """
    query = select(ArticleRecord)
    if site is not None:
        query = query.where(ArticleRecord.site == site)
    if channel is not None:
        query = query.where(ArticleRecord.channel == channel)
    if since is not None:
        query = query.where(ArticleRecord.published_at >= _start(since))
    if until is not None:
        if isinstance(until, datetime):
            query = query.where(ArticleRecord.published_at <= _aware(until))
        else:
            query = query.where(ArticleRecord.published_at < _start(until + timedelta(days=1)))
    query = query.order_by(ArticleRecord.published_at.desc(), ArticleRecord.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def find_article(session: Session, url_or_id: str) -> ArticleRecord | None:
    """The article with this id (an all-digits string) or this canonical URL, with captures."""
    query = select(ArticleRecord).options(selectinload(ArticleRecord.captures))
    if url_or_id.isascii() and url_or_id.isdigit():
        query = query.where(ArticleRecord.id == int(url_or_id))
    else:
        query = query.where(ArticleRecord.url == url_or_id)
    return session.scalars(query).one_or_none()


def list_runs(session: Session, limit: int | None = 50) -> list[Run]:
    """Crawl runs, newest first."""
    query = select(Run).order_by(Run.started_at.desc(), Run.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def get_run(session: Session, run_id: int) -> Run | None:
    """One crawl run, or None when there is no such id."""
    return session.get(Run, run_id)


def _start(moment: date | datetime) -> datetime:
    if isinstance(moment, datetime):
        return _aware(moment)
    return datetime.combine(moment, time.min, tzinfo=SHANGHAI)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=SHANGHAI)
    return moment
