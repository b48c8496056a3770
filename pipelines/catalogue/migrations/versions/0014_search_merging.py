"""search merging: SQLite's search index writes bigger segments and merges them eight at a time

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 14:30:00+00:00

Issue 16 (bulk indexing at 3,000 articles a second): FTS5 writes the terms it holds in memory
as a new segment whenever they pass `hashsize` (16 MiB since 0009) and at every commit, then
merges segments as soon as `automerge` (by default 4) of a level exist, rewriting the index
again and again as articles are added. Measured over 300,000 synthetic articles committed
5,000 at a time, the FTS5 inserts alone: 6,136 articles/s as 0009 left it, 6,728 merging 8 at
a time, 7,335 with 64 MiB segments too. A transaction of a crawl's writer (a few hundred
articles) holds far less than 64 MiB, so only bulk loads and reindexing hold that much. A
search reads at most twice as many segments a level: the catalogue benchmark's search rows
were unchanged at 300,000 (1.0 to 11 ms). Nothing changes on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# FTS5 keeps these in the table's own config, so every connection uses them.
SETTINGS = {"automerge": 8, "hashsize": 64 * 1024 * 1024}
BEFORE = {"automerge": 4, "hashsize": 16 * 1024 * 1024}  # FTS5's default; 0009's


def upgrade() -> None:
    _configure(SETTINGS)


def downgrade() -> None:
    _configure(BEFORE)


def _configure(settings: dict[str, int]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    for name, value in settings.items():
        op.execute(f"INSERT INTO article_search (article_search, rank) VALUES ('{name}', {value})")
