"""Benchmark 2: peak RSS of the crawl process at two channel sizes; growth should be small."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.crawls import bare_crawl, full_crawl
from benchmarks.results import Row, Section
from benchmarks.served import served_channel

TARGET_GROWTH = 0.10


def bench_memory(sizes: Sequence[int], concurrency: int) -> Section:
    """One full crawl of a fresh channel per size; the peak RSS of each, and the growth."""
    peaks: dict[int, float] = {}
    bare: dict[int, float] = {}
    seconds: dict[int, float] = {}
    for size in sizes:
        with served_channel(size) as served:
            measure = full_crawl(served.new_home("memory"), served.base_url, concurrency)
            bare[size] = bare_crawl(served.base_url, concurrency).peak_rss_kib / 1024
        peaks[size] = measure.peak_rss_kib / 1024
        seconds[size] = measure.seconds
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
    return Section([row], [note])
