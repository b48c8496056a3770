"""Tests for pipelines/health/checks.py (and its settings): each check, just inside and just
past its threshold."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.catalogue.monitoring import ChannelHistory, ChannelRun
from pipelines.catalogue.walks import WalkState
from pipelines.errors import ConfigError
from pipelines.health.checks import CHECKS, Problem, channel_facts, channel_problems
from pipelines.health.settings import HealthSettings

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
SETTINGS = HealthSettings()
COMPLETE = WalkState(completed_at=NOW - 10 * HOUR)
_ids = iter(range(1000, 0, -1))  # newest first, as a history lists them


def run(
    hours_ago: float, status: str = "finished", articles: int = 0, **extra: object
) -> ChannelRun:
    return ChannelRun(
        run_id=next(_ids), channel="rmzxb/yw", status=status, at=NOW - hours_ago * HOUR,
        articles=articles, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def problems(
    *runs: ChannelRun,
    walk: WalkState | None = COMPLETE,
    interval: timedelta = HOUR,
    settings: HealthSettings = SETTINGS,
) -> list[Problem]:
    finished = [r for r in runs if r.status == "finished"]
    history = ChannelHistory(runs, finished[0] if finished else None, walk)
    facts = channel_facts("rmzxb/yw", interval, history, NOW, settings)
    return channel_problems(facts, settings, NOW)


def checks(*runs: ChannelRun, **options: object) -> list[str]:
    return [problem.check for problem in problems(*runs, **options)]  # type: ignore[arg-type]


def test_a_channel_crawled_on_time_with_its_usual_coverage_is_healthy() -> None:
    assert problems(run(0.5, articles=3)) == []


def test_stale_after_three_schedule_intervals_without_a_finished_run() -> None:
    assert checks(run(2.9)) == []
    [problem] = problems(run(3.1), run(5))
    assert (
        problem.check == "stale" and "more than 3 × its schedule interval of 1 h" in problem.message
    )
    assert checks(run(0.5, status="failed"), run(3.1)) == [
        "stale"
    ]  # a failure keeps nothing current
    assert checks(run(3.1), settings=replace(SETTINGS, stale_intervals=4)) == []


def test_a_channel_that_never_finished_a_run_is_stale_and_nothing_else() -> None:
    [problem] = problems(walk=None)
    assert problem.message == "no run has finished yet (its schedule: every 1 h)"


def test_failing_counts_failures_in_a_row_stepping_over_interrupted_runs() -> None:
    newest = run(0.1, "failed", error="yw: list page 1 http://x answered 503")
    failed = [newest, run(0.2, "interrupted"), run(0.3, "failed"), run(0.4, "failed"), run(0.5)]
    [problem] = problems(*failed)
    assert problem.check == "failing"
    assert problem.message.startswith(
        f"its last 3 runs failed; the newest, run {failed[0].run_id}:"
    )
    assert problem.message.endswith("answered 503")
    assert checks(*failed[:3], run(0.35), failed[4]) == []  # a finished run in between
    assert checks(failed[0], run(0.5), settings=replace(SETTINGS, failed_runs=1)) == ["failing"]


def test_an_empty_list_page_is_a_problem_while_it_is_the_last_run() -> None:
    empty = {"failure_kind": "no-articles", "failure": "list page 1 http://x/ linked no article"}
    last = run(0.1, "failed", walk=empty)
    [problem] = problems(last, run(0.5))
    assert problem.line() == (
        f"rmzxb/yw: empty-list: list page 1 http://x/ linked no article (run {last.run_id})"
    )
    assert checks(run(0.1), run(0.2, "failed", walk=empty)) == []  # it answered since
    assert checks(run(0.1, "failed", walk={"failure_kind": "http-503"}), run(0.5)) == []


def test_a_backlog_not_walked_to_its_end() -> None:
    [problem] = problems(run(0.5), walk=WalkState(resume_page=12, last_page=30))
    assert problem.check == "backlog" and "walked to page 12 of 30" in problem.message
    assert checks(run(0.5), walk=None) == ["backlog"]  # ran, yet no walk recorded


def drifted(window: ChannelRun) -> list[Problem]:
    baseline = [run(24 * day + 1, articles=20) for day in range(1, 4)]
    return problems(window, *baseline)


def test_field_drift_at_twenty_points_below_the_median_with_ten_articles() -> None:
    [problem] = drifted(run(1, articles=10, missing={"source": 2}))
    assert (problem.check, problem.field) == ("field-drift", "source")
    assert problem.line() == (
        "rmzxb/yw: field-drift: source: found by the site profile's selectors in 80% of 10 "
        "articles in the last 1 d, against a trailing median of 100%"
    )
    assert drifted(run(1, articles=100, missing={"source": 19})) == []  # 19 points
    assert drifted(run(1, articles=9, missing={"source": 9})) == []  # too few to say
    tighter = replace(SETTINGS, drift_points=10, min_articles=5)
    assert checks(run(1, articles=9, missing={"source": 1}), *[run(24 * d + 1, articles=20)
                  for d in (1, 2)], settings=tighter) == ["field-drift"]  # fmt: skip


def test_a_fallback_jump_unless_the_field_drifted_already() -> None:
    [problem] = drifted(run(1, articles=10, fallback={"title": 3}, missing={"paragraphs": 0}))
    # The title by fallback 30% is 30 points below the profile's usual too: said once, as drift.
    assert (problem.check, problem.field) == ("field-drift", "title")
    # A missing field found by fallback now: its profile share holds, its fallback share jumps.
    baseline = [run(24 * day + 1, articles=20, missing={"author": 20}) for day in (1, 2)]
    [jump] = problems(run(1, articles=10, missing={"author": 7}, fallback={"author": 3}), *baseline)
    assert (jump.check, jump.field) == ("fallback-jump", "author")
    assert "found only by a generic fallback in 30% of 10 articles" in jump.message


def test_a_jump_in_rejections_for_one_reason() -> None:
    [problem] = drifted(run(1, articles=8, rejected={"no-title": 4, "no-date": 1}))
    assert (problem.check, problem.reason) == ("rejection-jump", "no-title")
    assert problem.message.startswith("no-title: 31% of 13 pages rejected in the last 1 d")


def test_problems_come_in_the_order_of_checks() -> None:
    found = checks(
        run(5, "failed", walk={"failure_kind": "no-articles", "failure": "x"}),
        run(6, "failed"), run(7, "failed"),
        walk=WalkState(resume_page=2),
    )  # fmt: skip
    assert found == ["stale", "failing", "empty-list", "backlog"]
    assert found == sorted(found, key=CHECKS.index)


def test_settings_from_the_environment_and_a_baseline_shorter_than_the_window() -> None:
    settings = HealthSettings.from_environ(
        {
            "CPPCC_HEALTH_WINDOW": "6h",
            "CPPCC_HEALTH_BASELINE": "2d",
            "CPPCC_HEALTH_DRIFT_POINTS": "12.5",
        }
    )
    assert (settings.window, settings.baseline_windows, settings.drift_points) == (
        timedelta(hours=6), 8, 12.5,
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"\[health\] baseline \(12 h\) is shorter"):
        HealthSettings.from_environ({"CPPCC_HEALTH_BASELINE": "12h"})
