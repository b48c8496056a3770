"""Tests for pipelines/catalogue/bulk.py: rows inserted in bulk are stored as any insert's."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipelines.catalogue.bulk import insert_rows
from pipelines.catalogue.conflicts import table_of
from pipelines.catalogue.models import ArticleRecord, ArticleVersion
from pipelines.catalogue.writes import content_values, version_heading
from tests.db_fixtures import FETCHED, URL, make_article

# Every column as stored, as text: JSON as the database keeps it, times as it prints them.
STORED = """SELECT url, CAST(section AS TEXT), CAST(paragraphs AS TEXT), CAST(images AS TEXT),
    CAST(attachments AS TEXT), CAST(published_at AS TEXT), CAST(first_seen_at AS TEXT),
    title, subtitle, editor, content_hash, page_count FROM articles WHERE id = :id"""


def article(article_id: int, url: str) -> dict[str, Any]:
    return {"id": article_id, "url": url, "site": "rmzxb", "channel": "yw",
            "first_seen_at": FETCHED, "last_seen_at": FETCHED,
            **content_values(make_article(url), FETCHED)}  # fmt: skip


def stored(session: Session, article_id: int) -> tuple[Any, ...]:
    row = session.execute(text(STORED), {"id": article_id}).one()
    return tuple(row)[1:]


def test_bulk_rows_are_stored_as_an_insert_stores_them(session: Session) -> None:
    session.connection().execute(table_of(ArticleRecord).insert(), [article(1, URL)])
    insert_rows(session.connection(), table_of(ArticleRecord), [article(2, URL + "?2")])
    assert stored(session, 2) == stored(session, 1)
    assert "第一段" in stored(session, 2)[1]  # JSON as UTF-8 text, not \\u escapes
    assert stored(session, 2)[3] == "[]"  # left out: the server default


def test_bulk_rows_read_back_through_the_models(session: Session) -> None:
    insert_rows(session.connection(), table_of(ArticleRecord), [article(3, URL)])
    heading = version_heading(3, 1, article(3, URL), record_id="<urn:uuid:v>", run_id=None)
    insert_rows(session.connection(), table_of(ArticleVersion), [heading])
    record = session.get(ArticleRecord, 3)
    assert record is not None
    assert (record.published_at, record.first_seen_at) == (
        make_article().published_at,
        FETCHED,
    )
    assert record.paragraphs == list(make_article().paragraphs)
    (version,) = record.versions
    assert (version.record_id, version.title, version.paragraphs) == (
        "<urn:uuid:v>",
        make_article().title,
        None,
    )
    nulls = session.execute(text("SELECT count(*) FROM article_versions WHERE images IS NULL"))
    assert nulls.scalar() == 1  # SQL NULL, not the JSON text 'null'


def test_a_key_conflict_fails_the_batch(session: Session) -> None:
    insert_rows(session.connection(), table_of(ArticleRecord), [article(4, URL)])
    with pytest.raises(IntegrityError):
        insert_rows(session.connection(), table_of(ArticleRecord), [article(5, URL)])
