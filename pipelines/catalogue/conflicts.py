"""INSERT … ON CONFLICT, which SQLite and PostgreSQL both have, for the back end in use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def dialect_of(session: Session) -> str:
    """The back end's dialect name: "sqlite" or "postgresql"."""
    return session.get_bind().dialect.name


def insert_for(dialect: str, table: Table | Any) -> Any:
    """The dialect's INSERT into `table` (a Table or a mapped class), with on_conflict_*."""
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)


def table_of(model: Any) -> Table:
    """A mapped class's Table, typed as one."""
    table: Table = model.__table__
    return table
