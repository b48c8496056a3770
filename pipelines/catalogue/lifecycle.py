"""Articles withdrawn from their site, and restored: what re-checks record, and how it reads.

Every function takes a Session and only flushes: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only

from pipelines.catalogue.models import ArticleEvent, ArticleRecord
from pipelines.catalogue.queries import SUMMARY_COLUMNS, day_start
from pipelines.warc.location import RecordLocation

RESTORED_REASON = "found again"


@dataclass(frozen=True)
class Withdrawal:
    """A catalogued article a re-check found withdrawn: why, and the capture that showed it."""

    url: str  # the article's canonical URL
    reason: str  # "http-404", "redirected to the home page", "not-found template", …
    evidence: RecordLocation | None  # the response at the article's URL (a 404, a 302, a 200)
    at: datetime  # when: the evidence's fetch time


def save_withdrawals(
    session: Session,
    *,
    site: str,
    channel: str,
    withdrawals: Sequence[Withdrawal],
    run_id: int | None,
) -> int:
    """Record the articles withdrawn at their times; how many were newly withdrawn.

    An article withdrawn already keeps its first withdrawal; one seen live at or after the
    withdrawal's time (a later capture, replayed out of order) is left alone. `site` and
    `channel` are the crawl's, as every write the crawl sends carries them.
    """
    count = 0
    for withdrawal in withdrawals:
        query = select(ArticleRecord).where(ArticleRecord.url == withdrawal.url).with_for_update()
        record = session.scalars(query).one_or_none()
        if record is None or record.withdrawn_at is not None:
            continue
        if record.last_seen_at >= withdrawal.at:
            continue
        record.withdrawn_at = withdrawal.at
        session.add(_event(record.id, "withdrawn", withdrawal.at, withdrawal.reason,
                           withdrawal.evidence, run_id))  # fmt: skip
        count += 1
    session.flush()
    return count


def restore_article(
    session: Session,
    record: ArticleRecord,
    *,
    at: datetime,
    evidence: RecordLocation | None,
    run_id: int | None,
) -> bool:
    """Whether the article, withdrawn before `at`, was restored now: its capture at `at`
    shows it again (save_article calls this for every capture of a catalogued article)."""
    if record.withdrawn_at is None or at <= record.withdrawn_at:
        return False
    record.withdrawn_at = None
    session.add(_event(record.id, "restored", at, RESTORED_REASON, evidence, run_id))
    session.flush()
    return True


def _event(
    article_id: int,
    kind: str,
    at: datetime,
    reason: str,
    evidence: RecordLocation | None,
    run_id: int | None,
) -> ArticleEvent:
    return ArticleEvent(
        article_id=article_id,
        kind=kind,
        at=at,
        reason=reason,
        url=evidence.url if evidence else None,
        status=evidence.status if evidence else None,
        record_id=evidence.record_id if evidence else None,
        warc_filename=evidence.filename if evidence else None,
        warc_offset=evidence.offset if evidence else None,
        warc_length=evidence.length if evidence else None,
        run_id=run_id,
    )


# -- reading ----------------------------------------------------------------------------


def withdrawn_articles(
    session: Session,
    *,
    site: str | None = None,
    channel: str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    limit: int | None = 50,
) -> list[ArticleRecord]:
    """Articles withdrawn now, newest withdrawal first; `since`/`until` bound the day of the
    withdrawal (inclusive days in Asia/Shanghai). The rows hold SUMMARY_COLUMNS alone."""
    query = _withdrawn_query(select(ArticleRecord), site, channel, since, until)
    query = query.order_by(ArticleRecord.withdrawn_at.desc(), ArticleRecord.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query.options(_summary_only())))


def count_withdrawn(
    session: Session,
    *,
    site: str | None = None,
    channel: str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
) -> int:
    """How many articles withdrawn_articles would give without a limit."""
    query = _withdrawn_query(select(func.count(ArticleRecord.id)), site, channel, since, until)
    return int(session.scalar(query) or 0)


def _withdrawn_query(
    query: Any,
    site: str | None,
    channel: str | None,
    since: date | datetime | None,
    until: date | datetime | None,
) -> Any:
    query = query.where(ArticleRecord.withdrawn_at.is_not(None))
    if site is not None:
        query = query.where(ArticleRecord.site == site)
    if channel is not None:
        query = query.where(ArticleRecord.channel == channel)
    start = day_start(since) if since is not None else None
    if start is not None:
        query = query.where(ArticleRecord.withdrawn_at >= start)
    end = day_start(until, after=True) if until is not None else None
    if end is not None:
        query = query.where(ArticleRecord.withdrawn_at < end)
    return query


def _summary_only() -> Any:
    return load_only(*SUMMARY_COLUMNS, raiseload=True)


def article_events(session: Session, article_id: int) -> list[ArticleEvent]:
    """The article's withdrawals and restorations, oldest first."""
    query = (
        select(ArticleEvent)
        .where(ArticleEvent.article_id == article_id)
        .order_by(ArticleEvent.at, ArticleEvent.id)
    )
    return list(session.scalars(query))


def withdrawal_reasons(session: Session, article_ids: Sequence[int]) -> dict[int, str]:
    """Why each of these articles was withdrawn: the reason of its latest withdrawal."""
    query = (
        select(ArticleEvent.article_id, ArticleEvent.reason)
        .where(ArticleEvent.article_id.in_(list(article_ids)), ArticleEvent.kind == "withdrawn")
        .order_by(ArticleEvent.at, ArticleEvent.id)
    )
    return {article_id: reason for article_id, reason in session.execute(query)}  # latest wins
