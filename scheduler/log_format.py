"""The service log's line format: ISO 8601 times with their offset, in Beijing time."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

# The zone the command line shows articles and schedules in: one clock for a reader to follow.
LOG_ZONE = ZoneInfo("Asia/Shanghai")
LINE_FORMAT = "%(asctime)s %(levelname)s %(message)s"


class BeijingTimeFormatter(logging.Formatter):
    """Stamps each line like `2026-12-06T15:04:05.123+08:00`: zone-less local times cannot be
    compared with the catalogue's times, nor read right from another machine's zone."""

    def __init__(self) -> None:
        super().__init__(LINE_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = datetime.fromtimestamp(record.created, LOG_ZONE)
        return stamp.isoformat(timespec="milliseconds")
