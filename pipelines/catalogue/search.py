"""Full-text search of the catalogue: bigram terms in SQLite FTS5 or a PostgreSQL GIN index.

One search table per back end, keyed by article id: SQLite's is an FTS5 table of the
article's terms per field; PostgreSQL's holds one weighted `tsvector` per article, written
as a literal so the database's locale cannot change what counts as a word. Queries are
phrases of bigrams (pipelines/catalogue/bigrams.py); every part of a query must match;
articles whose title matches come first, then by relevance, then newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.orm import Session

from pipelines.catalogue.bigrams import is_lone_han, needles, query_phrases, terms
from pipelines.catalogue.models import ArticleRecord
from pipelines.catalogue.queries import article_filters
from pipelines.catalogue.views import article_summary
from pipelines.errors import UsageError

SEARCH_TABLE = "article_search"
# SQLite FTS5 makes shadow tables named after its table: not part of the models.
SEARCH_TABLES = (SEARCH_TABLE, *(f"{SEARCH_TABLE}_{s}" for s in ("data", "idx", "content",
                                                                 "docsize", "config")))  # fmt: skip
FIELDS = ("title", "subtitle", "body", "captions")
POSTGRES_WEIGHTS = {"title": "A", "subtitle": "B", "captions": "C", "body": "D"}
SQLITE_WEIGHTS = (10.0, 4.0, 1.0, 2.0)  # bm25 weight of each of FIELDS
SNIPPET_WIDTH = 40  # characters of context around the first hit
DEFAULT_LIMIT = 20


def outside_search(item: Any, name: str | None, type_: str, *args: Any) -> bool:
    """Alembic's include_object: the search tables are made by hand, not from the models."""
    table = name if type_ == "table" else getattr(getattr(item, "table", None), "name", None)
    return table not in SEARCH_TABLES


@dataclass(frozen=True)
class SearchHit:
    """An article found, where its text matched, and a snippet around the first match."""

    article: ArticleRecord
    title_match: bool
    snippet: str
    highlights: tuple[tuple[int, int], ...]  # [start, end) of each hit in the snippet


def hit_view(hit: SearchHit) -> dict[str, Any]:
    """One line of a search's results: the article's summary, where it matched, its snippet."""
    return {
        **article_summary(hit.article),
        "title_match": hit.title_match,
        "snippet": hit.snippet,
        "highlights": [list(span) for span in hit.highlights],
    }


def article_fields(record: Any) -> dict[str, str]:
    """The searchable text of an article (a row with title, subtitle, paragraphs, images)."""
    return {
        "title": record.title or "",
        "subtitle": record.subtitle or "",
        "body": "\n".join(record.paragraphs or ()),
        "captions": "\n".join(image.get("caption") or "" for image in record.images or ()),
    }


def index_article(session: Session, record: ArticleRecord) -> None:
    """Put the article's current text in the search table (replacing what was there)."""
    index_text(session, record.id, article_fields(record))


def index_text(session: Session, article_id: int, fields: dict[str, str]) -> None:
    """Index the searchable `fields` (see article_fields) of the article with this id."""
    record_id = article_id
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                f"INSERT INTO {SEARCH_TABLE} (article_id, document) "
                "VALUES (:id, CAST(:document AS tsvector)) "
                "ON CONFLICT (article_id) DO UPDATE SET document = EXCLUDED.document"
            ),
            {"id": record_id, "document": tsvector_literal(fields)},
        )
        return
    session.execute(text(f"DELETE FROM {SEARCH_TABLE} WHERE rowid = :id"), {"id": record_id})
    session.execute(
        text(
            f"INSERT INTO {SEARCH_TABLE} (rowid, {', '.join(FIELDS)}) "
            f"VALUES (:id, {', '.join(':' + name for name in FIELDS)})"
        ),
        {"id": record_id, **{name: " ".join(terms(fields[name])) for name in FIELDS}},
    )


def tsvector_literal(fields: dict[str, str]) -> str:
    """A `tsvector` of the fields' terms with positions and weights, e.g. `'河南':1A`."""
    positions: dict[str, list[str]] = {}
    position = 0
    for name in FIELDS:
        for term in terms(fields[name]):
            position = min(position + 1, 16383)  # PostgreSQL's largest position
            positions.setdefault(term, []).append(f"{position}{POSTGRES_WEIGHTS[name]}")
        position = min(position + 1, 16383)  # a gap: no phrase spans two fields
    return " ".join(f"{_quoted(term)}:{','.join(marks[:256])}" for term, marks in positions.items())


def search_articles(
    session: Session,
    query: str,
    *,
    limit: int | None = DEFAULT_LIMIT,
    offset: int = 0,
    site: str | None = None,
    channel: str | None = None,
    section: str | None = None,
    source: str | None = None,
    editor: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[SearchHit]:
    """The articles matching every part of `query`, best first, at most `limit` (None: all)
    after the first `offset`."""
    ranked, filters = _matching(
        session, query, site=site, channel=channel, section=section, source=source,
        editor=editor, since=since, until=until,
    )  # fmt: skip
    statement = (
        select(ArticleRecord, ranked.c.title_match)
        .join(ranked, ranked.c.article_id == ArticleRecord.id)
        .where(*filters)
        .order_by(
            ranked.c.title_match.desc(),
            ranked.c.score.desc(),
            ArticleRecord.published_at.desc(),
            ArticleRecord.id.desc(),
        )
        .limit(limit)
        .offset(offset)
    )
    words = needles(query)
    return [
        _hit(record, bool(title_match), words)
        for record, title_match in session.execute(statement).all()
    ]


def count_search(
    session: Session,
    query: str,
    *,
    site: str | None = None,
    channel: str | None = None,
    section: str | None = None,
    source: str | None = None,
    editor: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> int:
    """How many articles search_articles would find without a limit, for the same filters."""
    ranked, filters = _matching(
        session, query, site=site, channel=channel, section=section, source=source,
        editor=editor, since=since, until=until,
    )  # fmt: skip
    statement = (
        select(func.count(ArticleRecord.id))
        .join(ranked, ranked.c.article_id == ArticleRecord.id)
        .where(*filters)
    )
    return int(session.scalar(statement) or 0)


def _matching(session: Session, query: str, **filters: Any) -> tuple[Any, list[Any]]:
    """What search_articles and count_search share: the ranked ids of the articles matching
    `query` (a subquery), and the WHERE clauses of the other filters."""
    phrases = _checked_phrases(query)
    _prefer_the_index(session)
    return _ranked_ids(session, phrases), article_filters(**filters)


def _checked_phrases(query: str) -> list[list[str]]:
    """The query's phrases of bigrams; a UsageError for a query that cannot be searched."""
    phrases = query_phrases(query)
    if not phrases:
        raise UsageError(f"search {query!r} has no word to look for: give Chinese or words")
    lone = [part for part in query.split() if is_lone_han(part)]
    if lone:
        # Indexed as bigrams, a single character could be found only where it stands alone:
        # refused, rather than silently missing it everywhere else.
        raise UsageError(f"search for {lone[0]!r}: give Chinese words of two characters or more")
    return phrases


def search_plan(session: Session, query: str) -> str:
    """The database's plan for the search part of a query (tests check it uses the index)."""
    _prefer_the_index(session)
    sql, params = _ranked_sql(session.get_bind().dialect.name, query_phrases(query))
    dialect = session.get_bind().dialect.name
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    rows = session.execute(text(explain + sql), params).all()
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


def _prefer_the_index(session: Session) -> None:
    """On PostgreSQL, keep the planner from reading every document for a search.

    A tsvector of a whole article lives out of line (TOAST), which the planner does not
    price: it takes a sequential scan to be cheap and reads and decompresses every document
    (measured: 180 ms at 30,000 articles, against a few ms through the GIN index). For the
    rest of the transaction, which is this search.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL enable_seqscan = off"))


def _ranked_ids(session: Session, phrases: list[list[str]]) -> Any:
    """A subquery of (article_id, title_match, score) for the articles matching all phrases."""
    sql, params = _ranked_sql(session.get_bind().dialect.name, phrases)
    statement = text(sql).bindparams(**params)
    return statement.columns(
        literal_column("article_id"), literal_column("title_match"), literal_column("score")
    ).subquery("ranked")


def _ranked_sql(dialect: str, phrases: list[list[str]]) -> tuple[str, dict[str, str]]:
    if dialect == "postgresql":
        match = " & ".join(_ts_phrase(phrase, "") for phrase in phrases)
        in_title = " & ".join(_ts_phrase(phrase, ":A") for phrase in phrases)
        sql = (
            "SELECT article_id, document @@ CAST(:in_title AS tsquery) AS title_match, "
            f"ts_rank(document, CAST(:match AS tsquery)) AS score FROM {SEARCH_TABLE} "
            "WHERE document @@ CAST(:match AS tsquery)"
        )
        return sql, {"match": match, "in_title": in_title}
    match = " AND ".join(_fts_phrase(p) for p in phrases)
    in_title = " AND ".join("title : " + _fts_phrase(p) for p in phrases)
    weights = ", ".join(str(w) for w in SQLITE_WEIGHTS)
    sql = (
        f"SELECT rowid AS article_id, rowid IN (SELECT rowid FROM {SEARCH_TABLE} "
        f"WHERE {SEARCH_TABLE} MATCH :in_title) AS title_match, "
        f"-bm25({SEARCH_TABLE}, {weights}) AS score FROM {SEARCH_TABLE} "
        f"WHERE {SEARCH_TABLE} MATCH :match"
    )
    return sql, {"match": match, "in_title": in_title}


def _hit(record: ArticleRecord, title_match: bool, words: Sequence[str]) -> SearchHit:
    snippet, highlights = make_snippet(article_fields(record), words)
    return SearchHit(record, title_match, snippet, highlights)


def make_snippet(
    fields: dict[str, str], words: Iterable[str]
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Text around the first hit in the body (else captions, subtitle, title), and the hits."""
    words = [word for word in words if word]
    for name in ("body", "captions", "subtitle", "title"):
        text_ = " ".join(fields[name].split())
        lowered = text_.lower()
        starts = [lowered.find(word) for word in words if word in lowered]
        if not starts:
            continue
        first = min(starts)
        begin = max(0, first - SNIPPET_WIDTH // 2)
        end = min(len(text_), first + SNIPPET_WIDTH)
        snippet = ("…" if begin else "") + text_[begin:end] + ("…" if end < len(text_) else "")
        return snippet, _highlights(snippet.lower(), words)
    return "", ()


def _highlights(snippet: str, words: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """The spans of every word in the snippet, overlapping ones merged (政协 in 河南省政协)."""
    spans = []
    for word in words:
        start = snippet.find(word)
        while start != -1:
            spans.append((start, start + len(word)))
            start = snippet.find(word, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _quoted(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _ts_phrase(phrase: list[str], weight: str) -> str:
    return "(" + " <-> ".join(_quoted(term) + weight for term in phrase) + ")"


def _fts_phrase(phrase: list[str]) -> str:
    return '"' + " ".join(term.replace('"', '""') for term in phrase) + '"'


__all__ = [
    "DEFAULT_LIMIT",
    "SEARCH_TABLES",
    "SearchHit",
    "count_search",
    "hit_view",
    "index_article",
    "index_text",
    "make_snippet",
    "outside_search",
    "search_articles",
    "search_plan",
]
