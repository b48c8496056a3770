"""WARC file names after the IIPC/Heritrix convention, and how the software that writes them
names itself (warcinfo, User-Agent)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

DISTRIBUTION = "cppcc-archive"
# An honest User-Agent naming the project, so site operators know who is fetching and why:
# the crawls' (crawler/settings.py) and `channels discover`'s.
USER_AGENT = (
    "cppcc-archive/0.1 (archival crawler of CPPCC news channels; "
    "+https://github.com/cppcc-archive/cppcc-archive)"
)
WARC_SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"  # appended while a file is being written; removed when it is closed
_NAME = re.compile(
    r"(?P<prefix>.+)-(?P<stamp>\d{17})-(?P<serial>\d{5,})-(?P<pid>\d+)~(?P<hostname>[^~]+)~\d+"
    + re.escape(WARC_SUFFIX)
)


@dataclass(frozen=True)
class WarcFileName:
    """What a file name written by `warc_filename` says about the file and its writer."""

    prefix: str
    opened_at: datetime  # UTC, to the millisecond
    serial: int
    pid: int
    hostname: str


def warc_filename(prefix: str, opened_at: datetime, serial: int, pid: int, hostname: str) -> str:
    """`{prefix}-{YYYYMMDDhhmmssfff}-{serial:05d}-{pid}~{hostname}~0.warc.gz`.

    Heritrix's default template is `${prefix}-${timestamp17}-${serialno}-${heritrixPid}~
    ${hostname}~${port}`; a crawler with no web console has no port, hence `0`.
    """
    utc = opened_at.astimezone(UTC)
    timestamp17 = utc.strftime("%Y%m%d%H%M%S") + f"{utc.microsecond // 1000:03d}"
    return f"{prefix}-{timestamp17}-{serial:05d}-{pid}~{hostname}~0{WARC_SUFFIX}"


def parse_warc_filename(name: str) -> WarcFileName | None:
    """The parts of a `warc_filename` name (without `.open`); None for any other name."""
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    stamp = match["stamp"]
    try:
        opened_at = datetime.strptime(stamp[:14], "%Y%m%d%H%M%S").replace(
            microsecond=int(stamp[14:]) * 1000, tzinfo=UTC
        )
    except ValueError:  # seventeen digits, but no date (month 13)
        return None
    return WarcFileName(
        match["prefix"], opened_at, int(match["serial"]), int(match["pid"]), match["hostname"]
    )


def program_version() -> str:
    """The installed version (`0+unknown` when run from a checkout that is not installed)."""
    # Imported here: importlib.metadata takes longer to load than the command line takes to
    # start without it, and only --version and the writers' warcinfo records ask.
    import importlib.metadata

    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def software_name() -> str:
    """`cppcc-archive/<version>` for the warcinfo `software` field."""
    return f"{DISTRIBUTION}/{program_version()}"
