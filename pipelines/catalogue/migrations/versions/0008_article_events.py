"""article events: articles withdrawn from their site, and restored

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 00:00:00+00:00

`articles.withdrawn_at` says an article is withdrawn now; `article_events` keeps every
withdrawal and restoration a re-check found, with the capture that showed it. Articles
catalogued before are live until a re-check finds otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# ADD COLUMN and CREATE TABLE in place, never SQLite's batch mode: its copy of `articles`
# would set every capture's article_id to NULL (ON DELETE SET NULL) when the old table goes.


def upgrade() -> None:
    op.add_column("articles", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "article_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("record_id", sa.String(length=128), nullable=True),
        sa.Column("warc_filename", sa.Text(), nullable=True),
        sa.Column("warc_offset", sa.BigInteger(), nullable=True),
        sa.Column("warc_length", sa.BigInteger(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_events_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_article_events_run_id_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_events")),
    )
    op.create_index("ix_article_events_article_id_at", "article_events", ["article_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_article_events_article_id_at", table_name="article_events")
    op.drop_table("article_events")
    op.execute("ALTER TABLE articles DROP COLUMN withdrawn_at")  # SQLite 3.35+ and PostgreSQL
