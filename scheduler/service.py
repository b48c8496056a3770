"""The background service: one APScheduler job per channel, each run a crawl subprocess."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from crawler.seeds import Channel, Seeds, cron_trigger, load_seeds
from pipelines.catalogue.locks import ChannelBusy
from pipelines.catalogue.queries import last_runs_by_channel
from pipelines.errors import CppccArchiveError
from scheduler.launcher import launch_crawl
from scheduler.progress import describe_counts
from scheduler.stopping import GRACE_SECONDS, CrawlStopper
from scheduler.timing import missed_slot

logger = logging.getLogger("cppcc_archive.service")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class ServiceSettings:
    """What `cppcc-archive serve` is told: where the archive is, and how hard to work."""

    home: Path
    database_url: str
    seeds_path: Path
    max_concurrent: int = 2  # channels crawling at once
    grace: float = 30.0  # seconds running crawls get to finish when the service stops
    time_limit: int = 3600  # seconds one run may take before it is stopped and failed


class RunningCrawls:
    """The crawls this service started and has not seen end, and a way to stop them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stoppers: dict[str, CrawlStopper] = {}
        self.stopping = threading.Event()  # set: start no new run

    @contextmanager
    def running(self, ref: str, stopper: CrawlStopper) -> Iterator[None]:
        with self._lock:
            self._stoppers[ref] = stopper
        try:
            yield
        finally:
            with self._lock:
                self._stoppers.pop(ref, None)

    def count(self) -> int:
        with self._lock:
            return len(self._stoppers)

    def stop_all(self) -> None:
        """Ask every running crawl to stop; asked again, each is stopped more firmly."""
        with self._lock:
            stoppers = list(self._stoppers.values())
        for stopper in stoppers:
            stopper.request("signal")

    def wait_until_none(self, seconds: float, interrupted: threading.Event) -> bool:
        """Wait for the running crawls to end; False at the deadline or on `interrupted`."""
        deadline = time.monotonic() + seconds
        while self.count() and time.monotonic() < deadline and not interrupted.is_set():
            time.sleep(0.1)
        return self.count() == 0


# One service per process owns the scheduler and these crawls.
RUNNING = RunningCrawls()


def run_scheduled_crawl(
    ref: str, seeds_path: str, home: str, database_url: str, time_limit: int
) -> None:
    """The job of one channel: crawl it now, unless the service is stopping or it is busy.

    Its arguments are plain values, so the job could live in a persistent job store.
    """
    if RUNNING.stopping.is_set():
        return
    seeds = load_seeds(seeds_path)
    site, _, key = ref.partition("/")
    channel = seeds.site(site).channel(key)
    # Once asked to stop, a crawl gets GRACE_SECONDS to close its files before it is forced
    # (the service's own --grace is how long it lets crawls run on before asking).
    stopper = CrawlStopper()
    started = time.monotonic()
    with RUNNING.running(ref, stopper):
        try:
            result = launch_crawl(
                seeds,
                [channel],
                home=Path(home),
                database_url=database_url,
                trigger="schedule",
                time_limit=time_limit,
                stopper=stopper,
                on_started=lambda run_id: logger.info("run %s started: %s (schedule)", run_id, ref),
            )
        except ChannelBusy as busy:
            logger.info("%s: not started: %s", ref, busy)
            return
        except CppccArchiveError as exc:
            logger.error("%s: the run could not be made: %s", ref, exc)
            return
    seconds = time.monotonic() - started
    why = f" ({result.error})" if result.error else ""
    logger.info(
        "run %s %s in %.1f s: %s: %s%s",
        result.run_id,
        result.status,
        seconds,
        ref,
        describe_counts(result.counts),
        why,
    )


def build_scheduler(
    settings: ServiceSettings,
    seeds: Seeds,
    last_runs: dict[str, datetime],
    now: datetime,
) -> BackgroundScheduler:
    """A scheduler with one job per enabled channel; channels that missed a slot run now."""
    scheduler = BackgroundScheduler(
        timezone=SHANGHAI,
        executors={"default": ThreadPoolExecutor(max_workers=settings.max_concurrent)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    for channel in seeds.channels():
        if not channel.enabled:
            continue
        trigger = cron_trigger(channel.schedule)
        due_now = missed_slot(trigger, last_runs.get(channel.ref), now)
        scheduler.add_job(
            "scheduler.service:run_scheduled_crawl",
            trigger=trigger,
            args=_job_args(settings, channel),
            id=f"crawl:{channel.ref}",
            name=f"crawl {channel.ref}",
            replace_existing=True,
            **({"next_run_time": now} if due_now else {}),
        )
    return scheduler


def _job_args(settings: ServiceSettings, channel: Channel) -> list[object]:
    return [
        channel.ref,
        str(settings.seeds_path),
        str(settings.home),
        settings.database_url,
        settings.time_limit,
    ]


def last_run_times(sessions: sessionmaker[Session]) -> dict[str, datetime]:
    """When each channel's latest run started, whoever started it."""
    with sessions() as session:
        return {ref: run.started_at for ref, run in last_runs_by_channel(session).items()}


class StopSignals:
    """SIGINT/SIGTERM while serving: the first asks for a clean stop, the second for now."""

    def __init__(self) -> None:
        self.first = threading.Event()
        self.second = threading.Event()

    @contextmanager
    def installed(self) -> Iterator[None]:
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: object) -> None:
        (self.second if self.first.is_set() else self.first).set()
        if self.second.is_set():
            RUNNING.stop_all()  # firmer each time it is asked


def serve_until_stopped(
    scheduler: BackgroundScheduler,
    settings: ServiceSettings,
    signals: StopSignals,
    log: Callable[[str], None],
) -> None:
    """Run the schedule until a signal; then stop starting runs and let running ones end."""
    scheduler.start()
    while not signals.first.wait(0.5):
        pass
    RUNNING.stopping.set()
    scheduler.shutdown(wait=False)
    if RUNNING.count():
        log(f"stopping: {RUNNING.count()} crawl(s) running, waiting up to {settings.grace:.0f} s")
        if not RUNNING.wait_until_none(settings.grace, signals.second):
            log("stopping the running crawls cleanly")
            RUNNING.stop_all()
            RUNNING.wait_until_none(GRACE_SECONDS + 10, signals.second)
    if signals.second.is_set():
        # Stopped at once: the next start salvages what the crawls left and marks their runs.
        RUNNING.stop_all()
        RUNNING.wait_until_none(5, threading.Event())
