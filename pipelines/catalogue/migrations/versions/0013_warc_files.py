"""warc files: closed WARC files put in object storage, their size, SHA-256 and commit

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 00:00:00+00:00

Issue 17: with `--storage s3://bucket/prefix`, each closed WARC file is put in the store
(a conditional put) and committed once there; a revisit may refer only to a record of a
committed file. Written while 0012 (runs.lease_seconds, the job queue) was written beside
it: it revises 0011, and is moved to revise 0012 when the two are merged.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warc_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("stored_url", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warc_files")),
        sa.UniqueConstraint("name", name=op.f("uq_warc_files_name")),
    )


def downgrade() -> None:
    op.drop_table("warc_files")
