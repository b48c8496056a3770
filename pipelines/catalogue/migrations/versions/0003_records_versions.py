"""archived records (responses and revisits) and article versions

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns an article version shares with its article, as this migration knows them.
CONTENT_COLUMNS = (
    ("content_hash", sa.String(80), False),
    ("content_id", sa.String(128), True),
    ("section", sa.JSON(), False),
    ("title", sa.Text(), False),
    ("subtitle", sa.Text(), True),
    ("published_at", sa.DateTime(timezone=True), False),
    ("source", sa.Text(), True),
    ("author", sa.Text(), True),
    ("editor", sa.Text(), True),
    ("keywords", sa.JSON(), False),
    ("paragraphs", sa.JSON(), False),
    ("images", sa.JSON(), False),
    ("page_count", sa.Integer(), False),
)
RECORD_COLUMNS = (
    "record_id",
    "url",
    "fetched_at",
    "status",
    "payload_digest",
    "warc_filename",
    "warc_offset",
    "warc_length",
    "run_id",
)


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.Column("record_type", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("payload_digest", sa.String(128), nullable=True),
        sa.Column("warc_filename", sa.Text(), nullable=False),
        sa.Column("warc_offset", sa.BigInteger(), nullable=False),
        sa.Column("warc_length", sa.BigInteger(), nullable=False),
        sa.Column("refers_to", sa.String(128), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_records_run_id_runs", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_records"),
        sa.UniqueConstraint("record_id", name="uq_records_record_id"),
    )
    op.create_index("ix_records_url_fetched_at", "records", ["url", "fetched_at"])
    op.create_index("ix_records_payload_digest", "records", ["payload_digest"])
    op.create_index("ix_records_run_id", "records", ["run_id"])
    op.create_table(
        "article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        *(sa.Column(name, kind, nullable=nullable) for name, kind, nullable in CONTENT_COLUMNS),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="fk_article_versions_article_id_articles",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_article_versions_run_id_runs", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_article_versions"),
        sa.UniqueConstraint("article_id", "number", name="uq_article_versions_article_id_number"),
    )
    op.create_index("ix_article_versions_captured_at", "article_versions", ["captured_at"])
    _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table("article_versions")
    op.drop_table("records")


def _backfill(connection: sa.Connection) -> None:
    """Each catalogued article becomes its version 1; each catalogued capture a record.

    One INSERT … SELECT each, so it runs in the database on every back end.
    """
    names = [name for name, _, _ in CONTENT_COLUMNS]
    articles = sa.table("articles", *(sa.column(n) for n in ["id", "updated_at", *names]))
    versions = sa.table(
        "article_versions",
        *(sa.column(n) for n in ["article_id", "number", "captured_at", *names]),
    )
    select_versions = sa.select(
        articles.c.id, sa.literal(1), articles.c.updated_at, *(articles.c[n] for n in names)
    )
    connection.execute(
        versions.insert().from_select(
            ["article_id", "number", "captured_at", *names], select_versions
        )
    )
    captures = sa.table("captures", *(sa.column(n) for n in RECORD_COLUMNS))
    records = sa.table("records", sa.column("record_type"), *(sa.column(n) for n in RECORD_COLUMNS))
    select_records = sa.select(sa.literal("response"), *(captures.c[n] for n in RECORD_COLUMNS))
    connection.execute(
        records.insert().from_select(["record_type", *RECORD_COLUMNS], select_records)
    )
