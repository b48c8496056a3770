"""Cron schedules: triggers from seeds expressions, seeds checked with them, and when a channel
is due (the schedule's slots against its last run; pure, clock given)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines import seeds
from pipelines.seeds import SCHEDULE_TIMEZONE, Seeds

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

# The service's tidy: daily, at an hour when the CPPCC sites publish little; off the hour, as
# cron jobs should be. Here, not in scheduler.service, so `serve --help` can show it cheaply.
DEFAULT_TIDY_SCHEDULE = "17 4 * * *"
_JUST_AFTER = timedelta(microseconds=1)


def cron_trigger(expression: str) -> CronTrigger:
    """A trigger from 5 cron fields, or 6 whose first is seconds; Asia/Shanghai time."""
    # Imported here: the command line imports this module to start, and most commands never
    # read a schedule (APScheduler's triggers take a tenth of a second to load).
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) == 5:
        return CronTrigger.from_crontab(expression, timezone=SCHEDULE_TIMEZONE)
    if len(fields) == 6:
        second, minute, hour, day, month, day_of_week = fields
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=day_of_week,
            timezone=SCHEDULE_TIMEZONE,
        )
    raise ValueError(f"expected 5 fields (or 6 with seconds first), got {len(fields)}")


def load_seeds(path: Path | str | None = None) -> Seeds:
    """The seeds file (the given one, else the packaged one), its cron schedules checked too."""
    return seeds.load_seeds(path, check_schedule=cron_trigger)


def next_slot(trigger: CronTrigger, after: datetime) -> datetime | None:
    """The first scheduled time strictly after `after` (None: the schedule has ended)."""
    return trigger.get_next_fire_time(None, after + _JUST_AFTER)


def missed_slot(trigger: CronTrigger, last_run: datetime | None, now: datetime) -> bool:
    """Whether a scheduled time passed since the channel last ran, so it should run now.

    However many slots passed (the service was down for a week), the answer is one run, not
    one per slot; a channel that ran after its last slot (by hand, say) ran recently enough.
    A channel that never ran is due.
    """
    if last_run is None:
        return True
    slot = next_slot(trigger, last_run)
    return slot is not None and slot <= now


def schedule_interval(expression: str, now: datetime, slots: int = 60) -> timedelta:
    """The longest gap between two slots of a schedule among its next `slots` after `now`: a
    weekday schedule's is its weekend. A schedule with no slots ahead counts as yearly."""
    trigger = cron_trigger(expression)
    previous, longest = next_slot(trigger, now), timedelta(0)
    for _ in range(slots):
        following = next_slot(trigger, previous) if previous else None
        if following is None or previous is None:
            break
        longest, previous = max(longest, following - previous), following
    return longest or timedelta(days=365)


def schedule_intervals(seeds: Seeds, now: datetime) -> dict[str, timedelta]:
    """Each enabled channel's schedule interval (schedule_interval), by "site/channel"."""
    return {
        channel.ref: schedule_interval(channel.schedule, now)
        for channel in seeds.channels()
        if channel.enabled
    }
