"""Where a catalogue's bytes go: each table with its indexes, the search index apart."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from pipelines.catalogue.search import SEARCH_TABLE, SEARCH_TABLES

TARGET_BYTES_PER_ARTICLE = 8_000  # issue 16: catalogue per article, the search index excluded
SEARCH = "search index"

# SQLite's dbstat: the bytes of every page of every table and index, by the table it serves
# (FTS5's shadow tables are tables of their own, grouped under the search index below).
SQLITE_TABLES = """
    SELECT s.tbl_name, sum(d.pgsize) FROM dbstat d JOIN sqlite_schema s ON s.name = d.name
    GROUP BY s.tbl_name
"""
# PostgreSQL: each table's heap, TOAST and indexes.
POSTGRES_TABLES = """
    SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'r'
"""


@dataclass(frozen=True)
class CatalogueSize:
    """Bytes of each table (with its indexes); the search tables as one, SEARCH."""

    tables: dict[str, int]

    @property
    def search(self) -> int:
        return self.tables.get(SEARCH, 0)

    @property
    def without_search(self) -> int:
        return sum(size for name, size in self.tables.items() if name != SEARCH)

    def per_article(self, articles: int) -> str:
        """Each table's bytes an article, largest first, for the notes."""
        ordered = sorted(self.tables.items(), key=lambda item: -item[1])
        return ", ".join(f"{name} {size / articles:,.0f}" for name, size in ordered if size)


def table_sizes(engine: Engine) -> CatalogueSize:
    """The catalogue's tables and their indexes, in bytes, measured by the database."""
    query = SQLITE_TABLES if engine.dialect.name == "sqlite" else POSTGRES_TABLES
    with engine.connect() as connection:
        found = connection.execute(text(query)).all()
    tables: dict[str, int] = {}
    for name, size in found:
        key = SEARCH if name in SEARCH_TABLES or name == SEARCH_TABLE else name
        tables[key] = tables.get(key, 0) + int(size)
    return CatalogueSize(tables)
