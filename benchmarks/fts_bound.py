"""`python -m benchmarks.fts_bound [ARTICLES]`: what bounds bulk inserts with the search index
on SQLite, each part measured alone.

The catalogue benchmark's "bulk rows + search index" runs three things in one writer, in
turn: the rows (articles, versions, captures, records), the bigrams of each article's text
(computed in Python), and FTS5 inserting them. This times the last two apart, over a fresh
catalogue, so that the first row of the catalogue benchmark (the rows alone) and these two add
up to the bound of the second: FTS5 given its bigram text ready-made, committed every 5,000
articles as the benchmark does; the bigrams made beforehand, untimed in the FTS5 figure.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from benchmarks.synthetic import published, synthetic_article
from pipelines.catalogue.bigrams import terms
from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.search_index import FIELDS, SEARCH_TABLE, article_fields, sort_key

BATCH = 5_000


class _Record:
    """What article_fields reads of an article row."""

    def __init__(self, index: int) -> None:
        article = synthetic_article(index)
        self.id, self.published_at = index, published(index)
        self.title, self.subtitle = article.title, article.subtitle
        self.paragraphs = list(article.paragraphs)
        self.images = [{"url": image.url, "caption": image.caption} for image in article.images]


def _search_row(record: _Record) -> dict[str, Any]:
    fields = article_fields(record)
    return {"key": sort_key(record.published_at, record.id),
            **{name: " ".join(terms(value)) for name, value in fields.items()}}  # fmt: skip


def main(articles: int) -> None:
    records = [_Record(index) for index in range(1, articles + 1)]
    started = time.process_time()
    rows = [_search_row(record) for record in records]
    bigrams = (time.process_time() - started) / articles
    statement = text(
        f"INSERT OR REPLACE INTO {SEARCH_TABLE} (rowid, {', '.join(FIELDS)}) "
        f"VALUES (:key, {', '.join(':' + name for name in FIELDS)})"
    )
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'catalogue.sqlite3'}")
        ensure_schema(engine)
        sessions = make_session_factory(engine)
        wall = time.perf_counter()
        for start in range(0, articles, BATCH):
            with sessions.begin() as session:
                session.execute(statement, rows[start : start + BATCH])
            done = start + BATCH
            if done % 100_000 == 0:
                rate = done / (time.perf_counter() - wall)
                print(f"{done:,}: FTS5 {rate:,.0f} articles/s so far", flush=True)
        fts = (time.perf_counter() - wall) / articles
        engine.dispose()
    print(f"bigrams in Python: {bigrams * 1000:.3f} ms an article")
    print(f"FTS5 insert and commit alone: {fts * 1000:.3f} ms an article ({1 / fts:,.0f}/s)")
    print(
        f"the two in turn: {1 / (bigrams + fts):,.0f} articles/s (add the rows alone for the bound)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
