"""lean versions: an article's newest version keeps its content in the article row only

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 00:00:00+00:00

Version 1 of every article was a full copy of the article row (its paragraphs twice): the
newest version now keeps its heading (number, time, record, content hash, title) and NULL in
the other content fields, which are written into its row when a newer version supersedes it.
Here the content fields become nullable, and each article's newest version whose content is
the article's gives it up. Downgrading writes it back.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The content columns a version keeps once superseded, as this migration knows them, with
# their type and whether they were NOT NULL before it (content_hash and title stay so).
SUPERSEDED_COLUMNS = (
    ("content_id", sa.String(128), False),
    ("section", sa.JSON(), True),
    ("subtitle", sa.Text(), False),
    ("published_at", sa.DateTime(timezone=True), True),
    ("source", sa.Text(), False),
    ("author", sa.Text(), False),
    ("editor", sa.Text(), False),
    ("keywords", sa.JSON(), True),
    ("paragraphs", sa.JSON(), True),
    ("images", sa.JSON(), True),
    ("page_count", sa.Integer(), True),
)
NAMES = [name for name, _, _ in SUPERSEDED_COLUMNS]
# Each article's newest version, when its content is the article's (always so, as written).
NEWEST_AS_ARTICLE = """
    SELECT v.id FROM article_versions v JOIN articles a ON a.id = v.article_id
    WHERE v.content_hash = a.content_hash
      AND v.number = (SELECT max(w.number) FROM article_versions w
                      WHERE w.article_id = v.article_id)
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(nullable=True, lean=True)
        return
    for name, kind, was_required in SUPERSEDED_COLUMNS:
        if was_required:
            op.alter_column("article_versions", name, existing_type=kind, nullable=True)
    nulls = ", ".join(f"{name} = NULL" for name in NAMES)
    op.execute(f"UPDATE article_versions SET {nulls} WHERE id IN ({NEWEST_AS_ARTICLE})")


def downgrade() -> None:
    # Correlated sub-selects: the same SQL on both back ends, one row's content each.
    fill = ", ".join(
        f"{name} = (SELECT a.{name} FROM articles a WHERE a.id = article_versions.article_id)"
        for name in NAMES
    )
    op.execute(f"UPDATE article_versions SET {fill} WHERE paragraphs IS NULL")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(nullable=False, lean=False)
    else:
        for name, kind, was_required in SUPERSEDED_COLUMNS:
            if was_required:
                op.alter_column("article_versions", name, existing_type=kind, nullable=False)


def _rebuild_sqlite(*, nullable: bool, lean: bool) -> None:
    """SQLite alters no column's NOT NULL: the table is made anew and its rows copied, the
    newest versions' content left behind when `lean` (emptying rows in place would leave
    each on a page of its own, as large as before).

    By hand rather than Alembic's batch mode, so names stay as the models have them; nothing
    refers to article_versions, so dropping the old table touches no other row. The old
    table's pages are free for the catalogue to reuse; VACUUM gives them back to the disk.
    """
    op.rename_table("article_versions", "article_versions_0010")
    op.drop_index("ix_article_versions_captured_at", table_name="article_versions_0010")
    op.create_table(
        "article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(80), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        *(
            sa.Column(name, kind, nullable=nullable or not was_required)
            for name, kind, was_required in SUPERSEDED_COLUMNS
        ),
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
    heading = ["id", "article_id", "number", "captured_at", "record_id", "run_id",
               "content_hash", "title"]  # fmt: skip
    copied = [f"o.{name}" for name in heading]
    if lean:  # NULL where the version is one of NEWEST_AS_ARTICLE (n.id found)
        copied += [f"CASE WHEN n.id IS NULL THEN o.{name} END" for name in NAMES]
        newest = NEWEST_AS_ARTICLE.replace("article_versions", "article_versions_0010")
        source = f"article_versions_0010 o LEFT JOIN ({newest}) n ON n.id = o.id"
    else:
        copied += [f"o.{name}" for name in NAMES]
        source = "article_versions_0010 o"
    columns = ", ".join([*heading, *NAMES])
    op.execute(f"INSERT INTO article_versions ({columns}) SELECT {', '.join(copied)} FROM {source}")
    op.drop_table("article_versions_0010")
    op.create_index("ix_article_versions_captured_at", "article_versions", ["captured_at"])
