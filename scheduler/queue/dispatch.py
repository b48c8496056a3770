"""`cppcc-archive serve --dispatch`: the schedule turned into crawl jobs, by one elected leader.

Every `serve --dispatch` asks PostgreSQL for one session-level advisory lock; the one that
holds it leads: its APScheduler queues each channel's crawl at the channel's slots (and, on
taking the lead, the slots missed while no one led), and runs no crawl itself. The others
stand by and ask again every few seconds. The lock is the leader's connection's: when its
process dies or its host goes, PostgreSQL ends the session and frees the lock, and a standby
takes over. A leader that loses its connection stops dispatching at once (its lock may be
another's by then) and stands by.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import SQLAlchemyError

from pipelines.catalogue.engine import make_engine, make_session_factory, masked
from pipelines.catalogue.schema import ensure_schema
from pipelines.display import display_time
from pipelines.errors import CrawlError
from pipelines.seeds import Seeds
from scheduler.queue.database import (
    ensure_queue_schema,
    queue_conninfo,
    require_procrastinate,
    sync_app,
)
from scheduler.queue.jobs import KEEP_ENDED_JOBS_DAYS, enqueue_crawl, expire_ended_jobs
from scheduler.service import (
    SHANGHAI,
    ServiceSettings,
    StopSignals,
    add_channel_jobs,
    last_finished_times,
)
from scheduler.timing import cron_trigger, load_seeds

if TYPE_CHECKING:
    import procrastinate
    import psycopg
    from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger("cppcc_archive.dispatch")
# The advisory lock of the leader: two int4 keys, "CPPC" and 1 (pg_locks shows them as
# classid and objid).
LEAD_KEYS = (0x43505043, 1)
EXPIRE_SCHEDULE = "43 4 * * *"  # daily, Asia/Shanghai, in the small hours
STANDBY_POLL = 5.0  # seconds between a standby's asks, and between a leader's checks


class Leadership:
    """Whether this process leads the dispatch: it does while its connection holds the lock."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.name = f"cppcc-archive dispatch on {socket.gethostname()} pid {os.getpid()}"
        self._connection: psycopg.Connection[Any] | None = None

    def try_lead(self) -> bool:
        """Take the lead if no one holds it; True when this process holds it (now or already).

        A catalogue that cannot be reached is a psycopg.Error, for the caller to wait out.
        """
        import psycopg

        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(
                self.conninfo, autocommit=True, connect_timeout=10, application_name=self.name
            )
        row = self._connection.execute("SELECT pg_try_advisory_lock(%s, %s)", LEAD_KEYS).fetchone()
        return bool(row and row[0])

    def still_leading(self) -> bool:
        """Whether the connection holding the lock still answers (a lost one lost the lock)."""
        import psycopg

        if self._connection is None:
            return False
        try:
            self._connection.execute("SELECT 1")
        except psycopg.Error:
            self.close()
            return False
        return True

    def leader(self) -> str | None:
        """Who leads, as its connection names itself, when this process does not."""
        import psycopg

        if self._connection is None:
            return None
        try:
            row = self._connection.execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s",
                LEAD_KEYS,
            ).fetchone()
        except psycopg.Error:
            return None
        return str(row[0]) if row and row[0] else None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@dataclass
class Dispatching:
    """What the scheduled jobs queue crawls with: the leader's queue and seeds."""

    app: procrastinate.App | None = None
    seeds: Seeds | None = None
    queued: list[int] = field(default_factory=list)  # job ids this leader queued


DISPATCH = Dispatching()


def queue_scheduled_crawl(ref: str) -> None:
    """The job of one channel's slot: queue its crawl, unless one is waiting or running."""
    from procrastinate.exceptions import ConnectorException

    assert DISPATCH.app is not None and DISPATCH.seeds is not None
    site, _, key = ref.partition("/")
    channel = DISPATCH.seeds.site(site).channel(key)
    try:
        queued = enqueue_crawl(DISPATCH.app, DISPATCH.seeds, channel, trigger="schedule",
                               unless_running=True)  # fmt: skip
    except (ConnectorException, CrawlError) as exc:
        # Said, not raised: APScheduler would print a traceback. ConnectorException says only
        # "Database error": its cause says why.
        why = " ".join(str(exc.__cause__ or exc).split())
        logger.error("%s: its crawl could not be queued: %s", ref, why)
        return
    if queued.new:
        DISPATCH.queued.append(queued.job_id)
        logger.info("%s: queued job %s", ref, queued.job_id)
    else:
        state = "waiting" if queued.status == "todo" else "running"
        logger.info("%s: slot skipped: its job %s is still %s", ref, queued.job_id, state)


def build_dispatch_scheduler(
    seeds: Seeds, last_finished: dict[str, datetime], now: datetime
) -> BackgroundScheduler:
    """A scheduler queueing each enabled channel's crawl at its slots; missed slots now."""
    scheduler = BackgroundScheduler(
        timezone=SHANGHAI,
        executors={"default": ThreadPoolExecutor(max_workers=1)},  # queueing is quick
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    add_channel_jobs(
        scheduler, seeds, last_finished, now,
        target="scheduler.queue.dispatch:queue_scheduled_crawl", kind="queue",
        args=lambda channel: [channel.ref],
    )  # fmt: skip
    scheduler.add_job(
        "scheduler.queue.dispatch:expire_jobs",
        trigger=cron_trigger(EXPIRE_SCHEDULE),
        id="expire-jobs",
        name=f"expire crawl jobs ended over {KEEP_ENDED_JOBS_DAYS} days ago",
        replace_existing=True,
    )
    return scheduler


def _channels(scheduler: BackgroundScheduler) -> int:
    return sum(job.id.startswith("queue:") for job in scheduler.get_jobs())


def expire_jobs() -> None:
    """The leader's daily job: ended crawl jobs past their keeping deleted."""
    from procrastinate.exceptions import ConnectorException

    assert DISPATCH.app is not None
    try:
        expire_ended_jobs(DISPATCH.app)
    except ConnectorException as exc:
        logger.warning("old crawl jobs not expired (tried again tomorrow): %s",
                       " ".join(str(exc.__cause__ or exc).split()))  # fmt: skip


def dispatch(settings: ServiceSettings, poll: float = STANDBY_POLL) -> int:
    """Lead the dispatch when elected, stand by otherwise, until SIGTERM/SIGINT."""
    from scheduler.serve import log_to_stderr, metrics_beside

    conninfo = queue_conninfo(settings.database_url)
    require_procrastinate()
    seeds = load_seeds(settings.seeds_path)
    log_to_stderr(settings.log_level)
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        ensure_queue_schema(settings.database_url)
        sessions = make_session_factory(engine)
        signals = StopSignals()
        leadership = Leadership(conninfo)
        with (
            metrics_beside(settings, sessions, seeds),
            sync_app(conninfo).open() as app,
            signals.installed(),
        ):
            DISPATCH.app, DISPATCH.seeds = app, seeds
            try:
                while not signals.first.is_set():
                    if not _wait_for_the_lead(leadership, signals, poll):
                        break
                    scheduler = _schedule_or_step_down(sessions, seeds, leadership)
                    if scheduler is None:
                        signals.first.wait(poll)
                        continue
                    _lead(scheduler, leadership, signals, poll, _channels(scheduler))
            finally:
                leadership.close()
    finally:
        engine.dispose()
    logger.info("stopped")
    return 0


def _schedule_or_step_down(
    sessions: sessionmaker[Session], seeds: Seeds, leadership: Leadership
) -> BackgroundScheduler | None:
    """The leader's schedule, its missed slots due now; None, and the lead given up, when the
    catalogue fails to say when each channel last ran (a connection lost in an outage)."""
    try:
        last_finished = last_finished_times(sessions)
    except SQLAlchemyError as exc:
        leadership.close()
        logger.warning(
            "gave up the lead: cannot read when the channels last ran: %s",
            " ".join(str(getattr(exc, "orig", None) or exc).split()),
        )
        return None
    return build_dispatch_scheduler(seeds, last_finished, datetime.now(SHANGHAI))


def _wait_for_the_lead(leadership: Leadership, signals: StopSignals, poll: float) -> bool:
    """Ask for the lead until given it (True) or told to stop (False)."""
    import psycopg

    told = ""
    while not signals.first.is_set():
        try:
            if leadership.try_lead():
                return True
            line = f"standing by: {leadership.leader() or 'another dispatcher'} leads"
        except psycopg.Error as exc:
            leadership.close()
            line = (
                f"cannot reach the catalogue {masked(leadership.conninfo)} to lead the "
                f"dispatch: {' '.join(str(exc).split())}; trying again every {poll:.0f} s"
            )
        if line != told:  # said once, not every poll
            logger.info(line)
            told = line
        signals.first.wait(poll)
    return False


def _lead(
    scheduler: BackgroundScheduler,
    leadership: Leadership,
    signals: StopSignals,
    poll: float,
    channels: int,
) -> None:
    logger.info("leading (%s): queueing the crawls of %s channel(s) at their slots",
                leadership.name, channels)  # fmt: skip
    scheduler.start()
    for job in scheduler.get_jobs():
        logger.info("%s: next %s", job.name, display_time(job.next_run_time))
    while not signals.first.wait(poll):
        if not leadership.still_leading():
            logger.warning("lost the connection that held the lead: dispatching stopped")
            break
    scheduler.shutdown(wait=True)
