"""Tests for the order of searches (pipelines/catalogue/search.py, search_index.py): newest
first by publication time, relevance over a bounded window, capped counts, the query plans
that stop early, and the search rows following their articles' dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from pipelines.catalogue import search
from pipelines.catalogue.models import ArticleRecord
from pipelines.catalogue.search import (
    MatchCount,
    count_search,
    index_articles,
    search_articles,
    search_plan,
)
from pipelines.catalogue.search_index import KEY_ID_BITS, sort_key
from pipelines.catalogue.writes import content_values, save_article
from tests.db_fixtures import SHANGHAI, location, make_article

DAY = datetime(2024, 5, 1, 9, 0, tzinfo=SHANGHAI)


def _save(session: Session, number: int, title: str, body: str, published: datetime) -> str:
    url = f"http://www.rmzxb.com.cn/c/order/{number}.shtml"
    article = make_article(url, title=title, paragraphs=(body,), published_at=published)
    save_article(
        session, article=article, site="rmzxb", channel="yw" if number % 2 else "xs",
        captures=[(1, location(f"order-{number}", page_url=url))], run_id=None,
    )  # fmt: skip
    return url


def _urls(session: Session, query: str, **options: object) -> list[str]:
    return [hit.article.url for hit in search_articles(session, query, **options)]  # type: ignore[arg-type]


@pytest.fixture
def out_of_order(session: Session) -> list[str]:
    """Five articles saved in an order other than their publication's; URLs newest first."""
    days = [3, 1, 4, 0, 2]  # the day of each, in the order they are saved
    urls = {day: _save(session, n, f"第{n}期", "政协委员建言。", DAY + timedelta(days=day))
            for n, day in enumerate(days)}  # fmt: skip
    session.flush()
    return [urls[day] for day in sorted(urls, reverse=True)]


def test_newest_first_follows_publication_not_the_order_saved(
    session: Session, out_of_order: list[str]
) -> None:
    assert _urls(session, "政协") == out_of_order
    assert _urls(session, "政协", limit=2, offset=1) == out_of_order[1:3]
    # Filters keep the order; the date filter picks days 1 to 3.
    assert (
        _urls(session, "政协", since=date(2024, 5, 2), until=date(2024, 5, 4))
        == (out_of_order[1:4])
    )
    assert _urls(session, "政协", channel="yw") == [
        url for url in out_of_order if int(url.rsplit("/", 1)[1].split(".")[0]) % 2
    ]


def test_same_second_articles_come_newest_id_first(session: Session) -> None:
    first = _save(session, 1, "甲", "政协", DAY)
    second = _save(session, 2, "乙", "政协", DAY)
    assert _urls(session, "政协") == [second, first]


def test_relevance_ranks_title_hits_first_then_the_rest(
    session: Session, out_of_order: list[str]
) -> None:
    in_title = _save(session, 9, "政协委员履职", "会议。", DAY - timedelta(days=30))
    assert _urls(session, "政协", sort="relevance")[0] == in_title
    assert _urls(session, "政协")[-1] == in_title  # the oldest: last, newest first
    assert search_articles(session, "政协", sort="relevance")[0].title_match


def test_relevance_ranks_only_the_newest_window_then_goes_on_newest_first(
    session: Session, out_of_order: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    in_title = _save(session, 9, "政协委员履职", "会议。", DAY - timedelta(days=30))
    monkeypatch.setattr(search, "RELEVANCE_WINDOW", 3)
    everything = _urls(session, "政协", sort="relevance", limit=None)
    # The window (the 3 newest) is ranked; the title hit is older, so it comes in its turn.
    assert everything[:3] == out_of_order[:3]
    assert everything[3:] == [*out_of_order[3:], in_title]
    pages = [_urls(session, "政协", sort="relevance", limit=2, offset=o) for o in (0, 2, 4)]
    assert [url for page in pages for url in page] == everything


def test_a_count_stops_at_its_cap_and_says_so(session: Session, out_of_order: list[str]) -> None:
    assert count_search(session, "政协") == MatchCount(5, exact=True)
    capped = count_search(session, "政协", cap=3)
    assert capped == MatchCount(3, exact=False)
    assert str(capped) == "more than 3" and capped.more_than(3)
    assert count_search(session, "政协", cap=5) == MatchCount(5, exact=True)
    assert not count_search(session, "政协", cap=5).more_than(5)


def test_an_article_whose_date_changes_moves_and_keeps_one_row(
    session: Session, out_of_order: list[str]
) -> None:
    oldest = out_of_order[-1]
    edited = make_article(oldest, title="改期", paragraphs=("政协委员再建言。",),
                          published_at=DAY + timedelta(days=10))  # fmt: skip
    save_article(
        session, article=edited, site="rmzxb", channel="xs",
        captures=[(1, location("order-edit", page_url=oldest))], run_id=None,
    )  # fmt: skip
    assert _urls(session, "政协") == [oldest, *out_of_order[:-1]]
    assert _urls(session, "再建言") == [oldest]


def test_the_search_row_follows_a_date_changed_by_sql_and_goes_with_its_article(
    session: Session, out_of_order: list[str]
) -> None:
    """The triggers of migration 0010: whoever changes the date or deletes the article."""
    oldest = out_of_order[-1]
    row = session.scalars(select(ArticleRecord).where(ArticleRecord.url == oldest)).one()
    row.published_at = DAY + timedelta(days=20)
    session.flush()
    assert _urls(session, "政协")[0] == oldest
    session.execute(delete(ArticleRecord).where(ArticleRecord.url == oldest))
    assert _urls(session, "政协") == out_of_order[:-1]
    assert count_search(session, "政协") == MatchCount(4, exact=True)


def test_sort_keys_order_by_time_then_id() -> None:
    assert sort_key(DAY, 2) > sort_key(DAY, 1)
    assert sort_key(DAY + timedelta(seconds=1), 1) > sort_key(DAY, 2**KEY_ID_BITS - 1)
    assert sort_key(DAY.replace(microsecond=999_999), 1) == sort_key(DAY, 1)
    assert sort_key(datetime(1960, 1, 1, tzinfo=SHANGHAI), 5) < sort_key(DAY, 1)
    with pytest.raises(ValueError, match="does not fit"):
        sort_key(DAY, 2**KEY_ID_BITS)


def test_an_unknown_sort_is_a_usage_error(session: Session) -> None:
    from pipelines.errors import UsageError

    with pytest.raises(UsageError, match="newest, relevance"):
        search_articles(session, "政协", sort="oldest")


COMMON_ROWS = 3000


@pytest.fixture
def common_term(session: Session) -> None:
    """COMMON_ROWS articles, '政协' in 9 of 10 and '锂矿' in 1 of 300, indexed in one
    statement and ANALYZEd: what a planner meets in a real catalogue."""
    rows = []
    for number in range(COMMON_ROWS):
        body = ("政协委员建言献策。" if number % 10 else "天气晴朗。") + (
            "锂矿" * (number % 300 == 7)
        )
        article = make_article(f"http://www.rmzxb.com.cn/c/plan/{number}.shtml",
                               title=f"第{number}期", paragraphs=(body,),
                               published_at=DAY + timedelta(minutes=number))  # fmt: skip
        seen = article.published_at
        rows.append({"id": 10_000 + number, "url": article.url, "site": "rmzxb",
                     "channel": "yw", "first_seen_at": seen, "last_seen_at": seen,
                     **content_values(article, seen)})  # fmt: skip
    session.execute(insert(ArticleRecord), rows)
    assert index_articles(session, [SimpleNamespace(**row) for row in rows]) == COMMON_ROWS
    session.execute(text("ANALYZE"))


def test_a_common_term_newest_first_reads_the_index_backwards_and_stops(
    session: Session, common_term: None
) -> None:
    plan = search_plan(session, "政协")
    if session.get_bind().dialect.name == "postgresql":
        assert "Index Scan Backward using ix_article_search_sort_key" in plan, plan
        assert "Sort" not in plan, plan
    else:
        assert "VIRTUAL TABLE INDEX" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # no sort of all matches
    filtered = search_plan(session, "政协", channel="yw", since=date(2024, 5, 1))
    assert "TEMP B-TREE" not in filtered and "Sort" not in filtered, filtered
    assert len(search_articles(session, "政协", limit=20)) == 20
    hits = search_articles(session, "政协", limit=3)
    assert [hit.article.id for hit in hits] == [10_000 + COMMON_ROWS - 1, 10_000 + COMMON_ROWS - 2,
                                                10_000 + COMMON_ROWS - 3]  # fmt: skip


def test_a_rare_term_goes_through_the_term_index(session: Session, common_term: None) -> None:
    plan = search_plan(session, "锂矿")
    if session.get_bind().dialect.name == "postgresql":
        assert "ix_article_search_document" in plan, plan
    else:
        assert "VIRTUAL TABLE INDEX" in plan, plan
    assert len(search_articles(session, "锂矿", limit=None)) == COMMON_ROWS // 300


def test_dates_beyond_the_keys_range_are_searched_at_its_ends(
    session: Session, out_of_order: list[str]
) -> None:
    future = _save(session, 7, "远期", "政协", datetime(2400, 1, 1, tzinfo=SHANGHAI))
    past = _save(session, 8, "远古", "政协", datetime(1500, 1, 1, tzinfo=SHANGHAI))
    assert _urls(session, "政协") == [future, *out_of_order, past]
    assert _urls(session, "政协", since=date(2300, 1, 1)) == [future]
    assert _urls(session, "政协", until=date(1600, 1, 1)) == [past]
    moved = make_article(past, title="远古", paragraphs=("政协改期。",),
                         published_at=datetime(2500, 1, 1, tzinfo=SHANGHAI))  # fmt: skip
    save_article(
        session, article=moved, site="rmzxb", channel="xs",
        captures=[(1, location("order-far", page_url=past))], run_id=None,
    )  # fmt: skip
    assert _urls(session, "政协") == [past, future, *out_of_order]  # the same second: by id


PHRASE_ROWS = 600


@pytest.fixture
def phrase_among_its_terms(session: Session) -> list[int]:
    """PHRASE_ROWS articles (ANALYZEd), the phrase '量子通信' in 1 of 30 and its three bigrams
    apart (量子, 子通, 通信, never adjacent) in 1 of 10, the others without them; the ids
    with the phrase, newest first."""
    rows, phrased = [], []
    for number in range(PHRASE_ROWS):
        if number % 30 == 7:
            body, title = "量子通信实验网建成。", ("量子通信" if number % 60 == 7 else "第期")
            phrased.append(20_000 + number)
        else:
            body, title = ("量子力学,子通道,通信网。" if number % 10 == 1 else "天气晴朗。"), "第期"
        article = make_article(f"http://www.rmzxb.com.cn/c/phrase/{number}.shtml",
                               title=title, paragraphs=(body,),
                               published_at=DAY + timedelta(minutes=number))  # fmt: skip
        seen = article.published_at
        rows.append({"id": 20_000 + number, "url": article.url, "site": "rmzxb",
                     "channel": "yw" if number % 4 == 3 else "xs", "first_seen_at": seen,
                     "last_seen_at": seen, **content_values(article, seen)})  # fmt: skip
    session.execute(insert(ArticleRecord), rows)
    index_articles(session, [SimpleNamespace(**row) for row in rows])
    session.execute(text("ANALYZE"))
    return phrased[::-1]


def _ids(session: Session, query: str, **options: object) -> list[int]:
    return [hit.article.id for hit in search_articles(session, query, **options)]  # type: ignore[arg-type]


def test_a_phrase_among_its_scattered_terms_finds_the_phrase_alone_newest_first(
    session: Session, phrase_among_its_terms: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    phrased = phrase_among_its_terms
    assert _ids(session, "量子通信", limit=None) == phrased
    assert _ids(session, "量子通信", limit=5, offset=3) == phrased[3:8]
    assert count_search(session, "量子通信") == MatchCount(len(phrased), exact=True)
    assert count_search(session, "量子通信", cap=4) == MatchCount(4, exact=False)
    in_channel = [i for i in phrased if i % 4 == 3]  # channel yw: numbers 3 mod 4
    assert in_channel and _ids(session, "量子通信", channel="yw", limit=None) == in_channel
    # With another phrase and a repeated term; relevance: title hits first in its window.
    assert _ids(session, "实验网 量子通信 通信", limit=None) == phrased
    monkeypatch.setattr(search, "RELEVANCE_WINDOW", 6)
    titled = [i for i in phrased[:6] if (i - 20_000) % 60 == 7]
    ranked = [*titled, *(i for i in phrased[:6] if i not in titled), *phrased[6:]]
    assert _ids(session, "量子通信", sort="relevance", limit=None) == ranked


def test_a_phrase_from_the_term_index_is_checked_after_its_candidates_are_sorted(
    session: Session, phrase_among_its_terms: list[int]
) -> None:
    """On PostgreSQL the GIN index answers 'every term' exactly and the phrase is checked
    row by row above the sort, so a page reads the tsvectors of its rows alone; checked in
    the index's scan, the tsvector of every candidate was read (140 ms at 4,000)."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite FTS5 checks a phrase in its own index")
    lines = search_plan(session, "量子通信").splitlines()
    conditions = [line for line in lines if "Cond:" in line]
    assert any("ix_article_search_document" in line for line in lines), lines
    assert conditions and not any("<->" in line for line in conditions), lines
    phrase_filter = next(n for n, line in enumerate(lines) if "Filter:" in line and "<->" in line)
    sort = next(n for n, line in enumerate(lines) if "Sort" in line)
    assert phrase_filter < sort, lines  # above it: evaluated on the sorted rows, until the limit
