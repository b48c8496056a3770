"""`cppcc-archive worker`: claim channel-crawl jobs from the queue and run them, until a signal.

The composition root of a worker process. procrastinate fetches the jobs (LISTEN/NOTIFY, with
polling as a fallback), runs up to `concurrency` at once (each in a thread, where the launcher
runs its `scrapy crawl` subprocess, as in `serve`), and beats a heartbeat of the worker in
PostgreSQL every quarter lease. Every worker also releases the jobs of workers that stopped
beating for a lease (killed, their host down): procrastinate finds them, but leaves running
them again to its user.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import SQLAlchemyError

from pipelines.archive.recover import recover_warc_files
from pipelines.archive.tidy import TidySettings
from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.locks import ChannelBusy
from pipelines.catalogue.models import Run
from pipelines.catalogue.schema import ensure_schema
from pipelines.errors import CatalogueError, CppccArchiveError, CrawlError
from pipelines.home import ArchiveHome
from pipelines.seeds import Seeds
from scheduler.progress import describe_counts
from scheduler.queue.database import ensure_queue_schema, queue_conninfo, require_procrastinate
from scheduler.queue.jobs import QUEUE, WORKER_CONTEXT, RunAgain, register_tasks
from scheduler.queue.liveness import guarded_worker, quieten_libraries, watch_standing
from scheduler.recovery import recover_archive
from scheduler.service import (
    CLEAN_STOP_WAIT,
    RUNNING,
    SHANGHAI,
    RunningCrawls,
    StopSignals,
    add_tidy_job,
)
from scheduler.stopping import CrawlStopper
from scheduler.timing import DEFAULT_TIDY_SCHEDULE, load_seeds

if TYPE_CHECKING:
    from procrastinate.worker import Worker

logger = logging.getLogger("cppcc_archive.worker")
CATALOGUE_UNREACHABLE = "catalogue_unreachable"  # a run's finish_reason (pipelines/stats.py)
DEFAULT_LEASE = 60.0


@dataclass(frozen=True)
class WorkerSettings:
    """What `cppcc-archive worker` is told."""

    home: Path
    database_url: str
    seeds_path: Path
    concurrency: int = 1  # crawl jobs at once (each a channel; never two of one host)
    lease: float = DEFAULT_LEASE  # seconds without a sign of life before a job is taken back
    grace: float = 30.0  # seconds running crawls get to finish when the worker stops
    time_limit: int = 3600  # seconds one run may take before it is stopped and failed
    tidy: TidySettings = field(default_factory=TidySettings)  # this home's packing, log expiry
    tidy_schedule: str | None = DEFAULT_TIDY_SCHEDULE  # cron, Asia/Shanghai; None: never


class WorkerState:
    """The worker's crawls: each job's run through the launcher, and a way to stop them all."""

    def __init__(self, settings: WorkerSettings, seeds: Seeds) -> None:
        self.settings = settings
        self.seeds = seeds
        # The process's own registry: the tidy job stops when it says the worker is stopping.
        self.crawls = RUNNING

    def crawl(self, ref: str, trigger: str, max_list_pages: int, job_id: int | None) -> str:
        """Run job `job_id`: crawl `ref` now. RunAgain when it must run later (or elsewhere)."""
        from scheduler.launcher import launch_crawl

        site, _, key = ref.partition("/")
        channel = self.seeds.site(site).channel(key)  # SeedsError: this host's seeds lack it
        stopper = CrawlStopper(grace=self.settings.grace)
        if not self.crawls.register(ref, stopper):
            raise RunAgain(f"{ref}: not started, the worker is stopping", after=0)
        started = time.monotonic()
        try:
            result = launch_crawl(
                self.seeds,
                [channel],
                home=self.settings.home,
                database_url=self.settings.database_url,
                trigger=trigger,
                max_list_pages=max_list_pages,
                time_limit=self.settings.time_limit,
                stopper=stopper,
                lease=self.settings.lease,
                # A run that cannot record its end for a lease is taken for dead, and its
                # worker gives up too (liveness.py): no point trying longer.
                catalogue_retry=self.settings.lease,
                on_started=lambda run_id: logger.info(
                    "job %s: run %s started: %s (%s)", job_id, run_id, ref, trigger
                ),
                on_notice=logger.warning,
            )
        except ChannelBusy as busy:
            logger.info("job %s: %s: not started: %s", job_id, ref, busy)
            raise RunAgain(str(busy), after=self.settings.lease) from None
        except CppccArchiveError as exc:  # said here: procrastinate's own line is quietened
            logger.warning("job %s: %s: %s", job_id, ref, exc)
            raise
        finally:
            self.crawls.unregister(ref)
        why = f" ({result.error})" if result.error else ""
        line = (
            f"run {result.run_id} {result.status} in {time.monotonic() - started:.1f} s: "
            f"{ref}: {describe_counts(result.counts)}{why}"
        )
        logger.log(logging.INFO if result.status == "finished" else logging.WARNING, "job %s: %s",
                   job_id, line)  # fmt: skip
        if result.status != "finished":
            # A crawl stopped firmly may have left its WARC file `.open`: close it now.
            recover_warc_files(ArchiveHome(self.settings.home).warc, logger.info)
        if result.status == "interrupted" and self.crawls.stopping:
            raise RunAgain(f"{line}; the worker stopped: queued again", after=0)
        if result.status == "failed" and self._lost_its_catalogue(result.run_id):
            # No fault of the site's, and the next slot may be hours away: run it again once
            # the catalogue answers (it did: the run's end is recorded).
            logger.info("job %s: %s: queued again, the catalogue stopped answering", job_id, ref)
            raise RunAgain(f"{line}; queued again", after=self.settings.lease)
        if result.status != "finished":
            raise CrawlError(line)
        return line

    def _lost_its_catalogue(self, run_id: int) -> bool:
        """Whether run `run_id` stopped because the catalogue stopped answering."""
        engine = make_engine(self.settings.database_url)
        try:
            with make_session_factory(engine)() as session:
                run = session.get(Run, run_id)
                return run is not None and run.finish_reason == CATALOGUE_UNREACHABLE
        except SQLAlchemyError:
            return True  # it does not answer now either
        finally:
            engine.dispose()


def work(settings: WorkerSettings, log_level: int) -> int:
    """Recover this host's dead runs, then claim and run crawl jobs until SIGTERM/SIGINT."""
    from scheduler.serve import log_to_stderr

    conninfo = queue_conninfo(settings.database_url)
    require_procrastinate()
    seeds = load_seeds(settings.seeds_path)
    log_to_stderr(log_level)
    if log_level > logging.DEBUG:
        quieten_libraries()
    _recover_this_host(settings, seeds)
    ensure_queue_schema(settings.database_url)
    state = WorkerState(settings, seeds)
    signals = StopSignals()
    tidying = _tidy_scheduler(settings)
    with signals.installed():
        tidying.start()
        try:
            asyncio.run(_work(conninfo, state, signals))
        finally:
            tidying.shutdown(wait=True)  # a tidy stops at its next step: RUNNING is stopping
    logger.info("stopped")
    return 0


def _tidy_scheduler(settings: WorkerSettings) -> BackgroundScheduler:
    """The worker's daily tidy of its own home, as the service's (scheduler/tidy_job.py)."""
    scheduler = BackgroundScheduler(
        timezone=SHANGHAI,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    if settings.tidy_schedule is not None:
        add_tidy_job(scheduler, settings.home, settings.database_url, settings.tidy,
                     settings.tidy_schedule)  # fmt: skip
    return scheduler


def _recover_this_host(settings: WorkerSettings, seeds: Seeds) -> None:
    """Runs an earlier worker on this host left `running` (it was killed): catalogue what they
    archived here and mark them interrupted, as `serve` does at its start."""
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        recover_archive(
            make_session_factory(engine), ArchiveHome(settings.home), seeds, logger.info,
            no_run_is_ours=True,
        )  # fmt: skip
    finally:
        engine.dispose()


async def _work(conninfo: str, state: WorkerState, signals: StopSignals) -> None:
    """Run procrastinate's worker until a signal, or until this worker is lost to the queue:
    its worker stopped of itself, or the other workers may take it for dead (a catalogue out
    of reach for a lease). Lost, its crawls stop at once and a one-line CatalogueError says so:
    the process must exit non-zero, for its supervisor to start it again."""
    import procrastinate

    settings = state.settings
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=conninfo, min_size=1, max_size=settings.concurrency + 4,
            # How long a query waits for a connection while the catalogue is away: a short
            # outage only delays a heartbeat; one of a lease ends the worker anyway.
            timeout=settings.lease,
        )
    )  # fmt: skip
    register_tasks(app)
    name = f"{socket.gethostname()}:{os.getpid()}"
    worker = guarded_worker(
        app,
        name=name,
        queues=[QUEUE],
        concurrency=settings.concurrency,
        install_signal_handlers=False,  # ours: a crawl gets its grace (StopSignals)
        update_heartbeat_interval=settings.lease / 4,
        stalled_worker_timeout=settings.lease,
        fetch_job_polling_interval=min(5.0, settings.lease / 2),
        additional_context={WORKER_CONTEXT: state},
        delete_jobs="successful",  # runs are the record; failed jobs stay to be seen
    )
    async with app.open_async():
        running = asyncio.create_task(worker.run(), name="procrastinate worker")
        standing = asyncio.create_task(watch_standing(app, worker, settings.lease))
        logger.info(
            "worker %s: claiming crawl jobs, %s at a time, lease %.0f s",
            name, settings.concurrency, settings.lease,
        )  # fmt: skip
        while not (signals.first.is_set() or running.done() or standing.done()):
            await asyncio.sleep(0.2)
        lost = None if signals.first.is_set() else _why_lost(running, standing)
        standing.cancel()
        if lost is None:
            await _stop(worker, state, signals)
        else:
            logger.warning("lost to the job queue: stopping its crawls at once")
            await _stop_at_once(worker, state, signals)
        # Recording the jobs' ends waits on the catalogue; not for ever.
        await asyncio.wait({running}, timeout=settings.lease + 5)
        if not running.done():
            logger.warning("the job queue did not answer: the jobs' ends are left to the lease")
    # The pool closed, what still waits on it ends at once.
    await asyncio.wait({running}, timeout=5)
    failed = running.exception() if running.done() and not running.cancelled() else None
    if lost is None and failed is not None:
        lost = CatalogueError(f"the job queue's worker failed on its way out: {_cause(failed)}")
    if lost is not None:
        raise lost


def _why_lost(running: asyncio.Task[None], standing: asyncio.Task[None]) -> CppccArchiveError:
    if standing.done() and not standing.cancelled():
        exc = standing.exception()
        if isinstance(exc, CppccArchiveError):
            return exc
        return CatalogueError(f"this worker cannot watch its standing in the queue: {_cause(exc)}")
    exc = None if running.cancelled() else running.exception()
    why = f": {_cause(exc)}" if exc else " (a task of its own failed: see above)"
    return CatalogueError(
        f"the job queue's worker stopped of itself{why}; its crawls were stopped and its jobs "
        "run again on any worker; start it again (systemd: Restart=on-failure)"
    )


def _cause(exc: BaseException | None) -> str:
    """procrastinate's ConnectorException says only "Database error": its cause says why."""
    return " ".join(str((exc and exc.__cause__) or exc).split())


async def _stop(worker: Worker, state: WorkerState, signals: StopSignals) -> None:
    """Claim nothing more; give running crawls their grace, then stop them cleanly; a second
    signal stops them at once. Their jobs are queued again (RunAgain) for any worker."""
    crawls, grace = state.crawls, state.settings.grace
    crawls.begin_stopping()
    worker.stop()  # procrastinate stops fetching, then waits for the running jobs
    if crawls.count():
        logger.info("stopping: %s crawl(s) running, waiting up to %.0f s", crawls.count(), grace)
    if not await _crawls_end(crawls, grace, signals) and not signals.second.is_set():
        logger.info("stopping the running crawls cleanly")
        crawls.stop_all()
        await _crawls_end(crawls, CLEAN_STOP_WAIT, signals)
    if signals.second.is_set() and crawls.count():
        logger.info("second signal: stopping at once")
        crawls.stop_all()


async def _stop_at_once(worker: Worker, state: WorkerState, signals: StopSignals) -> None:
    """Lost to the queue: its jobs may run elsewhere already, so the crawls get no grace."""
    crawls = state.crawls
    crawls.begin_stopping()
    worker.stop()
    if crawls.count():
        logger.info("stopping the running crawls cleanly")
        crawls.stop_all()
        if not await _crawls_end(crawls, CLEAN_STOP_WAIT, signals):
            crawls.stop_all()  # a second stop is a firm one


async def _crawls_end(crawls: RunningCrawls, seconds: float, signals: StopSignals) -> bool:
    deadline = time.monotonic() + seconds
    while crawls.count() and time.monotonic() < deadline and not signals.second.is_set():
        await asyncio.sleep(0.1)
    return crawls.count() == 0
