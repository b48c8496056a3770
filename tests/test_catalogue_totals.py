"""Tests for pipelines/catalogue/totals.py: the metrics' running totals, on SQLite and PostgreSQL
(run durations are computed by each back end in its own SQL)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from pipelines.catalogue.lifecycle import Withdrawal, save_withdrawals
from pipelines.catalogue.totals import (
    DURATION_BUCKETS,
    WarcBytesTally,
    article_totals,
    rejection_totals,
    run_durations,
    runs_by_status,
    withdrawal_totals,
)
from pipelines.catalogue.writes import finish_run, save_article, save_rejection, start_run
from tests.db_fixtures import FETCHED, location, make_article

START = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def run(
    session: Session, channels: list[str], seconds: float | None, status: str = "finished",
    warc_bytes: int = 0,
) -> int:  # fmt: skip
    run_id = start_run(
        session, trigger="schedule", channels=channels, pid=1, host="h", started_at=START
    )
    if seconds is not None:
        finish_run(
            session, run_id, status=status, finished_at=START + timedelta(seconds=seconds),
            exit_code=0, finish_reason="finished",
            stats={channels[0].split("/")[0]: {"cppcc/warc/bytes": warc_bytes}},
        )  # fmt: skip
    return run_id


def test_runs_by_channel_and_status_ended_ones_only(session: Session) -> None:
    run(session, ["rmzxb/yw", "rmzxb/xs"], 10)
    run(session, ["rmzxb/yw"], 10, status="failed")
    run(session, ["rmzxb/yw"], None)  # running
    assert runs_by_status(session) == {
        ("rmzxb", "xs", "finished"): 1,
        ("rmzxb", "yw", "finished"): 1,
        ("rmzxb", "yw", "failed"): 1,
    }


def test_durations_fall_in_cumulative_buckets(session: Session) -> None:
    for seconds in (5.5, 45, 45, 4000):
        run(session, ["rmzxb/yw"], seconds)
    found = run_durations(session)[("rmzxb", "yw")]
    assert found.count == 4
    assert abs(found.total - 4095.5) < 0.01  # to the millisecond on both back ends
    by_bound = dict(zip(DURATION_BUCKETS, found.buckets, strict=True))
    assert (by_bound[10], by_bound[30], by_bound[60], by_bound[3600], by_bound[7200]) == (
        1, 1, 3, 3, 4,
    )  # fmt: skip


def test_articles_new_and_updated_by_the_channel_that_found_them(session: Session) -> None:
    url = "https://www.rmzxw.com.cn/c/2022-03-04/1.shtml"
    for title in ("first", "edited", "edited again"):
        save_article(
            session, article=make_article(url=url, title=title), site="rmzxb", channel="yw",
            captures=[(1, location(title, page_url=url))], run_id=None,
        )  # fmt: skip
    other = "https://www.rmzxw.com.cn/c/2022-03-04/2.shtml"
    save_article(
        session, article=make_article(url=other), site="rmzxb", channel="xs",
        captures=[(1, location("other", page_url=other))], run_id=None,
    )  # fmt: skip
    assert article_totals(session) == {("rmzxb", "yw"): (1, 2), ("rmzxb", "xs"): (1, 0)}


def test_withdrawn_now_and_withdrawals_ever_by_channel(session: Session) -> None:
    urls = [f"https://www.rmzxw.com.cn/c/2022-03-04/{n}.shtml" for n in range(3)]
    for url in urls:
        save_article(
            session, article=make_article(url=url), site="rmzxb", channel="yw",
            captures=[(1, location(url[-8:], page_url=url))], run_id=None,
        )  # fmt: skip
    other = "https://www.rmzxw.com.cn/c/2022-03-04/9.shtml"
    save_article(
        session, article=make_article(url=other), site="rmzxb", channel="xs",
        captures=[(1, location("other", page_url=other))], run_id=None,
    )  # fmt: skip

    def gone(url: str, days: int) -> Withdrawal:
        at = FETCHED + timedelta(days=days)
        evidence = dataclasses.replace(
            location(f"gone{days}{url[-8:]}", page_url=url), status=404, fetched_at=at
        )
        return Withdrawal(url, "http-404", evidence, at)

    save_withdrawals(session, site="rmzxb", channel="yw",
                     withdrawals=[gone(urls[0], 2), gone(urls[1], 2)], run_id=None)  # fmt: skip
    # urls[1] is found again, then withdrawn once more: one withdrawn now, three withdrawals.
    back = FETCHED + timedelta(days=3)
    save_article(
        session, article=make_article(url=urls[1]), site="rmzxb", channel="yw",
        captures=[(1, location("back", page_url=urls[1], fetched_at=back))], run_id=None,
    )  # fmt: skip
    save_withdrawals(session, site="rmzxb", channel="yw",
                     withdrawals=[gone(urls[1], 4)], run_id=None)  # fmt: skip
    save_article(
        session, article=make_article(url=urls[0]), site="rmzxb", channel="yw",
        captures=[(1, location("back0", page_url=urls[0], fetched_at=FETCHED + timedelta(days=5)))],
        run_id=None,
    )  # fmt: skip
    assert withdrawal_totals(session) == {("rmzxb", "yw"): (1, 3), ("rmzxb", "xs"): (0, 0)}


def test_rejections_by_reason(session: Session) -> None:
    for reason in ("no-date", "no-date", "no-title"):
        save_rejection(
            session, url="http://x/c/1.shtml", site="rmzxb", channel="yw", reason=reason,
            detail=None, location=None, run_id=None, seen_at=START,
        )  # fmt: skip
    assert rejection_totals(session) == {
        ("rmzxb", "yw", "no-date"): 2,
        ("rmzxb", "yw", "no-title"): 1,
    }


def test_warc_bytes_count_each_run_once_when_it_has_ended(session: Session) -> None:
    tally = WarcBytesTally()
    run(session, ["rmzxb/yw"], 10, warc_bytes=100)
    long_run = run(session, ["rmzxb/xs"], None)
    run(session, ["cppcc/yw"], 10, warc_bytes=7)
    assert tally.refresh(session) == {"rmzxb": 100, "cppcc": 7}
    assert tally.refresh(session) == {"rmzxb": 100, "cppcc": 7}  # nothing new: nothing added
    # The run that was going ends after later ones: counted then, and only then.
    finish_run(session, long_run, status="failed", finished_at=START, exit_code=1,
               finish_reason="finished", stats={"rmzxb": {"cppcc/warc/bytes": 20}})  # fmt: skip
    run(session, ["rmzxb/yw"], 10, warc_bytes=1)
    assert tally.refresh(session) == {"rmzxb": 121, "cppcc": 7}
    assert tally.refresh(session) == {"rmzxb": 121, "cppcc": 7}
