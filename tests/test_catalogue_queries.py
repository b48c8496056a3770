"""Tests for pipelines/catalogue/queries.py: filters, newest first, look-up by id or URL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

from pipelines.catalogue.counts import MatchCount
from pipelines.catalogue.locks import acquire_channel_locks
from pipelines.catalogue.models import ArticleRecord
from pipelines.catalogue.queries import (
    article_months,
    count_articles,
    find_article,
    get_run,
    held_locks,
    last_finished_by_channel,
    last_runs_by_channel,
    list_articles,
    list_runs,
)
from pipelines.catalogue.views import article_summary
from pipelines.catalogue.writes import finish_run, save_article, start_run
from tests.db_fixtures import SHANGHAI, location, make_article

BASE = "https://www.rmzxw.com.cn/c/"


def add(
    session: Session, name: str, published_at: datetime, site: str = "rmzxb", channel: str = "yw"
) -> None:
    save_article(
        session,
        article=make_article(url=BASE + name, title=name, published_at=published_at),
        site=site,
        channel=channel,
        captures=[(1, location(name, page_url=BASE + name))],
        run_id=None,
    )


def titles(rows: list[ArticleRecord]) -> list[str]:
    return [row.title for row in rows]


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 3, day, hour, minute, tzinfo=SHANGHAI)


def seed(session: Session) -> None:
    add(session, "d3-late", shanghai(3, 23, 59))
    add(session, "d4-early", shanghai(4, 0, 0))
    add(session, "d4-noon", shanghai(4, 12), channel="xs")
    add(session, "d4-last", shanghai(4, 23, 59))
    add(session, "d5-early", shanghai(5, 0, 0), site="cppcc")
    session.commit()


def test_newest_first(session: Session) -> None:
    seed(session)
    assert titles(list_articles(session)) == [
        "d5-early",
        "d4-last",
        "d4-noon",
        "d4-early",
        "d3-late",
    ]


def test_ties_are_broken_by_newest_id(session: Session) -> None:
    add(session, "first", shanghai(4, 9))
    add(session, "second", shanghai(4, 9))
    assert titles(list_articles(session)) == ["second", "first"]


def test_order_is_by_instant_whatever_the_offset_given(session: Session) -> None:
    # 20:00 UTC on the 3rd is 04:00 on the 4th in Shanghai: later than 01:00 +08:00.
    add(session, "utc", datetime(2022, 3, 3, 20, 0, tzinfo=UTC))
    add(session, "cst", shanghai(4, 1))
    assert titles(list_articles(session)) == ["utc", "cst"]


def test_site_and_channel_filters(session: Session) -> None:
    seed(session)
    assert titles(list_articles(session, site="cppcc")) == ["d5-early"]
    assert titles(list_articles(session, channel="xs")) == ["d4-noon"]
    assert titles(list_articles(session, site="rmzxb", channel="yw")) == [
        "d4-last",
        "d4-early",
        "d3-late",
    ]
    assert list_articles(session, site="nosuch") == []


def test_since_and_until_are_whole_shanghai_days(session: Session) -> None:
    seed(session)
    day = date(2022, 3, 4)
    assert titles(list_articles(session, since=day, until=day)) == [
        "d4-last",
        "d4-noon",
        "d4-early",
    ]
    assert titles(list_articles(session, until=date(2022, 3, 3))) == ["d3-late"]
    assert titles(list_articles(session, since=date(2022, 3, 5))) == ["d5-early"]


def test_since_and_until_datetimes_are_inclusive_instants(session: Session) -> None:
    seed(session)
    noon_utc = datetime(2022, 3, 4, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    assert titles(list_articles(session, since=noon_utc, until=shanghai(4, 23, 59))) == [
        "d4-last",
        "d4-noon",
    ]
    naive_noon = datetime(2022, 3, 4, 12, 0)  # noqa: DTZ001 — read as Asia/Shanghai on purpose
    assert titles(list_articles(session, until=naive_noon)) == ["d4-noon", "d4-early", "d3-late"]
    plus9 = timezone(timedelta(hours=9))
    assert titles(list_articles(session, until=datetime(2022, 3, 4, 1, 0, tzinfo=plus9))) == [
        "d4-early",
        "d3-late",
    ]


def test_limit(session: Session) -> None:
    seed(session)
    assert titles(list_articles(session, limit=2)) == ["d5-early", "d4-last"]
    assert len(list_articles(session, limit=None)) == 5


def test_pages_by_offset_and_the_count_of_all(session: Session) -> None:
    seed(session)
    everything = titles(list_articles(session, limit=None))
    pages = [titles(list_articles(session, limit=2, offset=at)) for at in (0, 2, 4, 6)]
    assert pages == [everything[0:2], everything[2:4], everything[4:], []]
    assert count_articles(session) == MatchCount(5, exact=True)
    assert count_articles(session, site="rmzxb", until=date(2022, 3, 4)) == MatchCount(4, True)
    in_xs = len(list_articles(session, channel="xs"))
    assert count_articles(session, channel="xs") == MatchCount(in_xs, exact=True)
    none_edited = count_articles(session, changed_since=date(2022, 1, 1))
    assert none_edited == MatchCount(0, exact=True)


def test_the_count_stops_at_its_cap_and_says_more(session: Session) -> None:
    seed(session)
    assert count_articles(session, cap=3) == MatchCount(3, exact=False)
    assert str(count_articles(session, cap=3)) == "more than 3"
    assert count_articles(session, cap=5) == MatchCount(5, exact=True)  # as many as the cap
    assert count_articles(session, site="rmzxb", until=date(2022, 3, 4), cap=3) == MatchCount(
        3, exact=False
    )


def test_the_count_reads_one_row_past_its_cap_and_no_more(session: Session) -> None:
    seed(session)
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sent.append((statement, parameters))

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", record)
    try:
        count_articles(session, channel="yw", cap=2)
    finally:
        event.remove(connection, "before_cursor_execute", record)
    ((statement, parameters),) = sent
    values = parameters.values() if isinstance(parameters, dict) else parameters
    assert " LIMIT " in statement and 3 in values  # not a count(*) of every article


def test_months_of_a_channel_by_shanghai_time(session: Session) -> None:
    seed(session)
    add(session, "feb-last", datetime(2022, 2, 28, 23, 30, tzinfo=SHANGHAI))  # 15:30 UTC
    add(session, "apr-first", datetime(2022, 4, 1, 0, 30, tzinfo=SHANGHAI))  # 31 March UTC
    # In daylight-saving time (UTC+9, 1986-1991): 15:30 UTC on 31 July, August in Shanghai.
    add(session, "aug-first-1990", datetime(1990, 8, 1, 0, 30, tzinfo=SHANGHAI))
    session.commit()
    assert article_months(session, site="rmzxb", channel="yw") == [
        ("2022-04", 1), ("2022-03", 3), ("2022-02", 1), ("1990-08", 1),
    ]  # fmt: skip
    assert article_months(session, site="rmzxb", channel="none") == []


def test_a_summary_list_shows_the_same_lines_and_reads_no_body(session: Session) -> None:
    seed(session)
    session.expunge_all()  # rows loaded by seed() would be handed back whole
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", record)
    try:
        summaries = list_articles(session, channel="yw", summary_only=True)
    finally:
        event.remove(connection, "before_cursor_execute", record)
    lines = [article_summary(row) for row in summaries]
    (select,) = statements
    assert "paragraphs" not in select and "images" not in select and "keywords" not in select
    with pytest.raises(InvalidRequestError):
        _ = summaries[0].paragraphs  # a caller wanting the body must ask for full rows
    session.expunge_all()
    assert lines == [article_summary(row) for row in list_articles(session, channel="yw")]
    assert [line["title"] for line in lines] == ["d5-early", "d4-last", "d4-early", "d3-late"]


def test_find_article_by_id_or_url(session: Session) -> None:
    seed(session)
    row = find_article(session, BASE + "d4-noon")
    assert row is not None
    assert row.title == "d4-noon"
    assert find_article(session, str(row.id)) is row
    assert [c.record_id for c in row.captures] == ["<urn:uuid:d4-noon>"]
    assert find_article(session, BASE + "missing") is None
    assert find_article(session, "999999999") is None


def test_runs_newest_first_and_by_id(session: Session) -> None:
    start = datetime(2022, 3, 4, tzinfo=UTC)
    ids = [
        start_run(
            session,
            trigger="schedule",
            channels=["rmzxb/yw"],
            pid=n,
            host="h",
            started_at=start + timedelta(hours=n),
        )
        for n in range(3)
    ]
    assert [run.id for run in list_runs(session)] == ids[::-1]
    assert [run.id for run in list_runs(session, limit=1)] == ids[-1:]
    run = get_run(session, ids[1])
    assert run is not None
    assert run.pid == 1
    assert get_run(session, 999_999) is None


def test_last_runs_by_channel(session: Session) -> None:
    start = datetime(2022, 3, 4, tzinfo=UTC)

    def started(channels: list[str], hours: int, status: str | None = None) -> int:
        run_id = start_run(session, trigger="schedule", channels=channels, pid=1, host="h",
                           started_at=start + timedelta(hours=hours))  # fmt: skip
        if status is not None:
            finish_run(session, run_id, status=status, finished_at=start + timedelta(hours=hours),
                       exit_code=0, finish_reason=None)  # fmt: skip
        return run_id

    both = started(["rmzxb/yw", "rmzxb/xs"], 0, "finished")
    yw_failed = started(["rmzxb/yw"], 1, "failed")
    xs_finished = started(["rmzxb/xs"], 2, "finished")
    yw_running = started(["rmzxb/yw"], 3)
    other_site = started(["cppcc/yw"], 4, "interrupted")
    session.commit()

    last = last_runs_by_channel(session)
    assert {key: run.id for key, run in last.items()} == {
        "cppcc/yw": other_site,
        "rmzxb/xs": xs_finished,
        "rmzxb/yw": yw_running,
    }
    assert last["rmzxb/yw"].started_at == start + timedelta(hours=3)
    assert list(last) == sorted(last)
    finished = last_finished_by_channel(session)
    assert {key: run.id for key, run in finished.items()} == {
        "rmzxb/xs": xs_finished,
        "rmzxb/yw": both,  # not the failed run, nor the one still running
    }
    assert yw_failed not in {run.id for run in finished.values()}
    # Asked for some channels: only those, and one never run is simply absent.
    chosen = last_runs_by_channel(session, ["rmzxb/yw", "rmzxb/new"])
    assert {key: run.id for key, run in chosen.items()} == {"rmzxb/yw": yw_running}
    assert last_finished_by_channel(session, ["cppcc/yw"]) == {}


def test_held_locks_by_channel(session: Session) -> None:
    now = datetime(2022, 3, 4, tzinfo=UTC)
    run_id = start_run(session, trigger="manual", channels=["rmzxb/yw", "cppcc/xs"], pid=7,
                       host="h", started_at=now)  # fmt: skip
    assert held_locks(session) == []
    acquire_channel_locks(session, ["rmzxb/yw", "cppcc/xs"], run_id=run_id, host="h", pid=7,
                          now=now, is_alive=lambda _host, _pid: True,
                          stale_after=timedelta(minutes=2))  # fmt: skip
    assert [(lock.key, lock.run_id, lock.pid) for lock in held_locks(session)] == [
        ("cppcc/xs", run_id, 7),
        ("rmzxb/yw", run_id, 7),
    ]
