"""Page dates: the formats of CPPCC pages parse to aware Beijing times; the date line prints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.normalise.dates import SHANGHAI, find_datetime, format_date_line, parse_datetime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023年02月27日 09:15", datetime(2023, 2, 27, 9, 15, tzinfo=SHANGHAI)),
        ("2023年2月7日", datetime(2023, 2, 7, tzinfo=SHANGHAI)),
        ("2023-02-27 09:15:00", datetime(2023, 2, 27, 9, 15, tzinfo=SHANGHAI)),
        ("2021年05月20日 10:30:45", datetime(2021, 5, 20, 10, 30, 45, tzinfo=SHANGHAI)),
        ("2023/02/27", datetime(2023, 2, 27, tzinfo=SHANGHAI)),
        ("2023-02-27T09:15:07", datetime(2023, 2, 27, 9, 15, 7, tzinfo=SHANGHAI)),
        (" 2014-06-17 ", datetime(2014, 6, 17, tzinfo=SHANGHAI)),
    ],
)
def test_parse_datetime_reads_page_formats(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() is not None
    assert parsed.isoformat().endswith("+08:00")


@pytest.mark.parametrize("text", ["", "昨天", "2023-02-30", "2023年13月01日", "2023-02-27 来源"])
def test_parse_datetime_rejects_what_is_not_a_date(text: str) -> None:
    with pytest.raises(ValueError, match="not a date"):
        parse_datetime(text)


def test_find_datetime_reads_a_date_line() -> None:
    line = "2023年02月27日 09:15 | 作者:董博婷 王秋韵 周晔 | 来源:新华社"
    assert find_datetime(line) == datetime(2023, 2, 27, 9, 15, tzinfo=SHANGHAI)


def test_find_datetime_skips_impossible_dates_and_finds_none_in_plain_text() -> None:
    assert find_datetime("2023-02-30 then 2023-03-01") == datetime(2023, 3, 1, tzinfo=SHANGHAI)
    assert find_datetime("十年两会·温暖记忆") is None
    assert find_datetime("tel 010-88146989") is None


def test_format_date_line_prints_beijing_time() -> None:
    assert format_date_line(datetime(2022, 3, 4, 16, 3, tzinfo=SHANGHAI)) == "2022年03月04日 16:03"
    assert format_date_line(datetime(2022, 3, 4, 8, 3, tzinfo=UTC)) == "2022年03月04日 16:03"
