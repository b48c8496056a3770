"""Tests for pipelines/catalogue/lifecycle.py: withdrawals recorded once, restorations, reads."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from sqlalchemy.orm import Session

from pipelines.catalogue.lifecycle import (
    Withdrawal,
    count_withdrawn,
    save_withdrawals,
    withdrawal_reasons,
    withdrawn_articles,
)
from pipelines.catalogue.queries import find_article
from pipelines.catalogue.writes import save_article
from tests.db_fixtures import FETCHED, URL, location, make_article

LATER = FETCHED + timedelta(days=2)


def _saved(session: Session, url: str = URL) -> None:
    save_article(session, article=make_article(url), site="rmzxb", channel="yw",
                 captures=[(1, location(url[-12:], page_url=url))], run_id=None)  # fmt: skip


def _gone(record: str, at: object = LATER, url: str = URL) -> Withdrawal:
    evidence = dataclasses.replace(location(record, page_url=url), status=404, fetched_at=at)
    return Withdrawal(url, "http-404", evidence, evidence.fetched_at)


def _withdraw(session: Session, *withdrawals: Withdrawal) -> int:
    return save_withdrawals(session, site="rmzxb", channel="yw", withdrawals=withdrawals,
                            run_id=None)  # fmt: skip


def test_a_withdrawal_is_recorded_once_with_its_evidence(session: Session) -> None:
    _saved(session)
    assert _withdraw(session, _gone("a")) == 1
    assert _withdraw(session, _gone("b", LATER + timedelta(hours=1))) == 0  # still withdrawn
    row = find_article(session, URL)
    assert row is not None and row.withdrawn_at == LATER
    (event,) = row.events
    assert (event.kind, event.reason, event.status, event.record_id) == (
        "withdrawn",
        "http-404",
        404,
        "<urn:uuid:a>",
    )


def test_a_withdrawal_older_than_the_last_sight_of_the_article_is_ignored(
    session: Session,
) -> None:
    _saved(session)
    assert _withdraw(session, _gone("a", FETCHED - timedelta(hours=1))) == 0
    assert _withdraw(session, Withdrawal(URL + "x", "http-404", None, LATER)) == 0  # unknown
    row = find_article(session, URL)
    assert row is not None and row.withdrawn_at is None and row.events == []


def test_an_article_seen_again_after_its_withdrawal_is_restored(session: Session) -> None:
    _saved(session)
    _withdraw(session, _gone("a"))
    article = make_article()
    # A capture from before the withdrawal (reindexed out of order) restores nothing.
    save_article(session, article=article, site="rmzxb", channel="yw",
                 captures=[(1, location("old", fetched_at=FETCHED + timedelta(days=1)))],
                 run_id=None)  # fmt: skip
    row = find_article(session, URL)
    assert row is not None and row.withdrawn_at == LATER
    save_article(session, article=article, site="rmzxb", channel="yw",
                 captures=[(1, location("back", fetched_at=LATER + timedelta(days=1)))],
                 run_id=None)  # fmt: skip
    session.expire_all()
    row = find_article(session, URL)
    assert row is not None and row.withdrawn_at is None
    assert [(e.kind, e.reason, e.record_id) for e in row.events] == [
        ("withdrawn", "http-404", "<urn:uuid:a>"),
        ("restored", "found again", "<urn:uuid:back>"),
    ]


def test_withdrawn_articles_newest_withdrawal_first_bounded_by_its_day(session: Session) -> None:
    urls = [URL.replace("3066001", f"306600{n}") for n in range(2, 5)]
    for url in urls:
        _saved(session, url)
    _withdraw(session, _gone("w0", LATER, urls[0]), _gone("w1", LATER + timedelta(days=3), urls[1]))
    rows = withdrawn_articles(session)
    assert [row.url for row in rows] == [urls[1], urls[0]]
    day = LATER.date() + timedelta(days=1)  # the day after the first withdrawal, in Beijing
    assert [row.url for row in withdrawn_articles(session, since=day)] == [urls[1]]
    assert [row.url for row in withdrawn_articles(session, until=day)] == [urls[0]]
    assert count_withdrawn(session, since=date(2000, 1, 1)) == 2
    assert count_withdrawn(session, channel="xs") == 0
    assert withdrawal_reasons(session, [row.id for row in rows]) == {
        rows[0].id: "http-404",
        rows[1].id: "http-404",
    }
