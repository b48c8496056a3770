"""Run a crawl of some channels as one run: recover, lock, crawl each site, record the end."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.engine import (
    catalogue_failure,
    make_engine,
    make_session_factory,
)
from pipelines.catalogue.schema import ensure_schema
from pipelines.errors import CppccArchiveError, CrawlError, UsageError
from pipelines.home import ArchiveHome
from pipelines.seeds import Channel, Seeds
from scheduler.crawl_process import RunPlan, run_site_crawl
from scheduler.heartbeat import HEARTBEAT, Heartbeat
from scheduler.run_record import (
    CATALOGUE_RETRY,
    CATALOGUE_RETRY_ENV,
    INTERRUPTED,
    RunResult,
    RunTally,
    begin_run,
    crash_message,
    record_crash,
    record_end,
)
from scheduler.run_storage import SweepsWhileCrawling, failure_reason, store_run_files
from scheduler.stopping import GRACE_SECONDS, CrawlStopper

ProgressCallback = Callable[[str, dict[str, int]], None]
Notice = Callable[[str], None]
logger = logging.getLogger(__name__)


def launch_crawl(
    seeds: Seeds,
    channels: Sequence[Channel],
    *,
    home: Path,
    database_url: str,
    trigger: str = "manual",
    max_list_pages: int = 0,
    time_limit: int = 0,
    on_progress: ProgressCallback | None = None,
    grace: float = GRACE_SECONDS,
    stopper: CrawlStopper | None = None,
    on_started: Callable[[int], None] | None = None,
    on_notice: Notice | None = None,
    catalogue_retry: float | None = None,
    lease: float | None = None,
) -> RunResult:
    """Run a crawl of `channels` (one subprocess per site, one after the other) as one run.

    A dead run holding one of the channels is recovered first (scheduler/recovery.py: what
    it archived is catalogued from its WARC files, it is marked `interrupted`). The run then
    takes the catalogue's lock of each channel (ChannelBusy, and no run, when another live
    run holds one). SIGINT or SIGTERM while it runs stop it politely and it is recorded
    `interrupted`; a second signal stops it firmly. `time_limit` seconds (0: none) after it
    started it is stopped the same way and recorded `failed`. A caller in another thread
    (the service) passes its own `stopper` to stop it. When the launcher itself fails, the
    run is recorded `failed` and a one-line CppccArchiveError raised.

    When the catalogue stops answering, the crawl stops; the launcher catalogues what it
    archived from its WARC files and records the run `failed`, trying again for
    `catalogue_retry` seconds (default: CPPCC_CATALOGUE_RETRY, else 120) while the catalogue
    cannot be reached; then it gives up with a CrawlError, the run left to recovery.
    `on_notice` is told what happens meanwhile, a line at a time (default: the log).

    `lease` (a queue worker's): the run beats at least three times a lease and may be taken for
    dead by any host once a lease passes without a beat (None: every 30 s, dead after 5 min).
    """
    from scheduler.recovery import recover_archive, recover_taken_over

    notice = on_notice or logger.warning
    retry = _catalogue_retry() if catalogue_retry is None else catalogue_retry
    engine = make_engine(database_url)
    try:
        ensure_schema(engine)
        sessions = make_session_factory(engine)
        refs = [channel.ref for channel in channels]
        recover_archive(sessions, ArchiveHome(home), seeds, notice, channels=refs)
        run_id, started_at, taken_over = begin_run(sessions, seeds, channels, trigger, lease)
        if on_started:
            on_started(run_id)
        plan = RunPlan(
            seeds, tuple(channels), run_id, home, database_url, max_list_pages, time_limit,
            started_at,
        )  # fmt: skip
        deadline = time.monotonic() + time_limit if time_limit else None
        stopper = stopper or CrawlStopper(deadline, grace, on_stop=notice)
        if stopper.deadline is None:
            stopper.deadline = deadline
        every = HEARTBEAT if lease is None else min(HEARTBEAT, lease / 3)
        with Heartbeat(sessions, run_id, stopper, every=every, notice=notice):
            # A run that died since recover_archive looked: taken over by this one.
            recover_taken_over(sessions, taken_over, ArchiveHome(home), seeds, notice)
            aggregate = _run_and_record(sessions, plan, on_progress, stopper, notice, retry)
    except SQLAlchemyError as exc:  # before the run began, or recovering another
        raise catalogue_failure(engine, exc) from None
    finally:
        engine.dispose()
    return aggregate.result(run_id)


def _catalogue_retry() -> float:
    text = os.environ.get(CATALOGUE_RETRY_ENV, "")
    try:
        return float(text) if text else CATALOGUE_RETRY
    except ValueError:
        raise UsageError(
            f"{CATALOGUE_RETRY_ENV}={text!r} is not a number of seconds (e.g. 120)"
        ) from None


def _run_and_record(
    sessions: sessionmaker[Session],
    plan: RunPlan,
    on_progress: ProgressCallback | None,
    stopper: CrawlStopper,
    notice: Notice,
    retry: float,
) -> RunTally:
    """Run the sites, then record how the run ended, whatever happened on the way."""
    aggregate = RunTally()
    warc_dir = ArchiveHome(plan.home).warc
    try:
        with SweepsWhileCrawling(warc_dir, sessions, notice):
            _run_sites(plan, aggregate, on_progress, stopper)
    except KeyboardInterrupt:  # a Ctrl-C outside a crawl subprocess
        aggregate.fail("interrupted", INTERRUPTED)
        record_end(sessions, plan, aggregate, notice)
        raise
    except Exception as exc:
        # Not swallowed: recorded on the run, and raised on as one line with its cause.
        aggregate.status, aggregate.error = "failed", crash_message(exc, plan.home)
        record_crash(sessions, plan, aggregate, notice)
        if isinstance(exc, CppccArchiveError):
            raise
        raise CrawlError(aggregate.error) from exc
    # Its closed WARC files go to the object store (with --storage) before the run ends; a
    # file that could not go fails the run, so `runs`, `health` and the alerts say so.
    failed = failure_reason(store_run_files(sessions, warc_dir, notice), warc_dir)
    if failed:
        aggregate.fail("failed", failed)
    record_end(sessions, plan, aggregate, notice, retry)
    return aggregate


def _run_sites(
    plan: RunPlan,
    aggregate: RunTally,
    on_progress: ProgressCallback | None,
    stopper: CrawlStopper,
) -> None:
    with stopper.forwarding_signals():
        for site in plan.sites():
            time_left = stopper.time_left()
            if stopper.reason == "signal":
                aggregate.fail("interrupted", f"{site}: {INTERRUPTED}")
                break
            if stopper.reason or (time_left is not None and time_left <= 0):
                aggregate.fail("failed", f"{site}: hit its time limit of {plan.time_limit} s")
                break
            outcome = run_site_crawl(plan.site_crawl(site, time_left), on_progress, stopper=stopper)
            aggregate.add(site, outcome)
