"""Clean up after crawls whose process died: catalogue what they archived, mark their runs,
free their locks, salvage their WARC files. One path for the service's start and for a crawl
that finds its channel held by a dead run."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler.seeds import Seeds
from pipelines.catalogue.engine import is_unreachable
from pipelines.catalogue.locks import IsAlive, dead_runs, recover_dead_runs
from pipelines.catalogue.models import RUN_COUNTS, ArticleRecord, Capture, Run
from pipelines.catalogue.writes import finish_run, upsert_site_channels
from pipelines.errors import CppccArchiveError
from pipelines.processes import pid_is_alive
from pipelines.warc.naming import WARC_SUFFIX, parse_warc_filename
from pipelines.warc.salvage import salvage_open_files

# The launcher's own reader of the report files, so both read them the same way.
from scheduler.launcher import STALE_AFTER, ReportReader, report_path, seeds_rows
from scheduler.reindex import ReindexReport, reindex

Log = Callable[[str], None]
logger = logging.getLogger(__name__)


def recover_archive(
    sessions: sessionmaker[Session],
    warc_dir: Path,
    seeds: Seeds,
    log: Log,
    *,
    channels: Collection[str] | None = None,
    no_run_is_ours: bool = False,
) -> list[int]:
    """Recover the runs left `running` by a process that is gone (with `channels`, only those
    holding one of their locks); returns their ids.

    First what they archived is catalogued from their WARC files (their `.open` files closed
    first, cut back to their last complete record where a crash cut one), so a run is never
    marked before that is done: if it fails, the next attempt does it again. Then each run
    becomes `interrupted`, with the counts, finish reason and stats its crawls last reported,
    and its channel locks are freed. `no_run_is_ours`: a run recorded with this process's
    PID is from an earlier process that had the same PID (a container's service often does,
    after a restart); never so where this process runs crawls of its own.
    """
    host, me = socket.gethostname(), os.getpid()

    def is_alive(run_host: str, pid: int) -> bool:
        return run_host == host and not (no_run_is_ours and pid == me) and pid_is_alive(pid)

    now = datetime.now(UTC)
    with sessions() as session:
        dead = dead_runs(
            session, host=host, is_alive=is_alive, now=now, stale_after=STALE_AFTER,
            channels=channels,
        )  # fmt: skip
        found = {run.id: run.started_at for run in dead}
        crawled = {ref for run in dead for ref in run.channels}
    recover_warc_files(warc_dir, log)
    if found:
        catalogue_archived(sessions, warc_dir, seeds, min(found.values()), crawled, log)
    return _mark_dead(sessions, warc_dir, found, host, is_alive, log)


def _mark_dead(
    sessions: sessionmaker[Session],
    warc_dir: Path,
    found: dict[int, datetime],
    host: str,
    is_alive: IsAlive,
    log: Log,
) -> list[int]:
    """Mark the runs `found` dead `interrupted` from their reports, and free their locks."""
    with sessions.begin() as session:
        # Found dead again under the lock: another process may have recovered one meanwhile.
        recovered = recover_dead_runs(
            session, host=host, is_alive=is_alive, now=datetime.now(UTC),
            stale_after=STALE_AFTER, run_ids=list(found),
        )  # fmt: skip
        for run_id in recovered:
            record_last_report(session, run_id, warc_dir.parent / "logs", log)
    for run_id in recovered:
        log(f"run {run_id} was left running by a process that is gone: marked interrupted")
    return recovered


def recover_taken_over(
    sessions: sessionmaker[Session],
    run_ids: Collection[int],
    warc_dir: Path,
    seeds: Seeds,
    log: Log,
) -> None:
    """What `recover_archive` does for runs whose locks a crawl took over (already marked
    `interrupted` by then): catalogue what they archived, and record their reports."""
    if not run_ids:
        return
    with sessions() as session:
        runs = session.scalars(select(Run).where(Run.id.in_(list(run_ids)))).all()
        crawled = {ref for run in runs for ref in run.channels}
        started = [run.started_at for run in runs]
    recover_warc_files(warc_dir, log)
    if started:
        catalogue_archived(sessions, warc_dir, seeds, min(started), crawled, log)
    with sessions.begin() as session:
        for run_id in run_ids:
            record_last_report(session, run_id, warc_dir.parent / "logs", log)


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
    catalogue). What is catalogued already is left as it is (see scheduler/reindex.py), so
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
        f"cannot catalogue {len(files)} WARC file(s) written since {since.isoformat()}: "
        f"{_one_line(failure)}; `cppcc-archive verify --repair` tries again"
    )
    return None


def _reindex(
    sessions: sessionmaker[Session], files: list[Path], seeds: Seeds, channels: Collection[str]
) -> ReindexReport:
    report = ReindexReport()
    with sessions.begin() as session:
        upsert_site_channels(session, seeds_rows(seeds))
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
            if len(found) != 1:
                continue  # which of them listed the article is not in the files
            captured = select(Capture.article_id).where(Capture.warc_filename.in_(names))
            session.execute(
                update(ArticleRecord)
                .where(
                    ArticleRecord.site == site,
                    ArticleRecord.channel == "",
                    ArticleRecord.id.in_(captured),
                )
                .values(channel=found.pop())
            )


def record_last_report(session: Session, run_id: int, logs_dir: Path, log: Log) -> None:
    """Give a recovered run what its crawls' reports last said: their counts, and the finish
    reason and stats of those that got as far as their `finished` line. Its status stays."""
    run = session.get(Run, run_id)
    if run is None:
        return
    counts: dict[str, int] = {}
    stats: dict[str, Any] = {}
    finish_reason = None
    for site in dict.fromkeys(ref.partition("/")[0] for ref in run.channels):
        reader = ReportReader(report_path(logs_dir, run_id, site), site, None)
        try:
            reader.read()  # a missing file reads as nothing
        except (OSError, ValueError, KeyError) as exc:  # a line garbled by the crash
            log(f"run {run_id}: cannot read {reader.path} ({exc}): its counts are left out")
            continue
        finished = reader.finished or {}
        for name, value in finished.get("counts", reader.counts).items():
            if name in RUN_COUNTS:  # a count newer crawlers report is kept in the stats only
                counts[name] = counts.get(name, 0) + int(value)
        if reader.finished is not None:
            stats[site] = finished.get("stats", {})
            finish_reason = finished.get("finish_reason", finish_reason)
    if counts or stats:
        finish_run(
            session,
            run_id,
            status=run.status,
            finished_at=run.finished_at or datetime.now(UTC),
            exit_code=run.exit_code,
            finish_reason=finish_reason,
            error=run.error,
            counts=counts,
            stats=stats or None,
        )


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
