"""channel locks, runs' channels as rows, run heartbeats

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_BATCH = 1000

# The tables as this migration knows them (not the models, which will change after it).
_runs = sa.table("runs", sa.column("id", sa.Integer()), sa.column("channels", sa.JSON()))
_run_channels = sa.table(
    "run_channels",
    sa.column("run_id", sa.Integer()),
    sa.column("site", sa.String(64)),
    sa.column("channel", sa.String(64)),
)


def upgrade() -> None:
    op.add_column("runs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "run_channels",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_run_channels_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "site", "channel", name="pk_run_channels"),
    )
    op.create_index(
        "ix_run_channels_site_channel_run_id", "run_channels", ["site", "channel", "run_id"]
    )
    op.create_table(
        "channel_locks",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_channel_locks_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site", "channel", name="pk_channel_locks"),
    )
    _backfill_run_channels(op.get_bind())


def downgrade() -> None:
    op.drop_table("channel_locks")
    op.drop_table("run_channels")
    op.drop_column("runs", "heartbeat_at")


def _backfill_run_channels(connection: sa.Connection) -> None:
    """One run_channels row per "site/channel" in each existing run's `channels` JSON.

    Done in Python, batch by batch, so it is the same on every back end whatever its JSON
    functions; entries that are not "site/channel" strings are skipped.
    """
    for batch in _run_batches(connection):
        rows = [
            {"run_id": run_id, "site": site, "channel": channel}
            for run_id, channels in batch
            for site, channel in dict.fromkeys(_channel_keys(channels))
        ]
        if rows:
            connection.execute(_run_channels.insert(), rows)


def _run_batches(connection: sa.Connection) -> Iterator[list[tuple[int, Any]]]:
    last_id = None
    while True:
        query = sa.select(_runs.c.id, _runs.c.channels).order_by(_runs.c.id).limit(BACKFILL_BATCH)
        if last_id is not None:
            query = query.where(_runs.c.id > last_id)
        batch = [(row.id, row.channels) for row in connection.execute(query)]
        if not batch:
            return
        yield batch
        last_id = batch[-1][0]


def _channel_keys(channels: Any) -> Iterator[tuple[str, str]]:
    for key in channels if isinstance(channels, list) else ():
        if not isinstance(key, str):
            continue
        site, slash, channel = key.partition("/")
        if site and slash and channel and "/" not in channel:
            yield site, channel
