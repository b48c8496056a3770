"""JSON columns stored as UTF-8 text, not \\u escapes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 00:00:00+00:00

The engine writes JSON with ensure_ascii=False from this revision on (engine.json_text); this
rewrites the rows written before, so `where paragraphs like '%政协%'` finds them too. Only the
escapes change: the values read back are the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000  # rows read and rewritten at a time
# Every JSON column of the catalogue, by table (each table has an integer `id`).
JSON_COLUMNS = {
    "articles": ("section", "keywords", "paragraphs", "images"),
    "article_versions": ("section", "keywords", "paragraphs", "images"),
    "runs": ("channels", "stats"),
}


def upgrade() -> None:
    _rewrite_all(lambda value: json.dumps(value, ensure_ascii=False))


def downgrade() -> None:
    _rewrite_all(json.dumps)


def _rewrite_all(write: Callable[[object], str]) -> None:
    connection = op.get_bind()
    for table, columns in JSON_COLUMNS.items():
        for column in columns:
            _rewrite(connection, table, column, write)


def _rewrite(
    connection: sa.Connection, table: str, column: str, write: Callable[[object], str]
) -> None:
    """Rewrite `table.column` row by row in batches, where its text changes."""
    # As text on both back ends: PostgreSQL's json type keeps the text it was given.
    read = sa.text(
        f"SELECT id, CAST({column} AS TEXT) FROM {table} "
        f"WHERE id > :after AND {column} IS NOT NULL ORDER BY id LIMIT {BATCH}"
    )
    value = "CAST(:value AS json)" if connection.dialect.name == "postgresql" else ":value"
    update = sa.text(f"UPDATE {table} SET {column} = {value} WHERE id = :id")
    after = 0
    while rows := connection.execute(read, {"after": after}).all():
        changed = [
            {"id": row_id, "value": new}
            for row_id, text in rows
            if (new := write(json.loads(text))) != text
        ]
        if changed:
            connection.execute(update, changed)
        after = rows[-1][0]
