"""Tests for pipelines.recheck: the decaying re-check schedule, on a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelines.errors import UsageError
from pipelines.recheck import (
    DEFAULT_INTERVALS,
    SHANGHAI,
    check_environment,
    is_due,
    next_check,
    parse_intervals,
    parse_now,
)

SEEN = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
INTERVALS = parse_intervals(DEFAULT_INTERVALS)


def test_default_schedule_is_an_hour_a_day_a_week_a_month() -> None:
    assert INTERVALS == (HOUR, DAY, 7 * DAY, 30 * DAY)


@pytest.mark.parametrize(
    ("last_checked", "expected"),
    [
        (SEEN, SEEN + HOUR),  # just seen: first re-check after an hour
        (SEEN + 2 * HOUR, SEEN + DAY),  # checked after the hour: next after a day
        (SEEN + 3 * DAY, SEEN + 7 * DAY),
        (SEEN + 30 * DAY, SEEN + 60 * DAY),  # past the last interval: every month
        (SEEN + 45 * DAY, SEEN + 75 * DAY),
    ],
)
def test_next_check_decays(last_checked: datetime, expected: datetime) -> None:
    assert next_check(SEEN, last_checked, INTERVALS) == expected


def test_due_once_the_clock_passes_the_next_check() -> None:
    assert not is_due(SEEN, SEEN, SEEN + 59 * timedelta(minutes=1), INTERVALS)
    assert is_due(SEEN, SEEN, SEEN + HOUR, INTERVALS)
    # A check that came late (the service was down) does not make the next one come sooner.
    assert not is_due(SEEN, SEEN + 20 * HOUR, SEEN + 23 * HOUR, INTERVALS)
    assert is_due(SEEN, SEEN + 20 * HOUR, SEEN + DAY, INTERVALS)


@pytest.mark.parametrize("text", ["", "1x", "0h", "1h,,1d", "soon"])
def test_bad_intervals_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(UsageError, match="1h,1d,7d,30d"):
        parse_intervals(text)


def test_intervals_are_sorted_and_take_every_unit() -> None:
    assert parse_intervals("2w, 30s,5m") == (
        timedelta(seconds=30),
        timedelta(minutes=5),
        timedelta(weeks=2),
    )


def test_now_is_the_clock_a_time_with_offset_or_beijing_time() -> None:
    assert parse_now("") is None
    assert parse_now("2026-12-01T08:00:00+00:00") == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert parse_now("2026-12-01T16:00:00") == datetime(2026, 12, 1, 16, tzinfo=SHANGHAI)
    with pytest.raises(UsageError, match="CPPCC_NOW: 'tomorrow'"):
        parse_now("tomorrow")


def test_the_environment_is_checked_before_a_crawl_starts() -> None:
    check_environment({})
    with pytest.raises(UsageError, match="CPPCC_RECHECK_AFTER"):
        check_environment({"CPPCC_RECHECK_AFTER": "soon"})
