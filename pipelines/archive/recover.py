"""Put back in order what crawls that stopped left: close their `.open` WARC files, and
catalogue from the WARC files what they archived but did not catalogue."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.archive.reindex import ReindexReport, reindex
from pipelines.catalogue.engine import is_unreachable
from pipelines.catalogue.writes import assign_channel, upsert_site_channels
from pipelines.display import display_time
from pipelines.errors import CppccArchiveError
from pipelines.processes import pid_is_alive
from pipelines.seeds import Seeds, site_rows
from pipelines.warc.naming import WARC_SUFFIX, parse_warc_filename
from pipelines.warc.salvage import salvage_open_files

Log = Callable[[str], None]
logger = logging.getLogger(__name__)


def catalogue_archived(
    sessions: sessionmaker[Session],
    warc_dir: Path,
    seeds: Seeds,
    since: datetime,
    channels: Collection[str],
    log: Log,
) -> ReindexReport | None:
    """Catalogue what the WARC files written since `since` by crawls now gone hold and the
    catalogue lacks, for runs that crawled `channels` ("site/channel"); None when there were
    no such files, or they could not be catalogued.

    It reads the closed files whose name says they were opened at `since` or later by a
    writer that is no longer running (a file of a crawl still running is its own to
    catalogue). What is catalogued already is left as it is (see pipelines/archive/reindex.py), so
    files of other crawls of that time cost a read, nothing more. Raises the SQLAlchemy
    error when the catalogue cannot be reached; any other failure is said in one line (the
    files stay for `cppcc-archive verify --repair`).
    """
    files = run_warc_files(warc_dir, since)
    if not files:
        return None
    log(f"cataloguing what {len(files)} WARC file(s) of crawls that stopped hold")
    try:
        report = _reindex(sessions, files, seeds, channels)
    except SQLAlchemyError as exc:
        if is_unreachable(exc):
            raise
        failure: Exception = exc
    except Exception as exc:  # a bug of ours must not keep the run from being recorded
        logger.error("cannot catalogue %s", [path.name for path in files], exc_info=True)
        failure = exc
    else:
        log(f"catalogued from those WARC files: {report.summary()}")
        for problem in report.unreadable:
            log(f"unreadable from here on: {problem}")
        return report
    log(
        f"cannot catalogue {len(files)} WARC file(s) written since {display_time(since)}: "
        f"{_one_line(failure)}; `cppcc-archive verify --repair` tries again"
    )
    return None


def _reindex(
    sessions: sessionmaker[Session], files: list[Path], seeds: Seeds, channels: Collection[str]
) -> ReindexReport:
    report = ReindexReport()
    with sessions.begin() as session:
        upsert_site_channels(session, site_rows(seeds))
    reindex(sessions, files, seeds, report)
    _give_channel(sessions, files, channels)
    return report


def run_warc_files(warc_dir: Path, since: datetime) -> list[Path]:
    """The closed WARC files of `warc_dir` opened at `since` or later by a writer that is gone
    (or ran on another host), oldest first."""
    host, files = socket.gethostname(), []
    since_ms = since.astimezone(UTC).replace(microsecond=since.microsecond // 1000 * 1000)
    for path in sorted(warc_dir.glob(f"*{WARC_SUFFIX}")) if warc_dir.is_dir() else []:
        name = parse_warc_filename(path.name)
        if name is None or name.opened_at < since_ms:
            continue
        if name.hostname == host and pid_is_alive(name.pid):
            continue
        files.append(path)
    return files


def _give_channel(
    sessions: sessionmaker[Session], files: list[Path], channels: Collection[str]
) -> None:
    """Articles catalogued from a page alone (no metadata record: the crawl died first) have
    no channel; where the runs crawled one channel of their site, they found them there."""
    names = [path.name for path in files]
    by_site: dict[str, set[str]] = {}
    for ref in channels:
        site, _, channel = ref.partition("/")
        by_site.setdefault(site, set()).add(channel)
    with sessions.begin() as session:
        for site, found in by_site.items():
            if len(found) == 1:  # else which of them listed the article is not in the files
                assign_channel(session, site, found.pop(), names)


def recover_warc_files(warc_dir: Path, log: Log) -> None:
    """Close the `.open` WARC files whose writers are gone, and say what was done to each."""
    if not warc_dir.is_dir():
        return
    try:
        reports = salvage_open_files(warc_dir)
    except CppccArchiveError as exc:  # one file that cannot be cut or renamed: say which
        log(f"cannot close the WARC files left open in {warc_dir}: {exc}")
        return
    for report in reports:
        if not report.status.startswith("skipped"):
            log(report.message)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "orig", None) or exc).split())
