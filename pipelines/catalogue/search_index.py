"""Writing the search index: an article's bigram terms, keyed in publication order.

Each article has one row in the search table, under a sort key that orders by publication
time and then by id (sort_key below), so that a search newest first walks the index
backwards and stops after the page it shows. On SQLite the key is the FTS5 table's rowid;
on PostgreSQL a column of the search table with a B-tree index of its own. Triggers move the
row when an article's publication time changes (migration 0009), and drop it with the
article. Many articles are indexed in one statement (index_articles), as a crawl's
catalogue writer, a bulk load or a reindex write them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from pipelines.catalogue.bigrams import terms

SEARCH_TABLE = "article_search"
FIELDS = ("title", "subtitle", "body", "captions")
POSTGRES_WEIGHTS = {"title": "A", "subtitle": "B", "captions": "C", "body": "D"}
LAST_POSITION = 16383  # PostgreSQL's largest position in a tsvector
# The low bits of a sort key hold the article's id, the bits above the second it was
# published (seconds since 1970, negative before): ids up to 2**30 (a thousand million
# articles), and the years 1698 to 2242 in a signed 64-bit key; a time outside them counts
# as the nearest of those ends (it sorts among them by id).
KEY_ID_BITS = 30
KEY_ID_MASK = (1 << KEY_ID_BITS) - 1
LAST_SECOND = (1 << (63 - KEY_ID_BITS)) - 1
FIRST_SECOND = -(1 << (63 - KEY_ID_BITS))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def sort_key(published_at: datetime, article_id: int) -> int:
    """The search row's key: newest first is the key descending (published_at, then id).
    Migration 0009's triggers compute the same in SQL."""
    if not 0 < article_id <= KEY_ID_MASK:
        raise ValueError(f"article id {article_id} does not fit in a search sort key")
    return key_of_time(published_at) | article_id


def key_of_time(moment: datetime) -> int:
    """The lowest sort key of anything published at `moment` or later (within its second)."""
    seconds = (moment - _EPOCH) // _SECOND
    return max(FIRST_SECOND, min(seconds, LAST_SECOND)) << KEY_ID_BITS


def article_fields(record: Any) -> dict[str, str]:
    """The searchable text of an article (a row with title, subtitle, paragraphs, images)."""
    return {
        "title": record.title or "",
        "subtitle": record.subtitle or "",
        "body": "\n".join(record.paragraphs or ()),
        "captions": "\n".join(image.get("caption") or "" for image in record.images or ()),
    }


def index_article(session: Session, record: Any) -> None:
    """Put the article's current text in the search table (replacing what was there)."""
    index_articles(session, [record])


def index_articles(session: Session, records: Iterable[Any]) -> int:
    """Index many articles in one statement (rows with id, published_at, title, subtitle,
    paragraphs, images: ArticleRecords or alike), replacing what each had; how many."""
    if session.get_bind().dialect.name == "postgresql":
        rows = [
            {"id": r.id, "key": sort_key(r.published_at, r.id),
             "document": tsvector_literal(article_fields(r))}
            for r in records
        ]  # fmt: skip
        statement = (
            f"INSERT INTO {SEARCH_TABLE} (article_id, sort_key, document) "
            "VALUES (:id, :key, CAST(:document AS tsvector)) ON CONFLICT (article_id) "
            "DO UPDATE SET sort_key = EXCLUDED.sort_key, document = EXCLUDED.document"
        )
    else:
        rows = [
            {"key": sort_key(r.published_at, r.id),
             **{name: " ".join(terms(value)) for name, value in article_fields(r).items()}}
            for r in records
        ]  # fmt: skip
        # The key is the rowid: REPLACE drops the row an earlier indexing left under it.
        statement = (
            f"INSERT OR REPLACE INTO {SEARCH_TABLE} (rowid, {', '.join(FIELDS)}) "
            f"VALUES (:key, {', '.join(':' + name for name in FIELDS)})"
        )
    if rows:
        session.execute(text(statement), rows)
    return len(rows)


def tsvector_literal(fields: dict[str, str]) -> str:
    """A `tsvector` of the fields' terms with positions and weights, e.g. `'河南':1A`.

    Terms are runs of letters and digits (bigrams.py), so none holds a quote or a backslash
    to escape. A term may come many times: PostgreSQL merges them into one lexeme on input,
    keeps its first 256 positions and takes positions past its largest as the largest.
    """
    pieces: list[str] = []
    position = 0
    for name in FIELDS:
        found = terms(fields[name])
        weight = POSTGRES_WEIGHTS[name]
        pieces += [f"'{term}':{at}{weight}" for at, term in enumerate(found, position + 1)]
        position = min(position + len(found) + 1, LAST_POSITION)  # a gap: no phrase spans two
    return " ".join(pieces)


__all__ = [
    "FIELDS",
    "KEY_ID_BITS",
    "SEARCH_TABLE",
    "article_fields",
    "index_article",
    "index_articles",
    "key_of_time",
    "sort_key",
    "tsvector_literal",
]
