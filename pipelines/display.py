"""How a time is shown to a user: ISO 8601 in Beijing time, its offset (+08:00) visible.

The catalogue stores every time in UTC; whatever the command line prints (tables, JSON, CSV:
runs, articles, captures, versions, schedules) goes through display_time, so one listing never
mixes zones with another.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")


def display_time(moment: datetime | None, timespec: str = "auto") -> str | None:
    """`moment` in Asia/Shanghai as ISO 8601 with its offset, e.g. `2026-12-06T15:04:05+08:00`;
    None stays None. A naive time is taken as UTC, as the catalogue stores it."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(DISPLAY_ZONE).isoformat(timespec=timespec)


def display_span(duration: timedelta) -> str:
    """A duration as the command line says it: `2 d 3 h`, `1 d`, `90 min`, `45 s`."""
    seconds = max(0, int(duration.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min" if minutes else f"{seconds} s"
