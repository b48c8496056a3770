"""Page dates: find and parse the date formats of CPPCC news pages, and print the date line."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

SHANGHAI: tzinfo = ZoneInfo("Asia/Shanghai")

_DATE_PATTERN = re.compile(
    r"(?P<year>(?:19|20)\d{2})\s*[年/.\-]\s*(?P<month>\d{1,2})\s*[月/.\-]\s*(?P<day>\d{1,2})(?!\d)"
    r"\s*日?"
    r"(?:[\sT]*(?P<hour>\d{1,2})\s*[:：]\s*(?P<minute>\d{2})(?:\s*[:：]\s*(?P<second>\d{2}))?)?"
)


def _from_match(match: re.Match[str]) -> datetime | None:
    """The aware datetime a date match names, or None when it names no real day or time."""
    fields = match.groupdict()
    try:
        return datetime(
            int(fields["year"]),
            int(fields["month"]),
            int(fields["day"]),
            int(fields["hour"] or 0),
            int(fields["minute"] or 0),
            int(fields["second"] or 0),
            tzinfo=SHANGHAI,
        )
    except ValueError:
        return None


def find_datetime(text: str) -> datetime | None:
    """The first valid date (time optional) written anywhere in `text`, in Beijing time."""
    for match in _DATE_PATTERN.finditer(text):
        found = _from_match(match)
        if found is not None:
            return found
    return None


def parse_datetime(text: str) -> datetime:
    """Parse text that is only a date (`2023年02月27日 09:15`, `2023/02/27`...), else ValueError."""
    match = _DATE_PATTERN.fullmatch(text.strip())
    parsed = _from_match(match) if match else None
    if parsed is None:
        raise ValueError(f"not a date: {text!r} (expected e.g. 2023年02月27日 09:15 or 2023-02-27)")
    return parsed


def format_date_line(moment: datetime) -> str:
    """The date as the article page prints it: `2022年03月04日 16:03` (Beijing time)."""
    return moment.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")
