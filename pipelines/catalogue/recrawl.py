"""What a recrawl needs to know of the pages it meets: when each was first seen and last checked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.catalogue.models import ArticleRecord, Rejection

BATCH = 500  # URLs per IN (...) query


@dataclass(frozen=True)
class KnownPage:
    """An article (or a rejected page) already archived."""

    first_seen: datetime
    last_checked: datetime


def known_pages(session: Session, urls: Sequence[str]) -> dict[str, KnownPage]:
    """The URLs among `urls` that are catalogued as articles or as rejected pages."""
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
        for url, first, last in [*session.execute(rejected), *session.execute(articles)]:
            known[url] = KnownPage(first, last)  # an article wins over an earlier rejection
    return known
