"""When a channel is due: the schedule's slots against its last run (pure, clock given)."""

from __future__ import annotations

from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

_JUST_AFTER = timedelta(microseconds=1)


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
