"""The configuration file's parsing: keys to environment variables, and one line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import KEYS, check_environ, load_config, parse_size
from pipelines.errors import ConfigError

EXAMPLE = """
[archive]
home = "/srv/archive"
db = "postgresql://archiver@db/cppcc"

[crawl]
time_limit = 1800
walk_known_list_pages = 2
recheck_after = "1h,1d"
now = 2026-12-01T08:00:00+08:00

[warc]
operator = "archivist@example.org"
description = "政协 news"
is_part_of = "cppcc-2026"
prefix = "CPPCC_TEST"
max_size = "2M"

[service]
max_concurrent = 3
pack_min_age = 1.5
tidy_schedule = "off"
metrics_port = 9108

[web]
token = "s3cret"

[health]
window = "12h"
drift_points = 25
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_each_key_becomes_its_environment_variable(tmp_path: Path) -> None:
    values = load_config(write(tmp_path, EXAMPLE))
    assert values == {
        "CPPCC_ARCHIVE_HOME": "/srv/archive",
        "CPPCC_DATABASE_URL": "postgresql://archiver@db/cppcc",
        "CPPCC_RUN_TIME_LIMIT": "1800",
        "CPPCC_WALK_KNOWN_LIST_PAGES": "2",
        "CPPCC_RECHECK_AFTER": "1h,1d",
        "CPPCC_NOW": "2026-12-01T08:00:00+08:00",
        "CPPCC_WARC_OPERATOR": "archivist@example.org",
        "CPPCC_WARC_DESCRIPTION": "政协 news",
        "CPPCC_WARC_IS_PART_OF": "cppcc-2026",
        "CPPCC_WARC_PREFIX": "CPPCC_TEST",
        "CPPCC_WARC_MAX_SIZE": "2000000",  # sizes in bytes, as the crawl reads them
        "CPPCC_MAX_CONCURRENT": "3",
        "CPPCC_PACK_MIN_AGE": "1.5",
        "CPPCC_TIDY_SCHEDULE": "off",
        "CPPCC_METRICS_PORT": "9108",
        "CPPCC_WEB_TOKEN": "s3cret",
        "CPPCC_HEALTH_WINDOW": "12h",
        "CPPCC_HEALTH_DRIFT_POINTS": "25",
    }


def test_every_key_has_its_own_variable() -> None:
    assert len({key.variable for key in KEYS}) == len(KEYS)
    assert all(key.variable.startswith("CPPCC_") for key in KEYS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[archives]\nhome = 'x'\n", "unknown section [archives]"),
        ("[warc]\noperators = 'x'\n", "unknown key 'operators' in [warc]"),
        ("[service]\ngrace = 'soon'\n", "[service] grace is 'soon'; expected a whole number ≥ 0"),
        ("[service]\ngrace = -1\n", "[service] grace is -1; expected a whole number ≥ 0"),
        ("[service]\nmax_concurrent = true\n", "expected a whole number ≥ 1"),
        ("[warc]\nmax_size = '1 lot'\n", "[warc] max_size is '1 lot'; expected a size"),
        ("[warc]\nprefix = 'a/b'\n", "[warc] prefix is 'a/b'; expected a text of letters"),
        ("[crawl]\nrecheck_after = 'soon'\n", "expected a list of durations"),
        ("[warc]\noperator = 3\n", "[warc] operator is 3; expected a text"),
        ("[health]\nwindow = 'daily'\n", "[health] window is 'daily'; expected a duration"),
        ("[health]\ndrift_points = 0\n", "expected a number of percentage points"),
        ("[service]\nmetrics_port = 70000\n", "expected a port number from 0 to 65535"),
        ("warc = 3\n", "warc must be a [warc] table"),
        ("[warc\n", "not valid TOML"),
    ],
)
def test_a_mistake_is_one_line_naming_the_file_and_the_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert message.startswith(f"configuration file {path}: ") and "\n" not in message
    assert expected in message


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent\.toml: cannot read it"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="cannot read it"):
        load_config(tmp_path)  # a folder


def test_an_injected_check_refuses_what_the_core_cannot_judge(tmp_path: Path) -> None:
    def no_cron(text: str) -> None:
        raise ValueError(text)

    path = write(tmp_path, "[service]\ntidy_schedule = 'every day'\n")
    with pytest.raises(ConfigError, match="tidy_schedule is 'every day'; expected 5 cron"):
        load_config(path, {"CPPCC_TIDY_SCHEDULE": no_cron})


def test_environment_variables_are_checked_as_their_keys() -> None:
    check_environ({"CPPCC_GRACE": "30", "CPPCC_WARC_MAX_SIZE": "1G", "CPPCC_ARCHIVE_HOME": ""})
    with pytest.raises(ConfigError, match=r"environment variable CPPCC_GRACE is 'soon'; .*unset"):
        check_environ({"CPPCC_GRACE": "soon"})
    with pytest.raises(ConfigError, match=r"CPPCC_WALK_KNOWN_LIST_PAGES is '1\.5'"):
        check_environ({"CPPCC_WALK_KNOWN_LIST_PAGES": "1.5"})


def test_sizes_count_in_powers_of_1000() -> None:
    assert parse_size("100M") == 100_000_000
    assert parse_size("1g") == 1_000_000_000
    assert parse_size("5000") == 5000
    with pytest.raises(ValueError, match="not a size"):
        parse_size("0")
