"""The background service: one APScheduler job per channel, each run a crawl subprocess."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from pipelines.archive.recover import recover_warc_files
from pipelines.archive.tidy import TidySettings
from pipelines.catalogue.locks import ChannelBusy
from pipelines.catalogue.queries import last_finished_by_channel
from pipelines.errors import CppccArchiveError
from pipelines.health.settings import HealthSettings
from pipelines.home import ArchiveHome
from pipelines.seeds import Channel, Seeds
from scheduler.launcher import RunResult, launch_crawl
from scheduler.progress import describe_counts
from scheduler.stopping import GRACE_SECONDS, CrawlStopper
from scheduler.timing import DEFAULT_TIDY_SCHEDULE, cron_trigger, load_seeds, missed_slot

logger = logging.getLogger("cppcc_archive.service")
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Once asked to stop cleanly, a crawl gets GRACE_SECONDS before it is forced; the extra time
# is for it to write its report and for its run to be recorded.
CLEAN_STOP_WAIT = GRACE_SECONDS + 10
TIDY_JOB_ID = TIDY_EXECUTOR = "tidy"


@dataclass(frozen=True)
class ServiceSettings:
    """What `cppcc-archive serve` is told: where the archive is, and how hard to work."""

    home: Path
    database_url: str
    seeds_path: Path
    max_concurrent: int = 2  # channels crawling at once
    grace: float = 30.0  # seconds running crawls get to finish when the service stops
    time_limit: int = 3600  # seconds one run may take before it is stopped and failed
    tidy: TidySettings = field(default_factory=TidySettings)  # WARC files packed, crawl logs kept
    tidy_schedule: str | None = DEFAULT_TIDY_SCHEDULE  # cron, Asia/Shanghai; None: never
    log_level: int = logging.INFO  # WARNING with --quiet, DEBUG with --verbose
    metrics_port: int | None = None  # /metrics on 127.0.0.1 at this port (0: any); None: off
    health: HealthSettings = field(default_factory=HealthSettings)  # what the metrics judge by


class RunningCrawls:
    """The crawls this service started and has not seen end, and a way to stop them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stoppers: dict[str, CrawlStopper] = {}
        self._stopping = False
        self.seeds: dict[str, Seeds] = {}  # read once at start: edits take effect on restart
        self.errors = 0  # runs that broke in our own code

    def register(self, ref: str, stopper: CrawlStopper) -> bool:
        """Count a crawl as running; False (start nothing) once the service is stopping."""
        with self._lock:
            if self._stopping:
                return False
            self._stoppers[ref] = stopper
            return True

    def unregister(self, ref: str) -> None:
        with self._lock:
            self._stoppers.pop(ref, None)

    def begin_stopping(self) -> None:
        with self._lock:
            self._stopping = True

    @property
    def stopping(self) -> bool:
        with self._lock:
            return self._stopping

    def count(self) -> int:
        with self._lock:
            return len(self._stoppers)

    def stop_all(self) -> None:
        """Ask every running crawl to stop; asked again, each is stopped one step more firmly."""
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
    stopper = CrawlStopper()
    if not RUNNING.register(ref, stopper):
        return
    started = time.monotonic()
    try:
        result = _crawl_channel(ref, seeds_path, Path(home), database_url, time_limit, stopper)
    finally:
        RUNNING.unregister(ref)
    if result is None:
        return
    why = f" ({result.error})" if result.error else ""
    # A run that did not finish is a warning: `serve --quiet` still shows it.
    logger.log(
        logging.INFO if result.status == "finished" else logging.WARNING,
        "run %s %s in %.1f s: %s: %s%s",
        result.run_id,
        result.status,
        time.monotonic() - started,
        ref,
        describe_counts(result.counts),
        why,
    )
    if result.status != "finished":
        # A crawl stopped firmly may have left its WARC file `.open`: close it now, not at
        # the next start, which may be months away.
        recover_warc_files(ArchiveHome(Path(home)).warc, logger.info)


def _crawl_channel(
    ref: str,
    seeds_path: str,
    home: Path,
    database_url: str,
    time_limit: int,
    stopper: CrawlStopper,
) -> RunResult | None:
    seeds = RUNNING.seeds.get(seeds_path) or load_seeds(seeds_path)
    site, _, key = ref.partition("/")
    try:
        return launch_crawl(
            seeds,
            [seeds.site(site).channel(key)],
            home=home,
            database_url=database_url,
            trigger="schedule",
            time_limit=time_limit,
            stopper=stopper,
            on_started=lambda run_id: logger.info("run %s started: %s (schedule)", run_id, ref),
        )
    except ChannelBusy as busy:
        logger.info("%s: not started: %s", ref, busy)
    except CppccArchiveError as exc:
        RUNNING.errors += 1
        logger.error("%s: the run could not be made: %s", ref, exc)
    except Exception:  # a bug of ours must not end the service: logged in full, and counted
        RUNNING.errors += 1
        logger.exception("%s: the run broke (errors so far: %s)", ref, RUNNING.errors)
    return None


def build_scheduler(
    settings: ServiceSettings,
    seeds: Seeds,
    last_finished: dict[str, datetime],
    now: datetime,
) -> BackgroundScheduler:
    """A scheduler with one job per enabled channel; channels that missed a slot run now."""
    RUNNING.seeds[str(settings.seeds_path)] = seeds
    scheduler = BackgroundScheduler(
        timezone=SHANGHAI,
        executors={
            "default": ThreadPoolExecutor(max_workers=settings.max_concurrent),
            # The tidy job's own thread: a long packing never takes a channel's slot.
            TIDY_EXECUTOR: ThreadPoolExecutor(max_workers=1),
        },
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    add_channel_jobs(
        scheduler, seeds, last_finished, now,
        target="scheduler.service:run_scheduled_crawl", kind="crawl",
        args=lambda channel: _job_args(settings, channel),
    )  # fmt: skip
    if settings.tidy_schedule is not None:
        add_tidy_job(scheduler, settings.home, settings.database_url, settings.tidy,
                     settings.tidy_schedule, executor=TIDY_EXECUTOR)  # fmt: skip
    return scheduler


def _job_args(settings: ServiceSettings, channel: Channel) -> list[object]:
    return [
        channel.ref,
        str(settings.seeds_path),
        str(settings.home),
        settings.database_url,
        settings.time_limit,
    ]


def add_channel_jobs(
    scheduler: BackgroundScheduler,
    seeds: Seeds,
    last_finished: dict[str, datetime],
    now: datetime,
    *,
    target: str,
    kind: str,
    args: Callable[[Channel], list[object]],
) -> None:
    """One job per enabled channel at its slots (`target` called with `args(channel)`), id
    `KIND:site/channel`; a channel that missed a slot since its last finished run runs now.
    The service crawls at the slots, the dispatcher queues crawls (queue/dispatch.py)."""
    for channel in seeds.channels():
        if not channel.enabled:
            continue
        trigger = cron_trigger(channel.schedule)
        due_now = missed_slot(trigger, last_finished.get(channel.ref), now)
        scheduler.add_job(
            target,
            trigger=trigger,
            args=args(channel),
            id=f"{kind}:{channel.ref}",
            name=f"{kind} {channel.ref}",
            replace_existing=True,
            **({"next_run_time": now} if due_now else {}),
        )


def add_tidy_job(
    scheduler: BackgroundScheduler,
    home: Path,
    database_url: str,
    tidy: TidySettings,
    schedule: str,
    executor: str = "default",
) -> None:
    """The daily tidy of `home` (scheduler/tidy_job.py), for the service and each worker."""
    scheduler.add_job(
        "scheduler.tidy_job:run_tidy",
        trigger=cron_trigger(schedule),
        args=[str(home), database_url, tidy.pack_below, tidy.pack_min_age.total_seconds(),
              tidy.log_retention.total_seconds()],
        id=TIDY_JOB_ID,
        name="tidy (pack WARC files, expire crawl logs)",
        executor=executor,
        replace_existing=True,
    )  # fmt: skip


def last_finished_times(sessions: sessionmaker[Session]) -> dict[str, datetime]:
    """When each channel's latest finished run started: an interrupted or failed run does not
    count as having kept the channel current."""
    with sessions() as session:
        return {ref: run.started_at for ref, run in last_finished_by_channel(session).items()}


class StopSignals:
    """SIGINT/SIGTERM while serving: the first asks for a clean stop, the second for now.

    The handler only sets events: the main loop acts on them, so a signal can never
    interrupt code that holds a lock the handler would need.
    """

    def __init__(self) -> None:
        self.first = threading.Event()
        self.second = threading.Event()

    @contextmanager
    def installed(self) -> Iterator[None]:
        stop_signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in stop_signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: object) -> None:
        (self.second if self.first.is_set() else self.first).set()


def serve_until_stopped(
    scheduler: BackgroundScheduler,
    settings: ServiceSettings,
    signals: StopSignals,
    log: Callable[[str], None],
    on_started: Callable[[], None] = lambda: None,
) -> None:
    """Run the schedule until a signal; then stop starting runs and let running ones end."""
    scheduler.start()
    on_started()
    while not signals.first.wait(0.5):
        pass
    RUNNING.begin_stopping()
    scheduler.shutdown(wait=False)
    if RUNNING.count():
        log(f"stopping: {RUNNING.count()} crawl(s) running, waiting up to {settings.grace:.0f} s")
        if (
            not RUNNING.wait_until_none(settings.grace, signals.second)
            and not signals.second.is_set()
        ):
            log("stopping the running crawls cleanly")
            RUNNING.stop_all()
            RUNNING.wait_until_none(CLEAN_STOP_WAIT, signals.second)
    if signals.second.is_set() and RUNNING.count():
        log("second signal: stopping at once")
        RUNNING.stop_all()  # one step firmer: a clean stop if none was asked yet, else forced
        RUNNING.wait_until_none(3, threading.Event())
