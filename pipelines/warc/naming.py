"""WARC file names after the IIPC/Heritrix convention, and the software that writes them."""

from __future__ import annotations

import importlib.metadata
from datetime import UTC, datetime

DISTRIBUTION = "cppcc-archive"
WARC_SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"  # appended while a file is being written; removed when it is closed


def warc_filename(prefix: str, opened_at: datetime, serial: int, pid: int, hostname: str) -> str:
    """`{prefix}-{YYYYMMDDhhmmssfff}-{serial:05d}-{pid}~{hostname}~0.warc.gz`.

    Heritrix's default template is `${prefix}-${timestamp17}-${serialno}-${heritrixPid}~
    ${hostname}~${port}`; a crawler with no web console has no port, hence `0`.
    """
    utc = opened_at.astimezone(UTC)
    timestamp17 = utc.strftime("%Y%m%d%H%M%S") + f"{utc.microsecond // 1000:03d}"
    return f"{prefix}-{timestamp17}-{serial:05d}-{pid}~{hostname}~0{WARC_SUFFIX}"


def software_name() -> str:
    """`cppcc-archive/<version>` for the warcinfo `software` field."""
    try:
        version = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # running from a checkout, not installed
        version = "0+unknown"
    return f"{DISTRIBUTION}/{version}"
