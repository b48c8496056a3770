"""run lease: how long a run may go without a heartbeat before others take it for dead

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00+00:00

A crawl worker of the job queue (`cppcc-archive worker`) beats more often than every 30 s and
promises its runs are dead once `lease` seconds pass without a beat, so a job whose worker
died is run again within the lease, on any host. The run records that promise: whoever judges
the run (another worker, a `crawl`, the service) goes by the run's own lease, not by its own
idea of it. Runs without one (every run before, and runs outside the queue) keep the fixed
five minutes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("lease_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("lease_seconds")
