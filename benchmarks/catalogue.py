"""Benchmark 4: the catalogue at scale on SQLite and PostgreSQL: inserts, queries, size."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.catalogue_size import TARGET_BYTES_PER_ARTICLE, CatalogueSize, table_sizes
from benchmarks.pstats_top import profiled
from benchmarks.results import Row, Section, percentile
from benchmarks.search import bench_search
from benchmarks.synthetic import (
    BULK_ROWS,
    CHANNELS,
    SITE,
    archived_of,
    article_row,
    capture_of,
    channel_of,
    published,
    synthetic_article,
    synthetic_capture_row,
    synthetic_record_row,
    version_row,
)
from benchmarks.web import bench_web
from pipelines.catalogue.bulk import insert_rows
from pipelines.catalogue.conflicts import table_of
from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.models import ArchivedRecord, ArticleRecord, ArticleVersion, Capture
from pipelines.catalogue.queries import list_articles
from pipelines.catalogue.records import save_records
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writes import save_article, upsert_site_channels

TARGET_QUERY_MS = 10.0
SAVE_BATCH = 500  # articles per transaction through save_article
BULK_BATCH = BULK_ROWS  # articles per transaction on the bulk path
QUERY_DAYS = 30

Sizer = Callable[[Engine], int]


def bench_catalogue(
    label: str, url: str, articles: int, saved: int, queries: int, sizer: Sizer
) -> Section:
    """Fill a new catalogue at `url` with `articles` articles, then query and measure it."""
    engine = make_engine(url)
    try:
        ensure_schema(engine)
        sessions = make_session_factory(engine)
        saved = min(saved, articles)
        save_rate = _save_articles(sessions, saved)
        bulk = _bulk_insert(sessions, saved, articles)
        _analyze(engine)
        query_ms = _query_times(sessions, articles, queries)
        size = sizer(engine)
        section = _rows(label, articles, saved, save_rate, bulk, query_ms, size)
        sizes = table_sizes(engine)
        section.rows += _size_rows(label, articles, sizes, size)
        section.notes.append(
            f"Size {label}, bytes an article by table (with its indexes): "
            f"{sizes.per_article(articles)}."
        )
        # Measured above; now one more batch under cProfile, to say what bounds the rate.
        extra = lambda: _bulk_insert(sessions, articles, articles + BULK_BATCH)  # noqa: E731
        section.notes.append(
            f"Bulk insert {label}, one batch profiled: {profiled(extra, 'index_articles')}."
        )
        for more in (bench_search(label, sessions, articles),
                     bench_web(label, url, sessions, articles)):  # fmt: skip
            section.rows += more.rows
            section.notes += more.notes
        return section
    finally:
        engine.dispose()


def _save_articles(sessions: sessionmaker[Session], count: int) -> float:
    """The first `count` articles one by one through save_article; articles per second."""
    started = time.perf_counter()
    with sessions() as session:
        upsert_site_channels(session, [(SITE, "人民政协网", [(c, c, "/") for c in CHANNELS])])
        for index in range(count):
            save_article(
                session,
                article=synthetic_article(index),
                site=SITE,
                channel=channel_of(index),
                captures=[(1, capture_of(index))],
                run_id=None,
            )
            save_records(session, [archived_of(index)], run_id=None)  # as a crawl does
            if index % SAVE_BATCH == SAVE_BATCH - 1:
                session.commit()
        session.commit()
    return count / (time.perf_counter() - started) if count else 0.0


@dataclass
class BulkTimes:
    """Seconds the bulk path spent on its rows (articles, versions, captures, records) and on
    the search index, and how many articles it wrote."""

    articles: int = 0
    rows: float = 0.0
    search: float = 0.0

    def rate(self, seconds: float) -> float:
        return self.articles / seconds if seconds else 0.0


def _bulk_insert(sessions: sessionmaker[Session], start: int, stop: int) -> BulkTimes:
    """Articles `start`…`stop` as batches of rows (COPY or executemany), then their search
    index; the two timed apart. Making the synthetic rows counts as the rows' time."""
    from pipelines.catalogue.search import index_articles

    times = BulkTimes(articles=stop - start)
    for low in range(start, stop, BULK_BATCH):
        indexes = range(low, min(stop, low + BULK_BATCH))
        started = time.perf_counter()
        rows = [article_row(index, synthetic_article(index)) for index in indexes]
        with sessions() as session:
            connection = session.connection()
            insert_rows(connection, table_of(ArticleRecord), rows)
            insert_rows(connection, table_of(ArticleVersion), [version_row(row) for row in rows])
            insert_rows(connection, table_of(Capture), [synthetic_capture_row(i) for i in indexes])
            insert_rows(
                connection, table_of(ArchivedRecord), [synthetic_record_row(i) for i in indexes]
            )
            session.commit()
            indexed = time.perf_counter()
            times.rows += indexed - started
            index_articles(session, [SimpleNamespace(**row) for row in rows])
            session.commit()
            times.search += time.perf_counter() - indexed
    return times


def _analyze(engine: Engine) -> None:
    # What a maintained database has: planner statistics, and on PostgreSQL the visibility map
    # its autovacuum sets, without which no index-only scan is made (a channel's months read
    # 57,000 heap pages at a million: 210 ms against 40 ms after VACUUM).
    statement = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(statement))


def _query_times(sessions: sessionmaker[Session], articles: int, count: int) -> list[float]:
    """ms of each list_articles(channel, 30-day range) query, at random channels and days."""
    chooser = random.Random(6)
    times = []
    with sessions() as session:
        for _ in range(count):
            since = published(chooser.randrange(articles)).date()
            started = time.perf_counter()
            list_articles(
                session,
                channel=chooser.choice(CHANNELS),
                since=since,
                until=since + timedelta(days=QUERY_DAYS),
                limit=50,
                summary_only=True,  # what `cppcc-archive articles` asks for
            )
            times.append(1000 * (time.perf_counter() - started))
    return times


def _rows(
    label: str,
    articles: int,
    saved: int,
    save_rate: float,
    bulk: BulkTimes,
    query_ms: list[float],
    size: int,
) -> Section:
    name = f"4 catalogue {label}"
    p50 = percentile(query_ms, 0.5)
    bulked = f"{bulk.articles:,}"
    rows = [
        Row(name, f"insert, save_article ({saved:,} articles)", f"{save_rate:,.0f} articles/s"),
        Row(
            name,
            f"insert, bulk rows: articles + versions + captures + records ({bulked})",
            f"{bulk.rate(bulk.rows):,.0f} articles/s",
        ),
        Row(
            name,
            f"insert, bulk rows + search index ({bulked})",
            f"{bulk.rate(bulk.rows + bulk.search):,.0f} articles/s",
        ),
        Row(
            name,
            f"list_articles channel + {QUERY_DAYS}-day range, p50 ({articles:,} articles)",
            f"{p50:.2f} ms",
            target=f"< {TARGET_QUERY_MS:.0f} ms",
            met=p50 < TARGET_QUERY_MS,
        ),
        Row(name, "size on disk", f"{size / 2**20:,.0f} MiB ({size / articles:,.0f} B/article)"),
    ]
    note = (
        f"Catalogue {label}: list_articles p95 {percentile(query_ms, 0.95):.2f} ms over "
        f"{len(query_ms)} queries (limit 50); inserts commit every {SAVE_BATCH} articles "
        f"(save_article) or {BULK_BATCH} (bulk); ANALYZE before querying."
    )
    return Section(rows, [note])


def _size_rows(label: str, articles: int, sizes: CatalogueSize, disk: int) -> list[Row]:
    name = f"4 catalogue {label}"
    lean = sizes.without_search / articles
    return [
        Row(
            name,
            "size per article, the search index excluded (tables and their indexes)",
            f"{lean:,.0f} B/article",
            target=f"≤ {TARGET_BYTES_PER_ARTICLE:,} B",
            met=lean <= TARGET_BYTES_PER_ARTICLE,
        ),
        Row(
            name,
            "size of the search index",
            f"{sizes.search / articles:,.0f} B/article ({sizes.search / disk:.0%} of all)",
        ),
    ]


def sqlite_size(path: Path) -> Sizer:
    """The database file and its WAL, after a checkpoint."""

    def size(engine: Engine) -> int:
        # Outside a transaction (ours begin with BEGIN IMMEDIATE), or SQLite refuses.
        connection = engine.raw_connection()
        try:
            connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())

    return size


def postgres_size(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_database_size(current_database())")).one()[0])


@contextmanager
def postgres_database(server: str, name: str) -> Iterator[str]:
    """Create database `name` on `server` (a postgresql:// URL without a database), drop it."""
    admin = make_engine(f"{server}/postgres").execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"{server}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
