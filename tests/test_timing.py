"""When a channel is due, with a frozen clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from scheduler.timing import cron_trigger, missed_slot, next_slot, schedule_interval

SHANGHAI = ZoneInfo("Asia/Shanghai")
HALF_HOURLY = cron_trigger("*/30 * * * *")


def at(hour: int, minute: int, second: int = 0, day: int = 25) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI)


def test_next_slot_is_strictly_after() -> None:
    assert next_slot(HALF_HOURLY, at(9, 30)) == at(10, 0)
    assert next_slot(HALF_HOURLY, at(9, 29, 59)) == at(9, 30)


def test_schedule_is_shanghai_time() -> None:
    daily = cron_trigger("0 8 * * *")
    # 08:00 in Shanghai is 00:00 UTC.
    slot = next_slot(daily, datetime(2026, 11, 25, 0, 30, tzinfo=ZoneInfo("UTC")))
    assert slot == at(8, 0, day=26)
    assert slot is not None and slot.utcoffset() == timedelta(hours=8)


def test_down_across_three_slots_is_one_catch_up() -> None:
    # Last ran at 09:00; the service was down for 10:00, 10:30 and 11:00.
    assert missed_slot(HALF_HOURLY, at(9, 0, 5), now=at(11, 10))


def test_ran_after_the_last_slot_is_recent_enough() -> None:
    assert not missed_slot(HALF_HOURLY, at(11, 5), now=at(11, 10))
    assert not missed_slot(HALF_HOURLY, at(11, 0), now=at(11, 29, 59))


def test_slot_exactly_now_is_due() -> None:
    assert missed_slot(HALF_HOURLY, at(10, 50), now=at(11, 0))


def test_never_ran_is_due() -> None:
    assert missed_slot(HALF_HOURLY, None, now=at(11, 10))


def test_seconds_schedules() -> None:
    every_five = cron_trigger("*/5 * * * * *")
    assert next_slot(every_five, at(10, 0, 3)) == at(10, 0, 5)
    assert missed_slot(every_five, at(10, 0, 3), now=at(10, 0, 5))
    assert not missed_slot(every_five, at(10, 0, 3), now=at(10, 0, 4))


def test_a_schedules_interval_is_its_longest_gap() -> None:
    assert schedule_interval("*/30 * * * *", at(9, 10)) == timedelta(minutes=30)
    # Weekdays at 08:00: Friday to Monday is the gap a channel may go without a run.
    assert schedule_interval("0 8 * * 1-5", at(9, 0)) == timedelta(days=3)
    assert schedule_interval("*/2 * * * * *", at(9, 0)) == timedelta(seconds=2)
