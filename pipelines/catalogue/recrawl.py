"""What a recrawl needs to know of the pages it meets: when each was first seen and last checked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.catalogue.models import ArchivedRecord, ArticleRecord, Rejection

BATCH = 500  # URLs per IN (...) query
# A URL that answered a redirect is known as well: an old article URL moved to its new one
# (the article is catalogued under the new URL). Errors are not: the next crawl tries again.
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class KnownPage:
    """An article (or a rejected page) already archived."""

    first_seen: datetime
    last_checked: datetime


def known_pages(session: Session, urls: Sequence[str]) -> dict[str, KnownPage]:
    """The URLs among `urls` catalogued as articles or rejected pages, or that redirected."""
    known: dict[str, KnownPage] = {}
    for start in range(0, len(urls), BATCH):
        batch = list(urls[start : start + BATCH])
        articles = select(
            ArticleRecord.url, ArticleRecord.first_seen_at, ArticleRecord.last_seen_at
        ).where(ArticleRecord.url.in_(batch))
        rejected = (
            select(Rejection.url, func.min(Rejection.seen_at), func.max(Rejection.seen_at))
            .where(Rejection.url.in_(batch))
            .group_by(Rejection.url)
        )
        redirected = (
            select(
                ArchivedRecord.url,
                func.min(ArchivedRecord.fetched_at),
                func.max(ArchivedRecord.fetched_at),
            )
            .where(ArchivedRecord.url.in_(batch), ArchivedRecord.status.in_(REDIRECTS))
            .group_by(ArchivedRecord.url)
        )
        found = [
            *session.execute(redirected),
            *session.execute(rejected),
            *session.execute(articles),
        ]
        for url, first, last in found:
            known[url] = KnownPage(first, last)  # an article wins over the others
    return known


def stale_articles(
    session: Session, site: str, channel: str, checked_before: datetime, limit: int
) -> list[tuple[str, KnownPage]]:
    """A channel's articles last checked before `checked_before`, least recently checked first.

    The candidates for a re-check that the walk of the list pages will not meet: a crawl
    filters them by its re-check schedule.
    """
    query = (
        select(ArticleRecord.url, ArticleRecord.first_seen_at, ArticleRecord.last_seen_at)
        .where(
            ArticleRecord.site == site,
            ArticleRecord.channel == channel,
            ArticleRecord.last_seen_at < checked_before,
        )
        .order_by(ArticleRecord.last_seen_at, ArticleRecord.id)
        .limit(limit)
    )
    return [(url, KnownPage(first, last)) for url, first, last in session.execute(query)]
