"""The configuration file: its keys, each an environment variable, read and checked.

A key's value becomes the text its environment variable would hold, so the command line,
the service and the crawl subprocess read one layered source: an option, else the
environment, else the file, else the default.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pipelines.errors import ConfigError, UsageError
from pipelines.recheck import parse_duration, parse_intervals, parse_now
from pipelines.storage.url import parse_storage_url

CONFIG_ENV = "CPPCC_CONFIG"
CONFIG_NAME = "config.toml"  # looked for in the archive home when no file is named
_SIZE = re.compile(r"(?P<number>\d+)\s*(?P<unit>[kmg]?)b?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3}
_PREFIX = re.compile(r"[A-Za-z0-9._]+")  # a WARC file name's first part, before its first `-`


def parse_size(text: str) -> int:
    """A size in bytes: `104857600`, `100M`, `1G`, `500k` (powers of 1000, as disks count)."""
    match = _SIZE.fullmatch(text.strip())
    if match is None or int(match["number"]) < 1:
        raise ValueError(f"{text!r} is not a size like 100M, 1G or 5000000")
    return int(match["number"]) * _UNITS[match["unit"].lower()]


@dataclass(frozen=True)
class Kind:
    """What a key holds: `expected` says it; `check` gives the variable's text or raises."""

    expected: str
    check: Callable[[Any], str]
    from_text: Callable[[str], Any] = str  # an environment variable's text as a TOML value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError
    return value


def _number(minimum: float, whole: bool, above: bool = False) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        types = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, types):
            raise ValueError
        if value < minimum or (above and value == minimum):
            raise ValueError
        return str(value)

    return check


def _as_number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text  # not a number: the check says what was expected


def _boolean(value: Any) -> str:
    if not isinstance(value, bool):
        raise ValueError
    return "true" if value else "false"


def _as_boolean(text: str) -> Any:
    # Scrapy's getbool reads true/false and 1/0; anything else is left for the check to name.
    return {"true": True, "1": True, "false": False, "0": False}.get(text.strip().lower(), text)


def _size(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int) and value >= 1:
        return str(value)
    if isinstance(value, str):
        return str(parse_size(value))
    raise ValueError


def _prefix(value: Any) -> str:
    if not isinstance(value, str) or not _PREFIX.fullmatch(value):
        raise ValueError
    return value


def _intervals(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    try:
        parse_intervals(value)
    except UsageError:
        raise ValueError from None
    return value


def _time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            parse_now(value)
        except UsageError:
            raise ValueError from None
        return value
    raise ValueError


def _duration(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    parse_duration(value)
    return value.strip()


def _points(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 100:
        raise ValueError
    return str(value)


def _port(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ValueError
    return str(value)


def _storage(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    if value.strip():
        try:
            parse_storage_url(value)
        except UsageError:
            raise ValueError from None
    return value.strip()


def _endpoint(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/?#]+(/\S*)?", value):
        raise ValueError
    return value


TEXT = Kind("a text", _text)
WHOLE = Kind("a whole number ≥ 0", _number(0, whole=True), _as_number)
POSITIVE = Kind("a whole number ≥ 1", _number(1, whole=True), _as_number)
SECONDS = Kind("a number of seconds ≥ 0", _number(0, whole=False), _as_number)
DAYS = Kind("a number of days > 0", _number(0, whole=False, above=True), _as_number)
SIZE = Kind('a size in bytes, or a text like "100M" or "1G"', _size, _as_number)
PREFIX = Kind("a text of letters, digits, `.` and `_`", _prefix)
INTERVALS = Kind('a list of durations like "1h,1d,7d,30d"', _intervals)
TIME = Kind("an ISO 8601 time like 2026-12-01T08:00:00+08:00", _time)
CRON = Kind('5 cron fields like "17 4 * * *", or "off"', _text)
NUMBER = Kind("a number > 0", _number(0, whole=False, above=True), _as_number)
POINTS = Kind("a number of percentage points, more than 0 and at most 100", _points, _as_number)
DURATION = Kind('a duration like "12h", "1d" or "2w"', _duration)
BOOLEAN = Kind("true or false", _boolean, _as_boolean)
STORAGE = Kind('a storage URL like "s3://BUCKET/PREFIX" or "file:///FOLDER" ("": none)', _storage)
ENDPOINT = Kind('an http(s) URL like "https://s3.example.org:9000"', _endpoint)
PORT = Kind("a port number from 0 to 65535 (0: any free port)", _port, _as_number)


@dataclass(frozen=True)
class Key:
    """One setting: where it lives in the file, its environment variable, what it holds."""

    section: str
    name: str
    variable: str
    kind: Kind

    @property
    def ref(self) -> str:
        return f"[{self.section}] {self.name}"


KEYS = (
    Key("archive", "home", "CPPCC_ARCHIVE_HOME", TEXT),
    Key("archive", "db", "CPPCC_DATABASE_URL", TEXT),
    Key("archive", "seeds", "CPPCC_SEEDS", TEXT),
    Key("crawl", "time_limit", "CPPCC_RUN_TIME_LIMIT", WHOLE),
    Key("crawl", "walk_known_list_pages", "CPPCC_WALK_KNOWN_LIST_PAGES", WHOLE),
    Key("crawl", "backlog_list_pages", "CPPCC_BACKLOG_LIST_PAGES", POSITIVE),
    Key("crawl", "recheck_after", "CPPCC_RECHECK_AFTER", INTERVALS),
    Key("crawl", "withdrawn_min_rechecks", "CPPCC_WITHDRAWN_MIN_RECHECKS", POSITIVE),
    Key("crawl", "withdrawn_max_percent", "CPPCC_WITHDRAWN_MAX_PERCENT", POINTS),
    Key("crawl", "retry_after_max", "CPPCC_RETRY_AFTER_MAX", SECONDS),
    Key("crawl", "catalogue_retry", "CPPCC_CATALOGUE_RETRY", SECONDS),
    Key("crawl", "now", "CPPCC_NOW", TIME),
    Key("crawl", "stop_wait", "CPPCC_STOP_WAIT", WHOLE),
    Key("crawl", "normalise_in_process", "CPPCC_NORMALISE_IN_PROCESS", BOOLEAN),
    Key("warc", "operator", "CPPCC_WARC_OPERATOR", TEXT),
    Key("warc", "description", "CPPCC_WARC_DESCRIPTION", TEXT),
    Key("warc", "is_part_of", "CPPCC_WARC_IS_PART_OF", TEXT),
    Key("warc", "prefix", "CPPCC_WARC_PREFIX", PREFIX),
    Key("warc", "max_size", "CPPCC_WARC_MAX_SIZE", SIZE),
    Key("storage", "url", "CPPCC_STORAGE", STORAGE),
    Key("storage", "endpoint", "CPPCC_S3_ENDPOINT", ENDPOINT),
    Key("storage", "sweep_every", "CPPCC_STORAGE_SWEEP_EVERY", NUMBER),
    Key("service", "max_concurrent", "CPPCC_MAX_CONCURRENT", POSITIVE),
    Key("service", "grace", "CPPCC_GRACE", WHOLE),
    Key("service", "tidy_schedule", "CPPCC_TIDY_SCHEDULE", CRON),
    Key("service", "pack_below", "CPPCC_PACK_BELOW", SIZE),
    Key("service", "pack_min_age", "CPPCC_PACK_MIN_AGE", SECONDS),
    Key("service", "log_retention", "CPPCC_LOG_RETENTION", DAYS),
    Key("service", "metrics_port", "CPPCC_METRICS_PORT", PORT),
    Key("queue", "concurrency", "CPPCC_WORKER_CONCURRENCY", POSITIVE),
    Key("queue", "lease", "CPPCC_QUEUE_LEASE", NUMBER),
    Key("web", "token", "CPPCC_WEB_TOKEN", TEXT),
    Key("web", "pywb", "CPPCC_PYWB", TEXT),
    Key("web", "replay_url", "CPPCC_REPLAY_URL", TEXT),
    Key("health", "stale_intervals", "CPPCC_HEALTH_STALE_INTERVALS", NUMBER),
    Key("health", "failed_runs", "CPPCC_HEALTH_FAILED_RUNS", POSITIVE),
    Key("health", "drift_points", "CPPCC_HEALTH_DRIFT_POINTS", POINTS),
    Key("health", "min_articles", "CPPCC_HEALTH_MIN_ARTICLES", POSITIVE),
    Key("health", "window", "CPPCC_HEALTH_WINDOW", DURATION),
    Key("health", "baseline", "CPPCC_HEALTH_BASELINE", DURATION),
)
SECTIONS = tuple(dict.fromkeys(key.section for key in KEYS))

# A value check that needs what the core may not import (cron: APScheduler), by variable.
Checks = Mapping[str, Callable[[str], None]]


def load_config(path: Path, checks: Checks | None = None) -> dict[str, str]:
    """The file's settings as {environment variable: its text}; ConfigError naming the file,
    the key and what it expects for anything else."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"configuration file {path}: cannot read it ({exc.strerror or exc}); give a "
            f"readable file with --config or {CONFIG_ENV}"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"configuration file {path}: not valid TOML ({exc})") from None
    return _settings(path, data, checks or {})


def _settings(path: Path, data: dict[str, Any], checks: Checks) -> dict[str, str]:
    keys = {(key.section, key.name): key for key in KEYS}
    values = {}
    for section, table in data.items():
        if section not in SECTIONS:
            raise ConfigError(
                f"configuration file {path}: unknown section [{section}] "
                f"(sections: {', '.join(f'[{s}]' for s in SECTIONS)})"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"configuration file {path}: {section} must be a [{section}] table")
        for name, value in table.items():
            key = keys.get((section, name))
            if key is None:
                known = ", ".join(k.name for k in KEYS if k.section == section)
                raise ConfigError(
                    f"configuration file {path}: unknown key {name!r} in [{section}] "
                    f"(keys: {known})"
                )
            values[key.variable] = _checked(
                key, value, checks, f"configuration file {path}: {key.ref}"
            )
    return values


def _checked(key: Key, value: Any, checks: Checks, where: str, shown: Any = None) -> str:
    try:
        text = key.kind.check(value)
        if key.variable in checks:
            checks[key.variable](text)
    except ValueError:
        shown = value if shown is None else shown
        raise ConfigError(f"{where} is {shown!r}; expected {key.kind.expected}") from None
    return text


def check_environ(environ: Mapping[str, str], checks: Checks | None = None) -> None:
    """ConfigError for a CPPCC_* variable set to what its key could not hold: found here, in
    one line, rather than by the crawl subprocess, whose failure would only fail its run."""
    for key in KEYS:
        text = environ.get(key.variable, "")
        if text:
            where = f"environment variable {key.variable}"
            try:
                _checked(key, key.kind.from_text(text), checks or {}, where, shown=text)
            except ConfigError as exc:
                raise ConfigError(f"{exc}; fix or unset it") from None


def environ_value(environ: Mapping[str, str], variable: str, default: str) -> str:
    """A variable's text as its key's kind gives it (sizes in bytes), else `default`."""
    key = next(key for key in KEYS if key.variable == variable)
    text = environ.get(variable, "")
    return key.kind.check(key.kind.from_text(text)) if text else default
