"""Run a crawl as a `scrapy crawl` subprocess and record its start, end, exit code and stats."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler.seeds import Channel, Seeds
from pipelines.catalogue.engine import (
    catalogue_failure,
    is_unreachable,
    make_engine,
    make_session_factory,
    masked,
)
from pipelines.catalogue.locks import (
    acquire_channel_locks,
    release_channel_locks,
    touch_heartbeat,
)
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writes import finish_run, start_run, upsert_site_channels
from pipelines.errors import CatalogueUnreachable, CppccArchiveError, CrawlError, UsageError
from pipelines.processes import pid_is_alive
from scheduler.stopping import GRACE_SECONDS, CrawlStopper

ProgressCallback = Callable[[str, dict[str, int]], None]
Notice = Callable[[str], None]
logger = logging.getLogger(__name__)

# A running run refreshes its heartbeat this often (seconds); a run on another host whose
# heartbeat is older than STALE_AFTER is presumed dead (its host crashed or lost power).
HEARTBEAT = 30.0
STALE_AFTER = timedelta(minutes=5)

INTERRUPTED = "stopped by a signal before it finished"

# How long a run whose end cannot be recorded (the catalogue stopped answering) keeps trying,
# and how often (seconds). Past that it gives up, and the next start recovers it as dead.
CATALOGUE_RETRY_ENV = "CPPCC_CATALOGUE_RETRY"
CATALOGUE_RETRY = 120.0
RETRY_EVERY = 2.0
# Stats saying a crawl archived records its catalogue writes lost: the launcher catalogues
# its WARC files again, from the files, before it records the run's end.
CATALOGUE_LOSSES = (
    "cppcc/errors/catalogue_unreachable",
    "cppcc/errors/catalogue_writer_lost",
    "cppcc/errors/records_not_catalogued",
    "cppcc/errors/item",
)


# What a crawl's own finish reasons mean, for the one line that says why a run failed.
EARLY_STOPS = {
    "catalogue_unreachable": "the catalogue stopped answering (is the database server up?); "
    "what the crawl archived is catalogued from its WARC files once it answers",
    "catalogue_writer_lost": "its catalogue writer process died (see the log)",
    "warc_write_error": "a page could not be written to the WARC files (is the disk full?)",
    "launcher_gone": "the process that started it went away",
}


@dataclass(frozen=True)
class SiteCrawl:
    """Everything one `scrapy crawl` subprocess needs: one site, some of its channels."""

    site: str
    channels: tuple[str, ...]
    seeds_path: Path
    home: Path
    database_url: str
    run_id: int
    report_path: Path
    log_path: Path
    max_list_pages: int = 0
    time_limit: int = 0  # the run's wall-clock limit in seconds (0: none)
    time_left: float = 0.0  # the part of it this crawl may use
    launcher_pid: int = 0  # the crawl stops itself when this process is gone (0: no watch)


def crawl_argv(crawl: SiteCrawl) -> list[str]:
    """The command line of the crawl subprocess (pure: no side effect)."""
    settings = {
        "CPPCC_HOME": str(crawl.home),
        "CPPCC_WARC_DIR": str(crawl.home / "warc"),
        "CPPCC_DATABASE_URL": crawl.database_url,
        "CPPCC_SEEDS": str(crawl.seeds_path),
        "CPPCC_RUN_ID": str(crawl.run_id),
        "CPPCC_REPORT_FILE": str(crawl.report_path),
    }
    if crawl.launcher_pid:
        settings["CPPCC_LAUNCHER_PID"] = str(crawl.launcher_pid)
    if crawl.time_limit:
        # Scrapy then stops itself cleanly (finish reason `closespider_timeout`); 0 would
        # mean "no limit" to it, hence the floor.
        settings["CLOSESPIDER_TIMEOUT"] = f"{max(crawl.time_left, 1.0):.1f}"
    argv = [sys.executable, "-m", "scrapy", "crawl", crawl.site]
    argv += ["-a", "channels=" + ",".join(crawl.channels)]
    argv += ["-a", f"max_list_pages={crawl.max_list_pages}"]
    for name, value in settings.items():
        argv += ["-s", f"{name}={value}"]
    return argv


@dataclass
class SiteOutcome:
    """What one crawl subprocess did, as far as its exit code and report tell."""

    exit_code: int
    finished: dict[str, Any] | None  # the report's `finished` event, None when it never came
    log_path: Path
    interrupted: bool = False
    counts: dict[str, int] = field(default_factory=dict)  # the last counts the report gave
    timed_out: bool = False
    time_limit: int = 0


@dataclass
class RunResult:
    """A whole run (one or more sites), as recorded in the catalogue."""

    run_id: int
    status: str
    error: str | None
    counts: dict[str, int]
    http_errors: list[dict[str, Any]] = field(default_factory=list)
    log_paths: list[Path] = field(default_factory=list)
    robots_txt: dict[str, int | None] = field(default_factory=dict)  # site: robots.txt status


def classify(outcome: SiteOutcome) -> tuple[str, str | None]:
    """(status, why) of one site's crawl: `finished`, `failed` or `interrupted`.

    Pages that answered 404 or 500 do not fail a crawl; they are counted and listed.
    """
    finished = outcome.finished
    reason = (finished or {}).get("finish_reason")
    if outcome.timed_out or reason == "closespider_timeout":
        return "failed", f"hit its time limit of {outcome.time_limit} s"
    if outcome.interrupted or reason == "shutdown":
        return "interrupted", INTERRUPTED
    if finished is None:
        return "failed", f"the crawl exited with code {outcome.exit_code} before it finished"
    stats = finished.get("stats", {})
    if outcome.exit_code != 0:
        return "failed", f"the crawl exited with code {outcome.exit_code}"
    if reason != "finished":
        why = EARLY_STOPS.get(str(reason), "see the log")
        return "failed", f"the crawl stopped early ({reason}): {why}"
    raised = sum(v for k, v in stats.items() if k.startswith("spider_exceptions/"))
    raised += int(stats.get("cppcc/errors/item", 0)) + int(stats.get("cppcc/warc/errors", 0))
    if raised:
        return "failed", f"{raised} errors raised in the crawler's own code (see the log)"
    if not stats.get("response_received_count"):
        return (
            "failed",
            f"no page could be fetched{_download_failures(stats)}: is the site reachable?",
        )
    unwalked = _unwalked_channels(stats)
    if unwalked:
        return "failed", "; ".join(unwalked)
    return "finished", None


def _unwalked_channels(stats: dict[str, Any]) -> list[str]:
    """`yw: list page 1 http://… answered 503` for each channel whose first list page could
    not be read: a channel that is down must not look like a quiet one."""
    found = []
    for key, value in sorted(stats.items()):
        parts = key.split("/")
        if parts[:2] == ["cppcc", "walk"] and parts[3:] == ["failed_at"] and value == 1:
            found.append(f"{parts[2]}: {stats.get(f'cppcc/walk/{parts[2]}/failure', 'failed')}")
    return found


def _download_failures(stats: dict[str, Any]) -> str:
    """`(DNSLookupError ×6)`: why downloads failed, as Scrapy's stats count them."""
    prefix = "downloader/exception_type_count/"
    failures = {
        k[len(prefix) :].rsplit(".", 1)[-1]: v for k, v in stats.items() if k.startswith(prefix)
    }
    failures.pop("IgnoreRequest", None)  # robots.txt refusals are not failures
    if not failures:
        return ""
    return " (" + ", ".join(f"{name} ×{count}" for name, count in sorted(failures.items())) + ")"


def run_site_crawl(
    crawl: SiteCrawl,
    on_progress: ProgressCallback | None = None,
    poll: float = 0.2,
    stopper: CrawlStopper | None = None,
) -> SiteOutcome:
    """Start the subprocess, follow its report, wait for it to end (or `stopper` to end it)."""
    stopper = stopper or CrawlStopper()
    crawl.log_path.parent.mkdir(parents=True, exist_ok=True)
    crawl.report_path.unlink(missing_ok=True)
    reader = ReportReader(crawl.report_path, crawl.site, on_progress)
    with crawl.log_path.open("ab") as log:
        exit_code = _follow(_start(crawl, log), reader, stopper, poll)
    reader.read()
    return SiteOutcome(
        exit_code,
        reader.finished,
        crawl.log_path,
        interrupted=stopper.reason == "signal",
        counts=reader.counts,
        timed_out=stopper.reason == "time_limit",
        time_limit=crawl.time_limit,
    )


def _start(crawl: SiteCrawl, log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        crawl_argv(crawl),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        env=dict(os.environ, SCRAPY_SETTINGS_MODULE="crawler.settings"),
        # Its own session, so a Ctrl-C at the terminal reaches the launcher only: the
        # terminal's SIGINT plus ours would make Scrapy stop at once, losing its WARC file.
        start_new_session=True,
    )


def _follow(
    process: subprocess.Popen[bytes], reader: ReportReader, stopper: CrawlStopper, poll: float
) -> int:
    stopper.attach(process)
    try:
        while True:
            try:
                return process.wait(timeout=poll)
            except subprocess.TimeoutExpired:
                reader.read()
                stopper.tick()
    finally:
        stopper.attach(None)
        if process.poll() is None:  # the launcher itself failed: leave no crawl behind
            process.kill()
            process.wait()


def report_path(logs_dir: Path, run_id: int, site: str) -> Path:
    """Where the crawl of `site` in run `run_id` writes its progress and final report."""
    return logs_dir / f"run-{run_id}-{site}.report.jsonl"


class ReportReader:
    """Follow the report file: pass progress on, keep the last counts and the `finished` event."""

    def __init__(self, path: Path, site: str, on_progress: ProgressCallback | None):
        self.path = path
        self.site = site
        self.on_progress = on_progress
        self.offset = 0
        self.counts: dict[str, int] = {}
        self.finished: dict[str, Any] | None = None

    def read(self) -> None:
        """Take in the lines completed since the last call."""
        try:
            with self.path.open("rb") as report:
                report.seek(self.offset)
                data = report.read()
        except FileNotFoundError:
            return
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.splitlines():
            event = json.loads(line)
            if event["event"] == "finished":
                self.finished = event
            if "counts" in event:
                self.counts = event["counts"]
                if self.on_progress:
                    self.on_progress(self.site, self.counts)


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
    """
    from scheduler.recovery import recover_archive, recover_taken_over

    notice = on_notice or logger.warning
    retry = _catalogue_retry() if catalogue_retry is None else catalogue_retry
    engine = make_engine(database_url)
    try:
        ensure_schema(engine)
        sessions = make_session_factory(engine)
        refs = [channel.ref for channel in channels]
        recover_archive(sessions, home / "warc", seeds, notice, channels=refs)
        run_id, started_at, taken_over = _start_run(sessions, seeds, channels, trigger)
        if on_started:
            on_started(run_id)
        plan = _RunPlan(
            seeds, tuple(channels), run_id, home, database_url, max_list_pages, time_limit,
            started_at,
        )  # fmt: skip
        deadline = time.monotonic() + time_limit if time_limit else None
        stopper = stopper or CrawlStopper(deadline, grace)
        if stopper.deadline is None:
            stopper.deadline = deadline
        with _Heartbeat(sessions, run_id, stopper, notice=notice):
            # A run that died since recover_archive looked: taken over by this one.
            recover_taken_over(sessions, taken_over, home / "warc", seeds, notice)
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


class _Heartbeat:
    """Refresh the run's heartbeat while it runs, so other hosts can tell it is alive."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        run_id: int,
        stopper: CrawlStopper,
        every: float = HEARTBEAT,
        notice: Notice | None = None,
    ):
        self.sessions = sessions
        self.run_id = run_id
        self.stopper = stopper
        self.every = every
        self.notice = notice or logger.warning
        self.missed = 0  # beats missed in a row
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                with self.sessions.begin() as session:
                    alive = touch_heartbeat(session, self.run_id, datetime.now(UTC))
            except SQLAlchemyError as exc:
                # A missed beat only makes the run look older; the crawl goes on. Said once
                # an outage: the catalogue being down is said where it matters, at the end.
                self.missed += 1
                if self.missed == 1:
                    self.notice(f"run {self.run_id}: cannot refresh its heartbeat: {_line(exc)}")
                continue
            self.missed = 0
            if not alive:
                # Another process judged this run dead (its heartbeat was late) and took its
                # channels: stop, or two runs of one channel would overlap.
                logger.error("run %s was taken for dead by another process: stopping", self.run_id)
                self.stopper.request("signal")
                return


@dataclass(frozen=True)
class _RunPlan:
    seeds: Seeds
    channels: tuple[Channel, ...]
    run_id: int
    home: Path
    database_url: str
    max_list_pages: int
    time_limit: int
    started_at: datetime

    def sites(self) -> list[str]:
        return list(dict.fromkeys(c.site for c in self.channels))

    def site_crawl(self, site: str, time_left: float | None) -> SiteCrawl:
        logs = self.home / "logs"
        return SiteCrawl(
            site=site,
            channels=tuple(c.key for c in self.channels if c.site == site),
            seeds_path=self.seeds.path,
            home=self.home,
            database_url=self.database_url,
            run_id=self.run_id,
            report_path=report_path(logs, self.run_id, site),
            log_path=logs / f"run-{self.run_id}-{site}.log",
            max_list_pages=self.max_list_pages,
            time_limit=self.time_limit,
            time_left=time_left or 0.0,
            launcher_pid=os.getpid(),
        )


@dataclass
class _Aggregate:
    status: str = "finished"
    error: str | None = None
    exit_code: int = 0
    finish_reason: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    http_errors: list[dict[str, Any]] = field(default_factory=list)
    log_paths: list[Path] = field(default_factory=list)
    robots_txt: dict[str, int | None] = field(default_factory=dict)

    def add(self, site: str, outcome: SiteOutcome) -> None:
        status, error = classify(outcome)
        self.log_paths.append(outcome.log_path)
        if status != "finished":
            self.fail(status, f"{site}: {error} (log: {outcome.log_path})")
        self.exit_code = self.exit_code or outcome.exit_code
        finished = outcome.finished or {}
        self.finish_reason = finished.get("finish_reason", self.finish_reason)
        # A crawl stopped before its report's end still said how far it got.
        for name, value in finished.get("counts", outcome.counts).items():
            self.counts[name] = self.counts.get(name, 0) + value
        self.stats[site] = finished.get("stats", {})
        self.http_errors += finished.get("http_errors", [])
        self.robots_txt[site] = finished.get("robots_txt_status")

    def fail(self, status: str, error: str) -> None:
        """Mark the run `status` for `error`, unless an earlier problem already did."""
        if self.status == "finished":
            self.status, self.error = status, error

    def result(self, run_id: int) -> RunResult:
        return RunResult(
            run_id,
            self.status,
            self.error,
            self.counts,
            self.http_errors,
            self.log_paths,
            self.robots_txt,
        )


def _start_run(
    sessions: sessionmaker[Session], seeds: Seeds, channels: Sequence[Channel], trigger: str
) -> tuple[int, datetime, list[int]]:
    """Record the run and take its channels' locks, in one transaction: both or neither.

    Returns the run's id, its start, and the runs it took locks over from (dead ones).
    """
    now, host, refs = datetime.now(UTC), socket.gethostname(), [c.ref for c in channels]
    with sessions.begin() as session:
        upsert_site_channels(session, seeds_rows(seeds))
        run_id = start_run(
            session, trigger=trigger, channels=refs, pid=os.getpid(), host=host, started_at=now
        )
        taken_over = acquire_channel_locks(
            session,
            refs,
            run_id=run_id,
            host=host,
            pid=os.getpid(),
            now=now,
            is_alive=lambda lock_host, pid: lock_host == host and pid_is_alive(pid),
            stale_after=STALE_AFTER,
        )
        return run_id, now, taken_over


def _run_and_record(
    sessions: sessionmaker[Session],
    plan: _RunPlan,
    on_progress: ProgressCallback | None,
    stopper: CrawlStopper,
    notice: Notice,
    retry: float,
) -> _Aggregate:
    """Run the sites, then record how the run ended, whatever happened on the way."""
    aggregate = _Aggregate()
    try:
        _run_sites(plan, aggregate, on_progress, stopper)
    except KeyboardInterrupt:  # a Ctrl-C outside a crawl subprocess
        aggregate.fail("interrupted", INTERRUPTED)
        _finish(sessions, plan, aggregate, notice)
        raise
    except Exception as exc:
        # Not swallowed: recorded on the run, and raised on as one line with its cause.
        aggregate.status, aggregate.error = "failed", _crash_message(exc, plan.home)
        _record_crash(sessions, plan, aggregate, notice)
        if isinstance(exc, CppccArchiveError):
            raise
        raise CrawlError(aggregate.error) from exc
    _finish(sessions, plan, aggregate, notice, retry)
    return aggregate


def _run_sites(
    plan: _RunPlan,
    aggregate: _Aggregate,
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


def _finish(
    sessions: sessionmaker[Session],
    plan: _RunPlan,
    aggregate: _Aggregate,
    notice: Notice,
    retry: float = 0.0,
) -> None:
    """Catalogue what the run archived but could not catalogue, then record how it ended and
    release its locks. While the catalogue cannot be reached, try again for `retry` seconds;
    then raise a one-line CrawlError (the run stays `running`, for recovery to find dead)."""
    from scheduler.recovery import catalogue_archived

    deadline = time.monotonic() + retry
    uncatalogued = _lost_writes(aggregate, notice)
    told = False
    while True:
        try:
            if uncatalogued:
                warc_dir = plan.home / "warc"
                refs = [channel.ref for channel in plan.channels]
                catalogue_archived(sessions, warc_dir, plan.seeds, plan.started_at, refs, notice)
                uncatalogued = False
            _record_end(sessions, plan.run_id, aggregate)
            return
        except (SQLAlchemyError, CatalogueUnreachable) as exc:
            unreachable = isinstance(exc, CatalogueUnreachable) or is_unreachable(exc)
            if not unreachable or time.monotonic() + RETRY_EVERY > deadline:
                raise _unrecorded(plan, exc, unreachable) from None
            if not told:
                told = True
                notice(
                    f"run {plan.run_id}: {_unreachable_line(plan, exc)}; trying again for "
                    f"{retry:.0f} s to record how it ended (Ctrl-C gives up)"
                )
            time.sleep(RETRY_EVERY)


def _lost_writes(aggregate: _Aggregate, notice: Notice) -> bool:
    """Whether a crawl of the run may have archived records its catalogue lacks: its stats
    say catalogue writes failed, or it ended without its report (killed, crashed)."""
    reported = [stats for stats in aggregate.stats.values() if stats]
    if any(int(stats.get(name, 0)) for stats in reported for name in CATALOGUE_LOSSES):
        return True
    if len(reported) == len(aggregate.stats):
        return False
    if aggregate.status == "interrupted":
        # Stopped at once: catalogued at the next recovery only if asked, not while the
        # user (or a stopping service) waits.
        notice(
            "the crawl was stopped before it could finish: `cppcc-archive verify --repair` "
            "catalogues what it archived last"
        )
        return False
    return True


def _record_end(sessions: sessionmaker[Session], run_id: int, aggregate: _Aggregate) -> None:
    with sessions.begin() as session:
        release_channel_locks(session, run_id)
        finish_run(
            session,
            run_id,
            status=aggregate.status,
            finished_at=datetime.now(UTC),
            exit_code=aggregate.exit_code,
            finish_reason=aggregate.finish_reason,
            error=aggregate.error,
            counts=aggregate.counts,
            stats=aggregate.stats,
        )


def _unrecorded(plan: _RunPlan, exc: BaseException, unreachable: bool) -> CrawlError:
    """The one line for a run whose end could not be recorded."""
    if not unreachable:
        return CrawlError(f"run {plan.run_id} could not be recorded: {_line(exc)}")
    channels = " ".join(channel.ref for channel in plan.channels)
    return CrawlError(
        f"run {plan.run_id}: {_unreachable_line(plan, exc)}, so the run could not be "
        "recorded; its WARC files are closed and keep what it fetched. Once the catalogue "
        f"answers again, `cppcc-archive crawl {channels}` (or the service's next start) "
        "catalogues it from them"
    )


def _unreachable_line(plan: _RunPlan, exc: BaseException) -> str:
    if isinstance(exc, CatalogueUnreachable):
        return str(exc)
    return f"the catalogue database {masked(plan.database_url)} cannot be reached ({_line(exc)})"


def _line(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


def _record_crash(
    sessions: sessionmaker[Session], plan: _RunPlan, aggregate: _Aggregate, notice: Notice
) -> None:
    try:
        _finish(sessions, plan, aggregate, notice)
    except (SQLAlchemyError, CppccArchiveError) as exc:
        raise CrawlError(
            f"{aggregate.error}; run {plan.run_id} could not be recorded as failed either "
            f"({' '.join(str(exc).split())})"
        ) from exc


def _crash_message(exc: Exception, home: Path) -> str:
    """One line for what broke the launcher: the archive folder, or our own bug."""
    if isinstance(exc, CppccArchiveError):
        return str(exc)
    if isinstance(exc, OSError):
        where = Path(exc.filename) if exc.filename else home
        if where == home or home in where.parents:
            return (
                f"cannot use the archive folder {home}: {exc.strerror or exc} ({where}); "
                "choose a folder you can write to with --home"
            )
        return f"cannot use {where}: {exc.strerror or exc}"
    return f"the launcher failed: {type(exc).__name__}: {exc}"


def seeds_rows(seeds: Seeds) -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    """The seeds' sites and channels as upsert_site_channels takes them."""
    return [
        (site.key, site.name, [(c.key, c.name, site.url(c.list_path)) for c in site.channels])
        for site in seeds.sites
    ]
