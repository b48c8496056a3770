"""Benchmark 8: `reindex`, `reextract` and `verify` over the benchmark channel's WARC files.

The channel is crawled once (the whole backlog in one crawl), then each command runs as a user
runs it, a process of its own, on a copy of that home: `reindex` into an empty catalogue,
`reextract` and `verify` on the catalogue the crawl wrote. Wall time of the whole command,
start-up included. Baselines are measured in the same run over the same files: a bare warcio
`ArchiveIterator` pass for `reindex`, the same command with `--jobs 1` for `reextract`, and
decompressing the files with zlib for `verify`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zlib
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
    reindex, bare, reextract, single, verify, gunzip = ([] for _ in range(6))
    for _ in range(repeat):
        bare.append(_timed(lambda: warcio_records(archive.files)))
        with scratch_copy(archive, served, catalogue=False) as home:
            reindex.append(run_command(archive, home, "reindex"))
        with scratch_copy(archive, served, catalogue=True) as home:
            reextract.append(run_command(archive, home, "reextract"))
            single.append(run_command(archive, home, "reextract", "--jobs", "1"))
            verify.append(run_command(archive, home, "verify"))
        gunzip.append(_timed(lambda: gunzip_bytes(archive.files)))
    return _section(archive, records, reindex, bare, reextract, single, verify, gunzip)


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


def gunzip_bytes(files: Sequence[Path]) -> int:
    """Decompressed bytes of `files`, every gzip member inflated by zlib, nothing parsed."""
    total = 0
    for path in files:
        data = path.read_bytes()
        while data:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            total += len(inflater.decompress(data))
            data = inflater.unused_data
    return total


def _timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]  # a callable taking nothing
    return time.perf_counter() - started


def _section(
    archive: Archive,
    records: int,
    reindex: list[float],
    bare: list[float],
    reextract: list[float],
    single: list[float],
    verify: list[float],
    gunzip: list[float],
) -> Section:
    articles, size = archive.articles, archive.size
    jobs = os.cpu_count() or 1
    reindex_rate = articles / median(reindex)
    reextract_rate, single_rate = articles / median(reextract), articles / median(single)
    verify_rate, gunzip_rate = size / MB / median(verify), size / MB / median(gunzip)
    bare_rate = records / median(bare)
    what = f"{articles:,} articles, {records:,} records, {size / MB:.1f} MB of WARC"
    rows = [
        Row(
            "8 reindex",
            f"articles/s (records/s), {what}, default --jobs ({jobs})",
            f"{reindex_rate:.0f} ({records / median(reindex):,.0f} records/s)",
            f"{bare_rate:,.0f} records/s (warcio ArchiveIterator)",
            f"{records / median(reindex) / bare_rate:.2f}",
            f"≥ {REINDEX_TARGET} articles/s",
            reindex_rate >= REINDEX_TARGET,
        ),
        Row(
            "8 reextract",
            f"articles/s, {articles:,} articles, default --jobs ({jobs})",
            f"{reextract_rate:.0f}",
            f"{single_rate:.0f} (--jobs 1)",
            f"{reextract_rate / single_rate:.2f}",
            f"≥ {REEXTRACT_TARGET} articles/s",
            reextract_rate >= REEXTRACT_TARGET,
        ),
        Row(
            "8 verify",
            f"MB/s of WARC files, {what}, default --jobs ({jobs})",
            f"{verify_rate:.1f}",
            f"{gunzip_rate:.1f} (zlib inflate, one process)",
            f"{verify_rate / gunzip_rate:.2f}",
            f"≥ {VERIFY_TARGET} MB/s",
            verify_rate >= VERIFY_TARGET,
        ),
    ]
    notes = [
        f"Archive operations: one crawl of the channel ({len(archive.files)} WARC file(s), "
        f"{size:,} B), then each command as a process of its own on a copy of the home, wall "
        "time start to exit (start-up included); `reindex` into an empty SQLite catalogue, "
        "`reextract` and `verify` on the crawl's. "
        f"reindex {spread(reindex, ' s', 2)}; warcio pass {spread(bare, ' s', 2)}; "
        f"reextract {spread(reextract, ' s', 2)}, with --jobs 1 {spread(single, ' s', 2)}; "
        f"verify {spread(verify, ' s', 2)}; zlib inflate {spread(gunzip, ' s', 2)}.",
    ]
    return Section(rows, notes)
