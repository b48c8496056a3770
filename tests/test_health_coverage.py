"""Tests for pipelines/health/coverage.py: the window's shares against the trailing median."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipelines.catalogue.monitoring import ChannelRun
from pipelines.health.coverage import channel_coverage
from pipelines.health.settings import HealthSettings

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SETTINGS = HealthSettings()


def run(days_ago: float, articles: int, **counts: dict[str, int]) -> ChannelRun:
    return ChannelRun(
        run_id=1, channel="rmzxb/yw", status="finished", at=NOW - days_ago * DAY,
        articles=articles, **counts,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_field_found_by_the_profile_is_neither_missing_nor_by_fallback() -> None:
    coverage = channel_coverage(
        [run(0.5, 10, missing={"source": 2}, fallback={"source": 3, "paragraphs": 1})],
        NOW, SETTINGS,
    )  # fmt: skip
    assert coverage.articles == 10
    assert coverage.profile["source"].window.ratio == 0.5
    assert coverage.fallback["source"].window.ratio == 0.3
    assert coverage.profile["body"].window.ratio == 0.9  # body is counted as `paragraphs`
    assert coverage.profile["title"].window.ratio == 1.0


def test_runs_add_up_within_a_window_and_the_median_is_over_windows() -> None:
    runs = [
        run(0.2, 6, missing={"author": 6}),
        run(0.9, 6),  # the same window: 6 of 12 with an author
        run(1.5, 10),
        run(2.5, 10),
        run(3.5, 10, missing={"author": 10}),  # one bad day does not move the median
    ]
    trend = channel_coverage(runs, NOW, SETTINGS).profile["author"]
    assert (trend.window.count, trend.window.total) == (6, 12)
    assert trend.baseline == 1.0
    assert trend.points_below() == 50.0


def test_quiet_windows_and_runs_outside_the_baseline_say_nothing() -> None:
    runs = [
        run(1.5, 9),  # fewer than min_articles: not a baseline window
        run(20, 50),  # before the 14 days of the baseline
        run(-1, 50),  # dated after now (a simulated day yet to come)
        run(0.5, 3, missing={"source": 3}),
    ]
    coverage = channel_coverage(runs, NOW, SETTINGS)
    assert coverage.articles == 3
    assert coverage.profile["source"].baseline is None
    assert coverage.profile["source"].points_below() is None


def test_exactly_twenty_points_are_twenty_despite_floating_point() -> None:
    runs = [run(1.5, 10), run(0.5, 10, missing={"source": 2})]
    assert channel_coverage(runs, NOW, SETTINGS).profile["source"].points_below() == 20.0


def test_rejections_are_shares_of_the_pages_read() -> None:
    runs = [run(1.5, 20), run(0.5, 12, rejected={"no-title": 8})]
    coverage = channel_coverage(runs, NOW, SETTINGS)
    assert coverage.pages == 20
    trend = coverage.rejected["no-title"]
    assert (trend.window.ratio, trend.baseline) == (0.4, 0.0)


def test_the_window_is_a_setting() -> None:
    hourly = HealthSettings(window=timedelta(hours=1), baseline=timedelta(hours=3))
    runs = [run(0.5 / 24, 10, missing={"source": 10}), run(1.5 / 24, 10), run(5 / 24, 10)]
    trend = channel_coverage(runs, NOW, hourly).profile["source"]
    assert (trend.window.ratio, trend.baseline) == (0.0, 1.0)
