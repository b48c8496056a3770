"""Run a crawl as a `scrapy crawl` subprocess and record its start, end, exit code and stats."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.seeds import Channel, Seeds
from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writes import finish_run, start_run, upsert_site_channels

ProgressCallback = Callable[[str, dict[str, int]], None]


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


@dataclass
class RunResult:
    """A whole run (one or more sites), as recorded in the catalogue."""

    run_id: int
    status: str
    error: str | None
    counts: dict[str, int]
    http_errors: list[dict[str, Any]] = field(default_factory=list)
    log_paths: list[Path] = field(default_factory=list)


def classify(outcome: SiteOutcome) -> tuple[str, str | None]:
    """(status, why) of one site's crawl: `finished`, `failed` or `interrupted`.

    Pages that answered 404 or 500 do not fail a crawl; they are counted and listed.
    """
    finished = outcome.finished
    if outcome.interrupted:
        return "interrupted", "stopped by a signal before it finished"
    if finished is None:
        return "failed", f"the crawl exited with code {outcome.exit_code} before it finished"
    reason = finished.get("finish_reason")
    stats = finished.get("stats", {})
    if reason == "shutdown":
        return "interrupted", "stopped by a signal before it finished"
    if outcome.exit_code != 0:
        return "failed", f"the crawl exited with code {outcome.exit_code}"
    if reason != "finished":
        return "failed", f"the crawl stopped early: {reason}"
    raised = sum(v for k, v in stats.items() if k.startswith("spider_exceptions/"))
    raised += int(stats.get("cppcc/errors/item", 0)) + int(stats.get("cppcc/warc/errors", 0))
    if raised:
        return "failed", f"{raised} errors raised in the crawler's own code (see the log)"
    if not stats.get("response_received_count"):
        return "failed", "no page could be fetched: is the site reachable?"
    return "finished", None


def run_site_crawl(
    crawl: SiteCrawl, on_progress: ProgressCallback | None = None, poll: float = 0.2
) -> SiteOutcome:
    """Start the subprocess, follow its report, wait for it to end."""
    crawl.log_path.parent.mkdir(parents=True, exist_ok=True)
    crawl.report_path.unlink(missing_ok=True)
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawler.settings")
    finished: dict[str, Any] | None = None
    interrupted = False
    with crawl.log_path.open("ab") as log:
        process = subprocess.Popen(
            crawl_argv(crawl), stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env
        )
        reader = _ReportReader(crawl.report_path)
        while True:
            try:
                exit_code = process.wait(timeout=poll)
                break
            except subprocess.TimeoutExpired:
                finished = reader.read(crawl.site, on_progress) or finished
            except KeyboardInterrupt:
                # The child got the same SIGINT from the terminal; let it close its files.
                interrupted = True
                process.send_signal(signal.SIGINT)
    finished = reader.read(crawl.site, on_progress) or finished
    return SiteOutcome(exit_code, finished, crawl.log_path, interrupted)


class _ReportReader:
    """Read the report's new complete lines since the last call."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0

    def read(self, site: str, on_progress: ProgressCallback | None) -> dict[str, Any] | None:
        try:
            with self.path.open("rb") as report:
                report.seek(self.offset)
                data = report.read()
        except FileNotFoundError:
            return None
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        finished = None
        for line in complete.splitlines():
            event = json.loads(line)
            if event["event"] == "finished":
                finished = event
            if on_progress and "counts" in event:
                on_progress(site, event["counts"])
        return finished


def launch_crawl(
    seeds: Seeds,
    channels: Sequence[Channel],
    *,
    home: Path,
    database_url: str,
    trigger: str = "manual",
    max_list_pages: int = 0,
    on_progress: ProgressCallback | None = None,
) -> RunResult:
    """Run a crawl of `channels` (one subprocess per site, one after the other) as one run."""
    engine = make_engine(database_url)
    try:
        ensure_schema(engine)
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            upsert_site_channels(session, _seeds_rows(seeds))
            run_id = start_run(
                session,
                trigger=trigger,
                channels=[c.ref for c in channels],
                pid=os.getpid(),
                host=socket.gethostname(),
                started_at=datetime.now(UTC),
            )
        result = _run_sites(
            seeds, channels, run_id, home, database_url, max_list_pages, on_progress
        )
        with sessions.begin() as session:
            finish_run(
                session,
                run_id,
                status=result.status,
                finished_at=datetime.now(UTC),
                exit_code=result.exit_code,
                finish_reason=result.finish_reason,
                error=result.error,
                counts=result.counts,
                stats=result.stats,
            )
    finally:
        engine.dispose()
    return RunResult(
        run_id, result.status, result.error, result.counts, result.http_errors, result.log_paths
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

    def add(self, site: str, outcome: SiteOutcome) -> None:
        status, error = classify(outcome)
        self.log_paths.append(outcome.log_path)
        if status != "finished" and self.status == "finished":
            self.status, self.error = status, f"{site}: {error} (log: {outcome.log_path})"
        self.exit_code = self.exit_code or outcome.exit_code
        finished = outcome.finished or {}
        self.finish_reason = finished.get("finish_reason", self.finish_reason)
        for name, value in finished.get("counts", {}).items():
            self.counts[name] = self.counts.get(name, 0) + value
        self.stats[site] = finished.get("stats", {})
        self.http_errors += finished.get("http_errors", [])


def _run_sites(
    seeds: Seeds,
    channels: Sequence[Channel],
    run_id: int,
    home: Path,
    database_url: str,
    max_list_pages: int,
    on_progress: ProgressCallback | None,
) -> _Aggregate:
    aggregate = _Aggregate()
    for site in dict.fromkeys(c.site for c in channels):
        crawl = SiteCrawl(
            site=site,
            channels=tuple(c.key for c in channels if c.site == site),
            seeds_path=seeds.path,
            home=home,
            database_url=database_url,
            run_id=run_id,
            report_path=home / "logs" / f"run-{run_id}-{site}.report.jsonl",
            log_path=home / "logs" / f"run-{run_id}-{site}.log",
            max_list_pages=max_list_pages,
        )
        outcome = run_site_crawl(crawl, on_progress)
        aggregate.add(site, outcome)
        if outcome.interrupted:
            break
    return aggregate


def _seeds_rows(seeds: Seeds) -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    return [
        (site.key, site.name, [(c.key, c.name, site.url(c.list_path)) for c in site.channels])
        for site in seeds.sites
    ]
