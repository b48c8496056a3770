"""`cppcc-archive serve`: the service's composition root."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from pipelines.archive.recover import recover_warc_files
from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.schema import ensure_schema
from pipelines.display import display_time
from pipelines.home import ArchiveHome
from pipelines.recheck import parse_now
from pipelines.seeds import Seeds
from scheduler.log_format import BeijingTimeFormatter
from scheduler.recovery import recover_archive
from scheduler.schedule_view import schedule_rows  # here too, where web/ imports it from
from scheduler.service import (
    RUNNING,
    SHANGHAI,
    ServiceSettings,
    StopSignals,
    build_scheduler,
    last_finished_times,
    serve_until_stopped,
)
from scheduler.timing import load_seeds, schedule_intervals

logger = logging.getLogger("cppcc_archive.service")


def serve(settings: ServiceSettings) -> int:
    """Build the service's parts, recover from the last stop, and serve until a signal."""
    log_to_stderr(settings.log_level)
    seeds = load_seeds(settings.seeds_path)  # a bad seeds file stops us here, in one line
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)  # an unreachable catalogue too
        sessions = make_session_factory(engine)
        with metrics_beside(settings, sessions, seeds):  # a port taken stops us here, in one line
            home = ArchiveHome(settings.home)
            recover_archive(sessions, home, seeds, logger.info, no_run_is_ours=True)
            scheduler = build_scheduler(
                settings, seeds, last_finished_times(sessions), datetime.now(SHANGHAI)
            )
            signals = StopSignals()
            with signals.installed():
                serve_until_stopped(
                    scheduler, settings, signals, logger.info, lambda: _log_jobs(scheduler, seeds)
                )
    finally:
        engine.dispose()
    if signals.second.is_set() and RUNNING.count():
        # Stopped at once: do not wait for the crawl threads at exit. The crawls finish
        # closing their WARC files on their own when they see us gone (one forced to stop
        # leaves `.open` files: salvaged now if it is already dead, else at the next start),
        # and the next start marks their runs interrupted.
        recover_warc_files(ArchiveHome(settings.home).warc, logger.info)
        logger.info(
            "stopped at once; %s run(s) will be marked interrupted at the next start",
            RUNNING.count(),
        )
        sys.stderr.flush()
        os._exit(0)
    logger.info("stopped")
    return 0


@contextmanager
def metrics_beside(
    settings: ServiceSettings, sessions: sessionmaker[Session], seeds: Seeds
) -> Iterator[None]:
    """/metrics on loopback while the service runs, when a port is given (--metrics-port)."""
    if settings.metrics_port is None:
        yield
        return
    from scheduler.metrics import ArchiveCollector, metrics_served  # prometheus_client: only now

    simulated = parse_now(os.environ.get("CPPCC_NOW", ""))  # tests judge on simulated days

    def clock() -> datetime:
        return simulated or datetime.now(UTC)

    schedules = schedule_intervals(seeds, clock())
    collector = ArchiveCollector(sessions, schedules, settings.health, clock)
    with metrics_served(settings.metrics_port, collector) as url:
        logger.info("metrics: %s", url)
        yield


def log_to_stderr(level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(BeijingTimeFormatter())
    logging.basicConfig(level=level, handlers=[handler])
    # APScheduler says "Running job ..." for every run: our own start/end lines say more,
    # unless more is what was asked for.
    logging.getLogger("apscheduler").setLevel(
        max(level, logging.INFO) if level < logging.INFO else logging.WARNING
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The job queue's library logs each job deferred, started and ended: our own lines say
    # what happened; --verbose shows its too.
    logging.getLogger("procrastinate").setLevel(
        max(level, logging.WARNING) if level > logging.DEBUG else level
    )


def _log_jobs(scheduler: BackgroundScheduler, seeds: Seeds) -> None:
    scheduler_jobs = {job.id: job for job in scheduler.get_jobs()}
    channels = [job_id for job_id in scheduler_jobs if job_id.startswith("crawl:")]
    logger.info("serving %s channel(s) from %s", len(channels), seeds.path)
    for job in scheduler_jobs.values():
        when = job.next_run_time
        logger.info("%s: next run %s", job.name, display_time(when) if when else "never")


__all__ = ["load_seeds", "schedule_rows", "serve"]
