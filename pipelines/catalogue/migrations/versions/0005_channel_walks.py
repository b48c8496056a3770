"""channel walks: how far back each channel's list pages have been walked

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 00:00:00+00:00

No rows are filled in: a channel without one is walked from list page 1 to its last page
(a slice a crawl), so an archive whose earlier crawls stopped short is completed by the
crawls after this upgrade, without fetching again the articles it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_walks",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resume_url", sa.Text(), nullable=True),
        sa.Column("resume_page", sa.Integer(), nullable=False),
        sa.Column("last_page", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_channel_walks_run_id_runs", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("site", "channel", name="pk_channel_walks"),
    )


def downgrade() -> None:
    op.drop_table("channel_walks")
