"""Tests for pipelines/catalogue/monitoring.py: each channel's runs as the health checks read
them, from run stats and rejections, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from pipelines.catalogue.monitoring import RunCache, channel_histories
from pipelines.catalogue.walks import WalkState, save_walk
from pipelines.catalogue.writes import finish_run, save_rejection, start_run

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def site_stats(channel: str, articles: int, **extra: Any) -> dict[str, Any]:
    """A crawl's stats for one channel: `articles` normalised, none with a source."""
    return {
        f"cppcc/articles_normalised/{channel}": articles,
        f"cppcc/fields_missing/{channel}/source": articles,
        f"cppcc/fields_fallback/{channel}/title": 1,
        **extra,
    }


def add_run(
    session: Session,
    channels: list[str],
    ended: datetime | None,
    status: str = "finished",
    stats: dict[str, Any] | None = None,
) -> int:
    run_id = start_run(
        session, trigger="schedule", channels=channels, pid=1, host="h",
        started_at=(ended or NOW) - timedelta(minutes=5),
    )  # fmt: skip
    if ended is not None:
        finish_run(
            session, run_id, status=status, finished_at=ended, exit_code=0,
            finish_reason="finished", stats={"rmzxb": stats or {}},
        )  # fmt: skip
    return run_id


def test_a_run_of_two_channels_counts_for_each_with_its_own_coverage(session: Session) -> None:
    stats = {**site_stats("yw", 12), **site_stats("xs", 3)}
    run = add_run(session, ["rmzxb/yw", "rmzxb/xs"], NOW - timedelta(hours=1), stats=stats)
    save_rejection(
        session, url="http://x/c/1.shtml", site="rmzxb", channel="xs", reason="no-date",
        detail=None, location=None, run_id=run, seen_at=NOW,
    )  # fmt: skip
    found = channel_histories(
        session, ["rmzxb/yw", "rmzxb/xs"], since=NOW - timedelta(days=2), recent=3
    )
    [yw] = found["rmzxb/yw"].runs
    [xs] = found["rmzxb/xs"].runs
    assert (yw.run_id, yw.articles, yw.missing, yw.fallback) == (run, 12, {"source": 12},
                                                                 {"title": 1})  # fmt: skip
    assert (xs.articles, xs.rejected, xs.pages) == (3, {"no-date": 1}, 4)
    assert yw.at == NOW - timedelta(hours=1)  # dated by its end
    assert found["rmzxb/yw"].last_finished == yw


def test_old_runs_come_only_as_the_last_few_and_the_last_finished(session: Session) -> None:
    finished = add_run(session, ["rmzxb/yw"], NOW - timedelta(days=30))
    failed = [
        add_run(session, ["rmzxb/yw"], NOW - timedelta(days=20 - n), status="failed")
        for n in range(4)
    ]
    add_run(session, ["rmzxb/yw"], None)  # still running: not there
    history = channel_histories(session, ["rmzxb/yw"], since=NOW - timedelta(days=2), recent=2)[
        "rmzxb/yw"
    ]
    assert [run.run_id for run in history.runs] == [failed[3], failed[2]]  # newest first
    assert history.last_finished is not None and history.last_finished.run_id == finished


def test_a_crawl_given_a_simulated_now_is_dated_by_it(session: Session) -> None:
    simulated = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    stats = site_stats("yw", 1, **{"cppcc/now": simulated.isoformat()})
    add_run(session, ["rmzxb/yw"], NOW, stats=stats)
    [run] = channel_histories(session, ["rmzxb/yw"], since=NOW - timedelta(days=1), recent=1)[
        "rmzxb/yw"
    ].runs
    assert run.at == simulated


def test_a_walk_that_found_a_list_page_empty_and_the_walk_state(session: Session) -> None:
    stats = {
        "cppcc/walk/yw/failed_at": 1,
        "cppcc/walk/yw/failure": "list page 1 http://x/yw/ linked no article of the channel",
        "cppcc/walk/yw/failure_kind": "no-articles",
    }
    add_run(session, ["rmzxb/yw"], NOW, status="failed", stats=stats)
    save_walk(
        session, site="rmzxb", channel="yw", state=WalkState(resume_page=3, last_page=9),
        run_id=None, now=NOW,
    )  # fmt: skip
    history = channel_histories(session, ["rmzxb/yw", "rmzxb/xs"], since=NOW, recent=1)
    [run] = history["rmzxb/yw"].runs
    assert run.empty_list == "list page 1 http://x/yw/ linked no article of the channel"
    assert history["rmzxb/yw"].walk == WalkState(resume_page=3, last_page=9)
    assert history["rmzxb/xs"].runs == () and history["rmzxb/xs"].walk is None


def test_a_cache_reads_each_ended_run_once_and_forgets_those_no_longer_needed(
    session: Session,
) -> None:
    cache: RunCache = {}
    old = add_run(session, ["rmzxb/yw"], NOW - timedelta(days=5), stats=site_stats("yw", 2))
    new = add_run(session, ["rmzxb/yw"], NOW, stats=site_stats("yw", 4))
    channel_histories(session, ["rmzxb/yw"], since=NOW - timedelta(days=10), recent=1, cache=cache)
    assert set(cache) == {old, new}
    # A cached run is not read again: its stats changing (they never do) would not show.
    finish_run(session, new, status="finished", finished_at=NOW, exit_code=0,
               finish_reason="finished", stats={"rmzxb": site_stats("yw", 99)})  # fmt: skip
    history = channel_histories(
        session, ["rmzxb/yw"], since=NOW - timedelta(days=1), recent=1, cache=cache
    )
    assert [run.articles for run in history["rmzxb/yw"].runs] == [4]
    assert set(cache) == {new}
