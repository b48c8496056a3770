"""full-text search: a bigram index per back end (SQLite FTS5, PostgreSQL GIN tsvector)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_BATCH = 500


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE article_search (article_id INTEGER PRIMARY KEY "
            "REFERENCES articles (id) ON DELETE CASCADE, document tsvector NOT NULL)"
        )
        op.execute("CREATE INDEX ix_article_search_document ON article_search USING gin (document)")
    else:
        # Terms are written space-separated; unicode61 splits there and keeps each bigram whole.
        op.execute(
            "CREATE VIRTUAL TABLE article_search USING fts5("
            "title, subtitle, body, captions, tokenize = 'unicode61 remove_diacritics 0')"
        )
        # FTS5 rows are not tied to articles by a foreign key: a deleted article leaves none.
        op.execute(
            "CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN "
            "DELETE FROM article_search WHERE rowid = old.id; END"
        )
    _backfill(connection)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS article_search_delete")
    op.execute("DROP TABLE article_search")


def _backfill(connection: sa.Connection) -> None:
    """Index the articles catalogued before search existed, batch by batch.

    Reads the columns as this revision knows them (not the models, which change later); the
    terms are the search code's own, so the index and the queries always agree. Rows are keyed
    as this revision keys them (by article id); 0009 re-keys them in publication order.
    """
    from pipelines.catalogue.search_index import article_fields

    articles = sa.table(
        "articles",
        sa.column("id", sa.Integer()),
        sa.column("title", sa.Text()),
        sa.column("subtitle", sa.Text()),
        sa.column("paragraphs", sa.JSON()),
        sa.column("images", sa.JSON()),
    )
    session = Session(bind=connection)
    last_id = 0
    while True:
        query = sa.select(articles).where(articles.c.id > last_id).order_by(articles.c.id)
        batch = connection.execute(query.limit(BACKFILL_BATCH)).all()
        if not batch:
            return
        for row in batch:
            _index_text(session, row.id, article_fields(row))
        session.flush()
        last_id = batch[-1].id


def _index_text(session: Session, article_id: int, fields: dict[str, str]) -> None:
    """One article's search row as this revision's tables hold it."""
    from pipelines.catalogue.bigrams import terms
    from pipelines.catalogue.search_index import FIELDS, tsvector_literal

    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text(
                "INSERT INTO article_search (article_id, document) "
                "VALUES (:id, CAST(:document AS tsvector))"
            ),
            {"id": article_id, "document": tsvector_literal(fields)},
        )
        return
    session.execute(
        sa.text(
            f"INSERT INTO article_search (rowid, {', '.join(FIELDS)}) "
            f"VALUES (:id, {', '.join(':' + name for name in FIELDS)})"
        ),
        {"id": article_id, **{name: " ".join(terms(fields[name])) for name in FIELDS}},
    )
