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
    """An article (or a rejected page) already archived.

    A withdrawn article's re-checks are counted from its withdrawal: `first_seen` is then
    when it was withdrawn, `last_checked` when its URL was last fetched, so a withdrawal
    taken by mistake is looked at again an hour later, and one that lasts ever more rarely.
    """

    first_seen: datetime
    last_checked: datetime
    article: bool = False  # catalogued as an article (not a rejected page or a redirect)
    withdrawn_at: datetime | None = None  # the article is withdrawn since then


def known_pages(session: Session, urls: Sequence[str]) -> dict[str, KnownPage]:
    """The URLs among `urls` catalogued as articles or rejected pages, or that redirected."""
    known: dict[str, KnownPage] = {}
    for start in range(0, len(urls), BATCH):
        batch = list(urls[start : start + BATCH])
        articles = select(
            ArticleRecord.url,
            ArticleRecord.first_seen_at,
            ArticleRecord.last_seen_at,
            ArticleRecord.withdrawn_at,
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
        for url, first, last in [*session.execute(redirected), *session.execute(rejected)]:
            known[url] = KnownPage(first, last)
        for url, first, last, withdrawn in session.execute(articles):
            known[url] = KnownPage(first, last, True, withdrawn)  # an article wins
    return known


def stale_articles(
    session: Session, site: str, channel: str, checked_before: datetime, limit: int
) -> list[tuple[str, KnownPage]]:
    """A channel's articles last checked before `checked_before`, least recently checked first.

    The candidates for a re-check that the walk of the list pages will not meet: a crawl
    filters them by its re-check schedule. A withdrawn article counts as checked when its URL
    was last fetched (the records hold every answer), its schedule counted from its withdrawal.
    """
    mine = (ArticleRecord.site == site, ArticleRecord.channel == channel)
    live = (
        select(ArticleRecord.url, ArticleRecord.first_seen_at, ArticleRecord.last_seen_at)
        .where(*mine, ArticleRecord.withdrawn_at.is_(None))
        .where(ArticleRecord.last_seen_at < checked_before)
        .order_by(ArticleRecord.last_seen_at, ArticleRecord.id)
        .limit(limit)
    )
    fetched = (
        select(func.max(ArchivedRecord.fetched_at))
        .where(ArchivedRecord.url == ArticleRecord.url)
        .scalar_subquery()
    )
    checked = func.coalesce(fetched, ArticleRecord.withdrawn_at)
    withdrawn = (
        select(ArticleRecord.url, ArticleRecord.withdrawn_at, checked)
        .where(*mine, ArticleRecord.withdrawn_at.is_not(None), checked < checked_before)
        .order_by(checked, ArticleRecord.id)
        .limit(limit)
    )
    found = [(url, KnownPage(first, last, True)) for url, first, last in session.execute(live)]
    for url, at, last in session.execute(withdrawn):
        assert at is not None  # selected so
        found.append((url, KnownPage(at, max(at, last or at), True, at)))
    found.sort(key=lambda pair: pair[1].last_checked)
    return found[:limit]
