"""When an article already archived is due to be checked again for edits: a decaying schedule."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipelines.errors import UsageError

# After first being seen, an article is checked again after an hour, a day, a week and a
# month, then every month: edits come soon after publication, and rarely later.
DEFAULT_INTERVALS = "1h,1d,7d,30d"
_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_intervals(text: str) -> tuple[timedelta, ...]:
    """`"1h,1d,7d,30d"` as durations; UsageError for anything else (or an empty list)."""
    intervals = []
    for part in text.replace(" ", "").split(","):
        match = _DURATION.fullmatch(part)
        if not match or int(match[1]) == 0:
            raise UsageError(
                f"CPPCC_RECHECK_AFTER: {part!r} is not a duration like 1h, 1d or 30d "
                f"(give a comma-separated list, e.g. {DEFAULT_INTERVALS})"
            )
        intervals.append(timedelta(**{_UNITS[match[2]]: int(match[1])}))
    return tuple(sorted(intervals))


def parse_duration(text: str) -> timedelta:
    """`"1d"`, `"12h"`, `"2w"` as a duration; ValueError for anything else (zero too)."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not a duration like 12h, 1d or 2w")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def next_check(
    first_seen: datetime, last_checked: datetime, intervals: Sequence[timedelta]
) -> datetime:
    """The first re-check time after `last_checked`.

    Re-checks fall at `first_seen + interval` for each interval, then every last interval
    after the last of them; a check that came late does not make the next one come sooner.
    """
    for interval in intervals:
        moment = first_seen + interval
        if moment > last_checked:
            return moment
    return max(last_checked, first_seen + intervals[-1]) + intervals[-1]


def is_due(
    first_seen: datetime, last_checked: datetime, now: datetime, intervals: Sequence[timedelta]
) -> bool:
    """Whether an article first seen and last checked then is due to be checked at `now`."""
    return now >= next_check(first_seen, last_checked, intervals)


def parse_now(text: str) -> datetime | None:
    """CPPCC_NOW as a time ("" is the clock: None); without an offset it is Beijing time."""
    if not text:
        return None
    try:
        now = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"CPPCC_NOW: {text!r} is not an ISO 8601 time like 2026-12-01T08:00:00+08:00"
        ) from None
    return now if now.tzinfo else now.replace(tzinfo=SHANGHAI)


def check_environment(environ: Mapping[str, str] = os.environ) -> None:
    """Refuse bad CPPCC_RECHECK_AFTER / CPPCC_NOW before a crawl starts, with one line.

    The crawl reads them in its own process, where a mistake would only fail the run.
    """
    parse_intervals(environ.get("CPPCC_RECHECK_AFTER") or DEFAULT_INTERVALS)
    parse_now(environ.get("CPPCC_NOW", ""))
