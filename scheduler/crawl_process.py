"""One `scrapy crawl` subprocess: its command line (pure), and following it to its end."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from pipelines.home import ArchiveHome
from pipelines.seeds import Channel, Seeds
from scheduler.stopping import CrawlStopper

ProgressCallback = Callable[[str, dict[str, int]], None]
Notice = Callable[[str], None]
logger = logging.getLogger(__name__)


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
        "CPPCC_WARC_DIR": str(ArchiveHome(crawl.home).warc),
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


def reported_counts(home: ArchiveHome, run_id: int, channels: list[str]) -> dict[str, int]:
    """The counts a run's crawls last wrote to their reports (every second while they run),
    summed over its sites: what a run still `running` has done so far. A report not written
    yet, or cut mid-line, adds what it has."""
    counts: dict[str, int] = {}
    for site in dict.fromkeys(ref.partition("/")[0] for ref in channels):
        reader = ReportReader(home.run_report(run_id, site), site, None)
        try:
            reader.read()
        except (OSError, ValueError, KeyError):  # a report being rewritten: its counts wait
            continue
        for name, value in reader.counts.items():
            counts[name] = counts.get(name, 0) + int(value)
    return counts


@dataclass(frozen=True)
class RunPlan:
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
        home = ArchiveHome(self.home)
        return SiteCrawl(
            site=site,
            channels=tuple(c.key for c in self.channels if c.site == site),
            seeds_path=self.seeds.path,
            home=self.home,
            database_url=self.database_url,
            run_id=self.run_id,
            report_path=home.run_report(self.run_id, site),
            log_path=home.crawl_log(self.run_id, site),
            max_list_pages=self.max_list_pages,
            time_limit=self.time_limit,
            time_left=time_left or 0.0,
            launcher_pid=os.getpid(),
        )
