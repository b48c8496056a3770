"""Benchmark 8: `reindex`, `reextract` and `verify` over the benchmark channel's WARC files.

The channel is crawled once (the whole backlog in one crawl), then each command runs as a user
runs it, a process of its own, on a copy of that home: `reindex` into an empty catalogue,
`reextract` and `verify` on the catalogue the crawl wrote. The rate is the work over the
command's wall time less its fixed cost (the same command on an archive with nothing to do:
start-up, opening or creating the catalogue), which an archive of any size pays once; the raw
wall times are in the notes. Baselines are measured in the same run over the same files: a bare
warcio `ArchiveIterator` pass for `reindex`, the same command with `--jobs 1` for `reextract`,
and reading the files with Python's gzip module for `verify`.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from benchmarks.crawls import crawl_command, write_seeds
from benchmarks.results import Row, Section, median, spread
from benchmarks.served import ServedChannel

REINDEX_TARGET = 500  # articles/s
REEXTRACT_TARGET = 400  # articles/s
VERIFY_TARGET = 50  # MB/s (10^6 bytes of WARC files on disk a second)
MB = 1_000_000


@dataclass(frozen=True)
class Archive:
    """A crawled home: its folder, seeds file, WARC files and what they hold."""

    home: Path
    seeds: Path
    files: tuple[Path, ...]
    articles: int

    @property
    def size(self) -> int:
        return sum(path.stat().st_size for path in self.files)


def bench_operations(served: ServedChannel, repeat: int, concurrency: int) -> Section:
    """Crawl the channel once, then time each command `repeat` times, baselines in turn."""
    archive = crawled_archive(served, concurrency)
    records = warcio_records(archive.files)
    times: dict[str, list[float]] = {name: [] for name in MEASURES}
    for _ in range(repeat):
        times["warcio"].append(_timed(lambda: warcio_records(archive.files)))
        times["gzip"].append(_timed(lambda: gzip_bytes(archive.files)))
        with scratch_copy(archive, served, catalogue=False) as home:
            times["reindex"].append(run_command(archive, home, "reindex"))
        with scratch_copy(archive, served, catalogue=True) as home:
            times["reextract"].append(run_command(archive, home, "reextract"))
            times["reextract-1"].append(run_command(archive, home, "reextract", "--jobs", "1"))
            times["verify"].append(run_command(archive, home, "verify"))
        for name, seconds in _fixed_costs(archive, served).items():
            times[name].append(seconds)
    return _section(archive, records, {name: median(values) for name, values in times.items()},
                    times)  # fmt: skip


MEASURES = (
    "reindex", "reextract", "reextract-1", "verify", "warcio", "gzip",
    "reindex-fixed", "reextract-fixed", "verify-fixed",
)  # fmt: skip


def _fixed_costs(archive: Archive, served: ServedChannel) -> dict[str, float]:
    """Each command on a home with nothing to do: no WARC file, no article."""
    home = served.new_home("operations-empty")
    (home / "warc").mkdir()
    fixed = {"reindex-fixed": run_command(archive, home, "reindex")}  # creates the catalogue
    fixed["reextract-fixed"] = run_command(archive, home, "reextract")
    fixed["verify-fixed"] = run_command(archive, home, "verify")
    shutil.rmtree(home, ignore_errors=True)
    return fixed


def crawled_archive(served: ServedChannel, concurrency: int) -> Archive:
    """The channel crawled into a new home in one crawl (every list page walked)."""
    home = served.new_home("operations")
    seeds = write_seeds(home, served.base_url, concurrency)
    environment = {**os.environ, "CPPCC_BACKLOG_LIST_PAGES": "100000"}
    subprocess.run(crawl_command(home, seeds), env=environment, check=True, capture_output=True)
    files = tuple(sorted((home / "warc").glob("*.warc.gz")))
    return Archive(home, seeds, files, len(served.channel.article_paths))


@contextmanager
def scratch_copy(archive: Archive, served: ServedChannel, *, catalogue: bool) -> Iterator[Path]:
    """A copy of the archive's home, with its catalogue or without one; removed afterwards."""
    home = served.new_home("operations-copy")
    shutil.rmtree(home)
    ignored = () if catalogue else ("catalogue.sqlite3*",)
    shutil.copytree(archive.home, home, ignore=shutil.ignore_patterns("logs", *ignored))
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run_command(archive: Archive, home: Path, command: str, *options: str) -> float:
    """Seconds `cppcc-archive COMMAND` takes on `home`, start to exit."""
    cli = str(Path(sys.executable).with_name("cppcc-archive"))
    argv = [cli, "--home", str(home), "--seeds", str(archive.seeds), command, *options]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def warcio_records(files: Sequence[Path]) -> int:
    """Records in `files`, read with warcio's ArchiveIterator, every block read to its end."""
    count = 0
    for path in files:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                record.content_stream().read()
                count += 1
    return count


def gzip_bytes(files: Sequence[Path]) -> int:
    """Decompressed bytes of `files`, read with Python's gzip module, nothing parsed."""
    total = 0
    for path in files:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                total += len(chunk)
    return total


def _timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]  # a callable taking nothing
    return time.perf_counter() - started


def _section(
    archive: Archive, records: int, at: dict[str, float], times: dict[str, list[float]]
) -> Section:
    articles, size, jobs = archive.articles, archive.size / MB, os.cpu_count() or 1

    def net(name: str) -> float:
        return max(at[name] - at[f"{name.split('-')[0]}-fixed"], 1e-6)

    reindex, reextract = articles / net("reindex"), articles / net("reextract")
    single, verify = articles / net("reextract-1"), size / net("verify")
    bare, gzipped = records / at["warcio"], size / at["gzip"]
    what = f"{articles:,} articles, {records:,} records, {size:.1f} MB of WARC"
    rows = [
        Row(
            "8 reindex",
            f"articles/s (records/s), {what}, --jobs {jobs}",
            f"{reindex:.0f} ({records / net('reindex'):,.0f} records/s)",
            f"{bare:,.0f} records/s (warcio ArchiveIterator)",
            f"{records / net('reindex') / bare:.2f}",
            f"≥ {REINDEX_TARGET} articles/s",
            reindex >= REINDEX_TARGET,
        ),
        Row(
            "8 reextract",
            f"articles/s, {articles:,} articles, --jobs {jobs}",
            f"{reextract:.0f}",
            f"{single:.0f} (--jobs 1)",
            f"{reextract / single:.2f}",
            f"≥ {REEXTRACT_TARGET} articles/s",
            reextract >= REEXTRACT_TARGET,
        ),
        Row(
            "8 verify",
            f"MB/s of WARC files, {what}, --jobs {jobs}",
            f"{verify:.1f}",
            f"{gzipped:.1f} (Python gzip read, one process)",
            f"{verify / gzipped:.2f}",
            f"≥ {VERIFY_TARGET} MB/s",
            verify >= VERIFY_TARGET,
        ),
    ]
    seen = "; ".join(f"{name} {spread(values, ' s', 2)}" for name, values in times.items())
    notes = [
        f"Archive operations: one crawl of the channel ({len(archive.files)} WARC file(s), "
        f"{archive.size:,} B), then each command as a process of its own on a copy of the home "
        "(`reindex` into an empty SQLite catalogue, `reextract` and `verify` on the crawl's); "
        "rates are over the wall time less the command's fixed cost (`-fixed`: the same "
        f"command on a home with nothing to do). Wall times: {seen}.",
    ]
    return Section(rows, notes)
