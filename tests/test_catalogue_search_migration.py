"""Tests for migration 0009 (search rows keyed in publication order) on both back ends: a
catalogue indexed by 0004 to 0008 searches newest first once upgraded, and back."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, delete, inspect, text

from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.models import ArticleRecord, Base
from pipelines.catalogue.schema import alembic_config, ensure_schema
from pipelines.catalogue.search import search_articles
from tests.db_fixtures import SHANGHAI

DAY = datetime(2024, 5, 1, 9, 0, tzinfo=SHANGHAI)
DAYS = {1: 2, 2: 0, 3: 1}  # article id: days after DAY it was published (ids out of order)


def _migrate(engine: Engine, action: str, revision: str) -> None:
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def _articles_before_search(engine: Engine) -> None:
    """Articles as revision 0003 holds them, before the search index existed."""
    present = {c["name"] for c in inspect(engine).get_columns("articles")}
    rows = []
    for article_id, days in DAYS.items():
        published = DAY + timedelta(days=days)
        row = {
            "id": article_id, "url": f"http://x/c/{article_id}.shtml", "site": "rmzxb",
            "channel": "yw", "section": [], "title": f"第{article_id}期", "subtitle": None,
            "published_at": published, "keywords": [], "paragraphs": ["政协委员建言。"],
            "images": [], "content_hash": "h", "page_count": 1, "first_seen_at": published,
            "last_seen_at": published, "updated_at": published,
        }  # fmt: skip
        rows.append({name: value for name, value in row.items() if name in present})
    with engine.begin() as connection:
        connection.execute(Base.metadata.tables["articles"].insert(), rows)


def _found(engine: Engine, query: str = "政协") -> list[int]:
    with make_session_factory(engine)() as session:
        return [hit.article.id for hit in search_articles(session, query)]


def test_a_catalogue_indexed_before_0009_searches_newest_first_once_upgraded(
    fresh_db_url: str,
) -> None:
    engine = make_engine(fresh_db_url)
    try:
        _migrate(engine, "upgrade", "0003")
        _articles_before_search(engine)
        _migrate(engine, "upgrade", "0008")  # 0004 indexes them, keyed by id
        ensure_schema(engine)
        assert _found(engine) == [1, 3, 2]  # by publication, not by id
        # Back to 0008 and up again: the rows are keyed by id and then by time again.
        _migrate(engine, "downgrade", "0008")
        with engine.connect() as connection:
            key = "rowid" if engine.dialect.name == "sqlite" else "article_id"
            keys = connection.execute(text(f"SELECT {key} FROM article_search")).scalars()
            assert sorted(keys) == [1, 2, 3]
        ensure_schema(engine)
        assert _found(engine) == [1, 3, 2]
        # The triggers: a date changed in SQL moves the row, a deleted article takes it along.
        with make_session_factory(engine)() as session:
            record = session.get(ArticleRecord, 2)
            assert record is not None
            record.published_at = DAY + timedelta(days=5)
            session.commit()
        assert _found(engine) == [2, 1, 3]
        with engine.begin() as connection:
            connection.execute(delete(Base.metadata.tables["articles"]).where(text("id = 1")))
        assert _found(engine) == [2, 3]
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT count(*) FROM article_search")).scalar()
        assert rows == 2
    finally:
        engine.dispose()


def _search_settings(engine: Engine) -> dict[str, int]:
    """FTS5's settings of the search table that differ from its defaults."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT k, v FROM article_search_config")).all()
    return {k: int(v) for k, v in rows if k in ("automerge", "hashsize")}


def test_0014_makes_sqlite_search_segments_bigger_and_merged_later_and_searches_as_before(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'catalogue.sqlite3'}")
    try:
        _migrate(engine, "upgrade", "0003")
        _articles_before_search(engine)
        _migrate(engine, "upgrade", "0013")
        assert _search_settings(engine) == {"hashsize": 16 << 20}  # automerge: FTS5's 4
        ensure_schema(engine)
        assert _search_settings(engine) == {"automerge": 8, "hashsize": 64 << 20}
        assert _found(engine) == [1, 3, 2]
        _migrate(engine, "downgrade", "0013")
        assert _search_settings(engine) == {"automerge": 4, "hashsize": 16 << 20}
        assert _found(engine) == [1, 3, 2]
    finally:
        engine.dispose()
