"""Search timings on a filled catalogue: both orders, rare and common terms, and the rate
of indexing articles for search."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.results import Row, Section, percentile
from benchmarks.synthetic import COMMON, RARE_EVERY, RARE_FOUR, RARE_TWO
from pipelines.catalogue.models import ArticleRecord
from pipelines.catalogue.search import (
    DEFAULT_LIMIT,
    SORTS,
    count_search,
    index_articles,
    search_articles,
    search_plan,
)

TARGET_MS = 100.0
REPEAT = 20
REINDEX_ARTICLES = 20_000  # re-indexed in batches, for the rate of index_articles
REINDEX_BATCH = 5_000


def bench_search(label: str, sessions: sessionmaker[Session], articles: int) -> Section:
    """p50 of the top 20 for rare 2- and 4-character terms and for one in most articles, in
    each order; the capped count of the common term; the rate of (re)indexing."""
    name = f"4 catalogue {label}"
    rare = f"< 1 % ({1 / RARE_EVERY:.1%})"
    cases = ((RARE_TWO, rare), (RARE_FOUR, rare), (COMMON, "most"))
    section = Section()
    with sessions() as session:
        for sort in SORTS:
            for term, share in cases:
                times, hits = _times(lambda t=term, s=sort: _top(session, t, s))  # type: ignore[misc]
                measure = f"search {len(term)} chars '{term}' ({share} of articles), --sort {sort}"
                section.rows.append(_row(name, measure + ", top 20 p50", times))
                note = (
                    f"Search {label} '{term}' --sort {sort}: {hits} hits returned, p95 "
                    f"{percentile(times, 0.95):.1f} ms over {len(times)} runs."
                )
                if percentile(times, 0.5) >= TARGET_MS or term == COMMON:
                    note += f" Its plan: {_plan(session, term, sort)}."
                section.notes.append(note)
        times, found = _times(lambda: count_search(session, COMMON))
        section.rows.append(_row(name, f"count '{COMMON}' (capped: {found}), p50", times))
    indexed = min(articles, REINDEX_ARTICLES)
    rate = _reindex_rate(sessions, indexed)
    measure = f"index_articles, search rows of {indexed:,} articles re-indexed"
    section.rows.append(Row(name, measure, f"{rate:,.0f} articles/s"))
    return section


def _top(session: Session, term: str, sort: str) -> list[Any]:
    return search_articles(session, term, sort=sort, limit=DEFAULT_LIMIT)


def _row(name: str, measure: str, times: list[float]) -> Row:
    p50 = percentile(times, 0.5)
    return Row(name, measure, f"{p50:.1f} ms", target=f"< {TARGET_MS:.0f} ms", met=p50 < TARGET_MS)


def _plan(session: Session, term: str, sort: str) -> str:
    """The search module's own EXPLAIN of the query, on one line."""
    return " / ".join(line.strip() for line in search_plan(session, term, sort=sort).splitlines())


def _times(call: Any) -> tuple[list[float], Any]:
    times, found = [], None
    for _ in range(REPEAT):
        started = time.perf_counter()
        found = call()
        times.append(1000 * (time.perf_counter() - started))
    return times, len(found) if isinstance(found, list) else found


def _reindex_rate(sessions: sessionmaker[Session], count: int) -> float:
    """Articles a second through index_articles, replacing the search rows of the oldest
    `count` articles (the rows are what they were: the index is unchanged after)."""
    columns = (ArticleRecord.id, ArticleRecord.published_at, ArticleRecord.title,
               ArticleRecord.subtitle, ArticleRecord.paragraphs, ArticleRecord.images)  # fmt: skip
    spent = 0.0
    with sessions() as session:
        for low in range(0, count, REINDEX_BATCH):
            query = select(*columns).where(ArticleRecord.id > low)
            query = query.where(ArticleRecord.id <= min(count, low + REINDEX_BATCH))
            rows = [SimpleNamespace(**row._mapping) for row in session.execute(query)]
            started = time.perf_counter()
            index_articles(session, rows)
            session.commit()
            spent += time.perf_counter() - started
    return count / spent if spent else 0.0
