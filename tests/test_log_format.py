"""The service log's stamps: ISO 8601 with the +08:00 offset."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from scheduler.log_format import BeijingTimeFormatter


def test_a_line_is_stamped_in_beijing_time_with_its_offset() -> None:
    record = logging.LogRecord("cppcc_archive.service", logging.INFO, "", 0, "stopped", None, None)
    record.created = datetime(2026, 12, 6, 7, 4, 5, 123000, tzinfo=UTC).timestamp()
    line = BeijingTimeFormatter().format(record)
    assert line == "2026-12-06T15:04:05.123+08:00 INFO stopped"
    stamp = datetime.fromisoformat(line.split(" ", 1)[0])
    assert stamp.utcoffset() == timedelta(hours=8)
