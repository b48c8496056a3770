"""Full-text search of the catalogue: bigram terms in SQLite FTS5 or a PostgreSQL GIN index.

One search row per article (search_index.py), keyed in publication order. Queries are
phrases of bigrams (pipelines/catalogue/bigrams.py); every part of a query must match.
Two orders: newest first (published_at, then id, descending), which reads the index
backwards and stops after the page asked for, whatever the number of matches; and
relevance, which ranks the newest RELEVANCE_WINDOW matches (title hits first, then bm25 on
SQLite or ts_rank on PostgreSQL, then newest) and goes on newest first after them, so that
no query reads every match of a term in most articles. Counts stop at COUNT_CAP.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.orm import Session

from pipelines.catalogue.bigrams import is_lone_han, needles, query_phrases, terms
from pipelines.catalogue.counts import COUNT_CAP, MatchCount, count_up_to
from pipelines.catalogue.models import SHANGHAI, ArticleRecord
from pipelines.catalogue.queries import article_filters
from pipelines.catalogue.search_index import (
    FIRST_SECOND,
    KEY_ID_BITS,
    KEY_ID_MASK,
    LAST_SECOND,
    SEARCH_TABLE,
    article_fields,
    index_article,
    index_articles,
    key_of_time,
)
from pipelines.catalogue.views import article_summary
from pipelines.errors import UsageError

# SQLite FTS5 makes shadow tables named after its table: not part of the models.
SEARCH_TABLES = (SEARCH_TABLE, *(f"{SEARCH_TABLE}_{s}" for s in ("data", "idx", "content",
                                                                 "docsize", "config")))  # fmt: skip
SQLITE_WEIGHTS = (10.0, 4.0, 1.0, 2.0)  # bm25 weight of each of FIELDS
SNIPPET_WIDTH = 40  # characters of context around the first hit
DEFAULT_LIMIT = 20
SORTS = ("newest", "relevance")
# Relevance ranks this many of the newest matches; later ones follow newest first. Ranking
# reads each one's terms (bm25, ts_rank): a thousand take milliseconds, all of a common
# term's hundreds of thousands took seconds.
RELEVANCE_WINDOW = 1000
# Keys of times at the ends of the keys' years, where times beyond count as the end.
FIRST_KEY, LAST_KEY = FIRST_SECOND << KEY_ID_BITS, LAST_SECOND << KEY_ID_BITS


def outside_search(item: Any, name: str | None, type_: str, *args: Any) -> bool:
    """Alembic's include_object: the search tables are made by hand, not from the models."""
    table_ = name if type_ == "table" else getattr(getattr(item, "table", None), "name", None)
    return table_ not in SEARCH_TABLES


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


def search_articles(
    session: Session,
    query: str,
    *,
    sort: str = "newest",
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
    """The articles matching every part of `query` in `sort` order (SORTS), at most `limit`
    (None: all) after the first `offset`."""
    if sort not in SORTS:
        raise UsageError(f"search sort {sort!r}: give one of {', '.join(SORTS)}")
    phrases = _checked_phrases(query)
    matches = _Matches(session, phrases, site=site, channel=channel, section=section,
                       source=source, editor=editor, since=since, until=until)  # fmt: skip
    if sort == "newest":
        ids = matches.newest(limit, offset)
    else:
        ids = _by_relevance(matches, phrases, limit, offset)
    found = session.scalars(select(ArticleRecord).where(ArticleRecord.id.in_(ids)))
    records = {record.id: record for record in found}
    words = needles(query)
    # An article deleted since its id was read (another transaction) is left out.
    found_in_order = [records[i] for i in ids if i in records]
    return [_hit(r, title_matches(phrases, r.title), words) for r in found_in_order]


def count_search(
    session: Session,
    query: str,
    *,
    cap: int = COUNT_CAP,
    site: str | None = None,
    channel: str | None = None,
    section: str | None = None,
    source: str | None = None,
    editor: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> MatchCount:
    """How many articles search_articles would find without a limit, counted up to `cap`."""
    matches = _Matches(session, _checked_phrases(query), site=site, channel=channel,
                       section=section, source=source, editor=editor, since=since,
                       until=until)  # fmt: skip
    # Counting every match of a common term would read its whole index entry, as slow as
    # ranking them all: the first cap + 1 newest are read, no more.
    return count_up_to(session, matches.statement(matches.key, wanted=cap + 1), cap)


def title_matches(phrases: Sequence[Sequence[str]], title: str | None) -> bool:
    """Whether every phrase of a query is in `title`, as the index would find it there."""
    # Terms hold neither spaces nor control characters: joined by one, a phrase is a
    # substring exactly where its terms follow each other.
    joined = "\x1f" + "\x1f".join(terms(title or "")) + "\x1f"
    return all("\x1f" + "\x1f".join(phrase) + "\x1f" in joined for phrase in phrases)


def _by_relevance(
    matches: _Matches, phrases: list[list[str]], limit: int | None, offset: int
) -> list[int]:
    """Ids of the page of the relevance order: the newest RELEVANCE_WINDOW matches ranked,
    then the matches after them newest first."""
    ids: list[int] = []
    if offset < RELEVANCE_WINDOW:
        window = matches.newest_scored(RELEVANCE_WINDOW)
        ranked = sorted(
            window,
            key=lambda row: (title_matches(phrases, row[2]), row[1], row[0]),
            reverse=True,
        )
        end = None if limit is None else offset + limit
        ids = [key & KEY_ID_MASK for key, _, _ in ranked[offset:end]]
        if len(window) < RELEVANCE_WINDOW or (limit is not None and len(ids) == limit):
            return ids
    rest = None if limit is None else limit - len(ids)
    return ids + matches.newest(rest, max(offset, RELEVANCE_WINDOW))


class _Matches:
    """The rows of the search table matching a query's phrases and the other filters, in
    key order: what every kind of search reads, as SQL statements."""

    # SQL expressions of the dialect's search table (SQLAlchemy's types vary by expression).
    search: Any
    key: Any
    article_id: Any
    match: Any
    terms_match: Any  # PostgreSQL: every term present, when the query has a phrase; or None
    score: Any

    def __init__(self, session: Session, phrases: list[list[str]], **filters: Any) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self.bounds, filters = _key_bounds(filters)
        self.filters = article_filters(**filters)
        _prefer_the_index(session)
        if self.dialect == "postgresql":
            columns = ("article_id", Integer), ("sort_key", BigInteger), ("document", TSVECTOR)
            search = table(SEARCH_TABLE, *(column(name, kind) for name, kind in columns))
            self.search, self.key, self.article_id = search, search.c.sort_key, search.c.article_id
            self.query_text = _ts_query(phrases)
            query = cast(literal(self.query_text), TSQUERY)
            self.match = search.c.document.op("@@")(query)
            # A phrase's rows from the GIN index are only candidates: each one's tsvector is
            # read to check that its terms follow each other. Without a phrase, all its
            # terms present is an answer the index gives exactly, without reading any.
            self.terms_match = None
            if any(len(phrase) > 1 for phrase in phrases):
                every_term = cast(literal(_ts_all_terms(phrases)), TSQUERY)
                self.terms_match = search.c.document.op("@@")(every_term)
            self.score = func.ts_rank(search.c.document, query)
        else:
            search = table(SEARCH_TABLE, column("rowid", BigInteger))
            self.search, self.key = search, search.c.rowid
            self.article_id = search.c.rowid.op("&")(KEY_ID_MASK)
            fts: Any = literal_column(SEARCH_TABLE)
            self.match = fts.op("MATCH")(literal(_fts_query(phrases)))
            self.score = -func.bm25(fts, *SQLITE_WEIGHTS)

    def statement(self, *columns: Any, wanted: int | None, articles: bool = False) -> Any:
        """SELECT `columns` of the matching rows, newest first, joined to their articles when
        a filter or a column needs them; read the way that suits the first `wanted` rows."""
        statement = select(*columns).select_from(self.search)
        if articles or self.filters:
            statement = statement.join(ArticleRecord, ArticleRecord.id == self.article_id)
        match, order, bounded = self.match, self.key, self.key
        if self.dialect == "postgresql":
            # The planner prices a row's @@ as a few operators; it is a read and a
            # decompression of the article's tsvector. So the choice is made here: a term
            # in many rows walks the sort key's index backwards (written so that the GIN
            # index cannot serve it), a rare one takes its rows from the GIN index and sorts
            # them (written so that the key's index cannot give the order; a phrase checked
            # after the sort, in _phrases_checked_in_order).
            if wanted is not None and self._walk_is_cheaper(wanted):
                match = match.is_(True)
                if self.filters:
                    # Written over both tables, the match is tested after the join: only
                    # the rows the articles' filters keep have their tsvector read; and the
                    # join a loop over the walk (a hash join would read every row first).
                    match = case((ArticleRecord.id == self.article_id, self.match))
                    self._loop_joins_only(True)
            else:
                # Neither the order nor the dates from the key's index: a range of dates
                # scanned there would read the tsvector of every row in it.
                order = bounded = self.key + 0
                if self.filters:
                    self._loop_joins_only(False)
                if self.terms_match is not None:
                    return self._phrases_checked_in_order(statement, columns, order)
        return statement.where(match, *self.bounds(bounded), *self.filters).order_by(order.desc())

    def _phrases_checked_in_order(self, statement: Any, columns: Any, order: Any) -> Any:
        """The GIN index's rows with every term of the query, newest first, and then their
        phrases checked in that order, so that a page reads the tsvectors of its own rows
        (and of the candidates between them) rather than those of every candidate.

        Measured at 1,000,000 articles, '量子通信' in 4,000 (its candidates are its matches):
        the scan of the GIN index with its recheck took 90 ms, without it 6 ms.
        """
        candidates = (
            statement.with_only_columns(
                order.label("sort_key"), self.article_id, self.search.c.document
            )
            .where(self.terms_match, *self.bounds(order), *self.filters)
            .order_by(order.desc())
            .offset(0)  # planned on its own: the phrase is not pushed into the scan
            .subquery()
        )
        query = cast(literal(self.query_text), TSQUERY)
        return (
            select(*(candidates.c[column.name] for column in columns))
            .where(candidates.c.document.op("@@")(query))
            .order_by(candidates.c.sort_key.desc())  # the candidates' order: no sort again
        )

    def _loop_joins_only(self, only: bool) -> None:
        """Keep PostgreSQL to nested loops for joins, or not, for the rest of the
        transaction (which is the search: each of its statements says which it needs)."""
        for method in ("hashjoin", "mergejoin"):
            value = "off" if only else "DEFAULT"
            self.session.execute(text(f"SET LOCAL enable_{method} = {value}"))

    def newest(self, limit: int | None, offset: int) -> list[int]:
        """Article ids, newest first."""
        wanted = None if limit is None else limit + offset
        statement = self.statement(self.key, wanted=wanted).limit(limit).offset(offset)
        return [key & KEY_ID_MASK for key in self.session.scalars(statement)]

    def newest_scored(self, count: int) -> list[tuple[int, float, str]]:
        """The newest `count` matches' (key, score, title)."""
        if self.dialect == "postgresql":
            # The newest first, then ts_rank of those alone: it reads each one's tsvector.
            columns = self.key, self.article_id, self.search.c.document
            window = self.statement(*columns, wanted=count).limit(count).subquery()
            query = cast(literal(self.query_text), TSQUERY)
            statement = select(
                window.c.sort_key, func.ts_rank(window.c.document, query), ArticleRecord.title
            ).join(ArticleRecord, ArticleRecord.id == window.c.article_id)
        else:
            statement = self.statement(
                self.key, self.score, ArticleRecord.title, wanted=count, articles=True
            ).limit(count)
        return [(key, score, title) for key, score, title in self.session.execute(statement)]

    def _walk_is_cheaper(self, wanted: int) -> bool:
        """Whether reading the newest rows until `wanted` match reads fewer tsvectors than
        the rows the GIN index gives, by the planner's estimates (PostgreSQL's statistics of
        the terms): M of N rows matching, the walk reads wanted * N / M rows (at most those
        of the dates asked for), the GIN index gives M."""
        rows = self.session.scalar(
            text("SELECT reltuples FROM pg_class WHERE oid = CAST(:name AS regclass)"),
            {"name": SEARCH_TABLE},
        )
        if not rows or rows <= 0:  # never analysed: the GIN index's work is bounded
            return False
        everywhere = self._estimate(select(self.key).where(self.match))
        walked = wanted * rows / max(everywhere, 1.0)
        if self.bounds(self.key):  # the walk stops at the end of the dates at the latest
            here = self._estimate(select(self.key).where(self.match, *self.bounds(self.key)))
            walked = min(walked, rows * here / max(everywhere, 1.0))
        return walked < everywhere

    def _estimate(self, statement: Any) -> float:
        """The planner's estimate of the rows `statement` returns."""
        sql = statement.compile(self.session.get_bind(), compile_kwargs={"literal_binds": True})
        [[plan]] = self.session.execute(text(f"EXPLAIN (FORMAT JSON) {sql}")).one()
        return float(plan["Plan"]["Plan Rows"])


def _key_bounds(filters: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Sort key ranges for the date filters, and the filters left for the articles' table.

    A day (since, until) starts at a whole second, so the keys bound it exactly: a search
    within dates reads the search rows of those dates alone and no article row to filter.
    Other bounds (a datetime, a day outside the keys' years or the calendar) stay filters on
    the articles' dates, the keys a day wider around them only narrowing the scan.
    """
    left = dict(filters)
    lowest = highest = None  # keys, inclusive
    since, until = filters.get("since"), filters.get("until")
    if since is not None:
        low = _day_start(since, 0 if _exact(since) else -1)
        lowest = None if low is None else key_of_time(low)
        if _exact(since):
            del left["since"]
    if until is not None:
        high = _day_start(until, 1 if _exact(until) else 2)
        if high is not None:  # the last key before the next day; or of its second
            highest = key_of_time(high) - 1 if _exact(until) else key_of_time(high) | KEY_ID_MASK
        if _exact(until):
            del left["until"]

    def bounds(key: Any) -> list[Any]:
        found = []
        if lowest is not None:
            found.append(key >= lowest)
        if highest is not None:
            found.append(key <= highest)
        return found

    return bounds, left


def _exact(day: date) -> bool:
    """Whether the keys bound this day exactly: a date (not a time) within their years."""
    if isinstance(day, datetime):
        return False
    start = _day_start(day, 0)
    end = _day_start(day, 1)
    if start is None or end is None:
        return False
    return key_of_time(start) > FIRST_KEY and key_of_time(end) < LAST_KEY


def _day_start(day: date | datetime, days_later: int) -> datetime | None:
    """The start of `day` (in Asia/Shanghai) plus `days_later`; None off the calendar."""
    if isinstance(day, datetime):
        day = day.date()
    try:
        return datetime.combine(day, time.min, tzinfo=SHANGHAI) + timedelta(days=days_later)
    except OverflowError:
        return None


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


def search_plan(session: Session, query: str, *, sort: str = "newest", **filters: Any) -> str:
    """The database's plan for the search part of a query (tests check it uses the index and
    stops early)."""
    matches = _Matches(session, _checked_phrases(query), **filters)
    wanted = DEFAULT_LIMIT if sort == "newest" else RELEVANCE_WINDOW
    statement = matches.statement(matches.key, wanted=wanted).limit(wanted)
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if matches.dialect == "sqlite" else "EXPLAIN "
    rows = session.execute(text(explain + str(compiled))).all()
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


def _ts_query(phrases: list[list[str]]) -> str:
    return " & ".join(_ts_phrase(phrase) for phrase in phrases)


def _ts_all_terms(phrases: list[list[str]]) -> str:
    """A tsquery of every term of the phrases, in any place: what the GIN index answers."""
    return " & ".join(dict.fromkeys(_quoted(term) for phrase in phrases for term in phrase))


def _fts_query(phrases: list[list[str]]) -> str:
    return " AND ".join(_fts_phrase(phrase) for phrase in phrases)


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


def _ts_phrase(phrase: list[str]) -> str:
    return "(" + " <-> ".join(_quoted(term) for term in phrase) + ")"


def _fts_phrase(phrase: list[str]) -> str:
    return '"' + " ".join(term.replace('"', '""') for term in phrase) + '"'


__all__ = [
    "COUNT_CAP",
    "DEFAULT_LIMIT",
    "RELEVANCE_WINDOW",
    "SEARCH_TABLES",
    "SORTS",
    "MatchCount",
    "SearchHit",
    "article_fields",
    "count_search",
    "hit_view",
    "index_article",
    "index_articles",
    "make_snippet",
    "outside_search",
    "search_articles",
    "search_plan",
    "title_matches",
]
