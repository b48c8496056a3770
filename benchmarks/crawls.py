"""Run one crawl of a served channel, bare or through the full pipeline, and measure it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.channel import CHANNEL_FOLDER, CHANNEL_KEY
from pipelines.catalogue.engine import default_sqlite_url, make_engine, make_session_factory
from pipelines.catalogue.queries import list_runs
from pipelines.catalogue.views import warc_view

SEEDS = """\
[sites.rmzxb]
name = "人民政协网 (benchmark replica)"
base_url = "{base_url}"
download_delay = 0
autothrottle = false
concurrent_requests = {concurrency}

[sites.rmzxb.channels.{channel}]
name = "要闻"
list = "{folder}index.shtml"
"""


# The whole channel in one crawl: without this, a first crawl walks only the newest list pages
# and a backlog slice (crawler/settings.py), some 200 of the channel's articles.
FULL_WALK_ENV = {"CPPCC_BACKLOG_LIST_PAGES": "1000000"}


def pinned(cpus: str | None) -> list[str]:
    """The prefix that runs a command, and every process it starts, on `cpus` ("0", "0,1")."""
    return ["taskset", "-c", cpus] if cpus else []


@dataclass(frozen=True)
class CrawlMeasure:
    """What one crawl fetched, in how long (Scrapy's own clock: engine start to close)."""

    responses: int
    seconds: float
    warc_bytes: int = 0
    peak_rss_kib: int = 0
    cpu_seconds: float = 0.0  # user + system, every process of the crawl, start-up included

    @property
    def pages_per_second(self) -> float:
        return self.responses / self.seconds


def bare_crawl(base_url: str, concurrency: int, cpus: str | None = None) -> CrawlMeasure:
    """The baseline spider over the channel at `base_url`, with its peak RSS; on `cpus` only
    when given (taskset's list)."""
    with tempfile.TemporaryDirectory(prefix="cppcc-bench-bare-") as folder:
        stats_file = Path(folder) / "stats.json"
        list_url = f"{base_url}{CHANNEL_FOLDER}index.shtml"
        spider = ["-m", "benchmarks.bare_spider", list_url, str(concurrency), str(stats_file)]
        peak, cpu = _run_measured([sys.executable, *spider], wrapper=pinned(cpus))
        measure = _measure(json.loads(stats_file.read_text("utf-8")))
        return CrawlMeasure(measure.responses, measure.seconds, peak_rss_kib=peak, cpu_seconds=cpu)


def _run_measured(command: Sequence[str], wrapper: Sequence[str]) -> tuple[int, float]:
    """Run `command` (behind `wrapper`, a profiler): its peak RSS in KiB, its CPU seconds."""
    rss = [sys.executable, "-m", "benchmarks.rss"]
    env = {**os.environ, **FULL_WALK_ENV}
    done = subprocess.run(
        [*wrapper, *rss, *command], capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
    peak, cpu = done.stderr.strip().splitlines()[-1].split()
    return int(peak), float(cpu)


def write_seeds(home: Path, base_url: str, concurrency: int) -> Path:
    """A seeds file pointing rmzxb's channel at the server, politeness off."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "bench-seeds.toml"
    text = SEEDS.format(
        base_url=base_url, concurrency=concurrency, channel=CHANNEL_KEY, folder=CHANNEL_FOLDER
    )
    path.write_text(text, encoding="utf-8")
    return path


def crawl_command(home: Path, seeds: Path) -> list[str]:
    """`cppcc-archive crawl` of the channel into `home`, its summary as JSON."""
    cli = str(Path(sys.executable).with_name("cppcc-archive"))
    global_options = ["--home", str(home), "--seeds", str(seeds)]
    return [cli, *global_options, "crawl", f"rmzxb/{CHANNEL_KEY}", "--format", "json"]


def full_crawl(
    home: Path,
    base_url: str,
    concurrency: int,
    wrapper: Sequence[str] = (),
    cpus: str | None = None,
) -> CrawlMeasure:
    """The shipped pipeline (WARC + normalise + catalogue) crawling the channel into `home`.

    `wrapper` is put before the command (a profiler); the peak RSS is always measured. With
    `cpus`, the crawl and every process it starts run on those CPUs only (taskset's list).
    """
    seeds = write_seeds(home, base_url, concurrency)
    peak, cpu = _run_measured(crawl_command(home, seeds), [*pinned(cpus), *wrapper])
    return _run_measure(home, peak, cpu)


def _run_measure(home: Path, peak_rss_kib: int, cpu_seconds: float) -> CrawlMeasure:
    """The newest run's stats, read back from the crawl's catalogue."""
    engine = make_engine(default_sqlite_url(home))
    try:
        with make_session_factory(engine)() as session:
            runs = list_runs(session, limit=1)
            if not runs:
                raise RuntimeError(f"the crawl into {home} recorded no run")
            stats: dict[str, Any] = dict(runs[0].stats or {})
    finally:
        engine.dispose()
    # The run keeps each site's crawl stats under its key; warc_view sums them.
    measure = _measure(stats["rmzxb"])
    # What `crawl --format json` reports as warc.bytes.
    warc_bytes = warc_view(stats)["bytes"]
    return CrawlMeasure(measure.responses, measure.seconds, warc_bytes, peak_rss_kib, cpu_seconds)


def _measure(stats: dict[str, Any]) -> CrawlMeasure:
    return CrawlMeasure(int(stats["response_received_count"]), float(stats["elapsed_time_seconds"]))
