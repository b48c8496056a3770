"""Benchmark 5: WARC bytes of a second crawl of the unchanged channel, as a share of the first."""

from __future__ import annotations

from benchmarks.crawls import full_crawl
from benchmarks.results import Row, Section
from benchmarks.served import ServedChannel

TARGET_SHARE = 0.05


def bench_recrawl(served: ServedChannel, concurrency: int) -> Section:
    """Crawl the channel into a new home, then again at once; compare `warc.bytes`."""
    home = served.new_home("recrawl")
    first = full_crawl(home, served.base_url, concurrency)
    second = full_crawl(home, served.base_url, concurrency)
    share = second.warc_bytes / first.warc_bytes
    row = Row(
        "5 recrawl",
        "WARC bytes, 2nd crawl of the unchanged channel",
        f"{second.warc_bytes:,} B",
        f"{first.warc_bytes:,} B (1st crawl)",
        f"{share:.2%}",
        f"≤ {TARGET_SHARE:.0%}",
        share <= TARGET_SHARE,
    )
    note = (
        f"Recrawl: the 2nd crawl, right after the 1st, received {second.responses} responses "
        f"against the first's {first.responses:,} (no article is due a re-check yet); bytes "
        "are the run's `warc.bytes` (compressed records written)."
    )
    return Section([row], [note])
