"""article attachments: the files an article links to from its body

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 00:00:00+00:00

Articles catalogued before have none listed ([]) until they are crawled again or
`cppcc-archive reextract` reads their archived pages again; the files themselves were
archived all along.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# ADD/DROP COLUMN in place on both back ends, never SQLite's batch mode: that copies the table
# and drops the old one, and the drop sets every capture's article_id to NULL (ON DELETE SET
# NULL) — the test of this upgrade caught exactly that.


def upgrade() -> None:
    op.add_column(
        "articles",
        sa.Column("attachments", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE articles DROP COLUMN attachments")  # SQLite 3.35+ and PostgreSQL
