"""Benchmark 2: peak RSS of the crawl process at two channel sizes; growth should be small.

The same crawls give the CPU time a page costs, bare and full: the difference between the two
sizes, so start-up (imports, the catalogue's migrations) cancels out. With the machine's
cores, that bounds the throughput ratio any design could reach here (benchmark 1).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from benchmarks.crawls import CrawlMeasure, bare_crawl, full_crawl
from benchmarks.results import Row, Section
from benchmarks.served import served_channel

TARGET_GROWTH = 0.10
TARGET_CPU_RATIO = 2.5  # CPU a page, full ÷ bare (issue 16)


def bench_memory(sizes: Sequence[int], concurrency: int) -> Section:
    """One full crawl of a fresh channel per size; the peak RSS of each, and the growth."""
    full_crawls: dict[int, CrawlMeasure] = {}
    bare_crawls: dict[int, CrawlMeasure] = {}
    for size in sizes:
        with served_channel(size) as served:
            full_crawls[size] = full_crawl(served.new_home("memory"), served.base_url, concurrency)
            bare_crawls[size] = bare_crawl(served.base_url, concurrency)
    peaks = {size: measure.peak_rss_kib / 1024 for size, measure in full_crawls.items()}
    bare = {size: measure.peak_rss_kib / 1024 for size, measure in bare_crawls.items()}
    seconds = {size: measure.seconds for size, measure in full_crawls.items()}
    small, large = min(sizes), max(sizes)
    growth = peaks[large] / peaks[small] - 1
    row = Row(
        "2 memory",
        f"peak RSS, {large:,} vs {small:,} articles",
        f"{peaks[large]:.0f} MiB",
        f"{peaks[small]:.0f} MiB",
        f"+{growth:.0%}" if growth >= 0 else f"{growth:.0%}",
        f"growth < {TARGET_GROWTH:.0%}",
        growth < TARGET_GROWTH,
    )
    note = (
        "Memory: peak RSS (ru_maxrss of RUSAGE_CHILDREN in a wrapper process: the largest "
        "process of `cppcc-archive crawl`, i.e. the `scrapy crawl` child) of one crawl per "
        "size; crawl times "
        + ", ".join(f"{size:,}: {seconds[size]:.0f} s" for size in sizes)
        + ". The bare spider's peak on the same channels: "
        + ", ".join(f"{size:,}: {bare[size]:.0f} MiB" for size in sizes)
        + f" ({bare[large] / bare[small] - 1:+.0%}): the bare spider queues every article the "
        "list walk finds ahead of the downloads (Scrapy's queue is LIFO, the next list page "
        "jumps it); ours fetches a list page's articles before the next list page."
    )
    return Section([row, _cpu_row(full_crawls, bare_crawls, small, large)], [note, CPU_NOTE])


CPU_NOTE = (
    "CPU per page: user + system time of every process of the crawl, the difference between "
    "the two channel sizes over the difference in pages (start-up cancels out). The ceiling "
    "is the throughput ratio of benchmark 1 that no arrangement of the same work could beat "
    "on this machine: bare Scrapy runs on one core, the full pipeline at best on all of them, "
    "so ratio ≤ cores × bare ms / full ms (the static server's own CPU left out)."
)


def _cpu_row(
    full: dict[int, CrawlMeasure], bare: dict[int, CrawlMeasure], small: int, large: int
) -> Row:
    full_ms, bare_ms = (_marginal_ms(crawls, small, large) for crawls in (full, bare))
    cores = os.cpu_count() or 1
    ceiling = cores * bare_ms / full_ms
    return Row(
        "2 CPU per page",
        f"ms of CPU a page, {small:,} to {large:,} articles; so benchmark 1's ratio can "
        f"reach at most {ceiling:.2f} on {cores} cores",
        f"{full_ms:.1f} ms",
        f"{bare_ms:.1f} ms (bare Scrapy)",
        f"{full_ms / bare_ms:.1f}×",
        f"≤ {TARGET_CPU_RATIO}×",
        full_ms / bare_ms <= TARGET_CPU_RATIO,
    )


def _marginal_ms(crawls: dict[int, CrawlMeasure], small: int, large: int) -> float:
    pages = crawls[large].responses - crawls[small].responses
    return 1000 * (crawls[large].cpu_seconds - crawls[small].cpu_seconds) / pages
