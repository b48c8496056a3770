"""Benchmark 1: pages/s of the full pipeline against a bare spider, same channel, same run."""

from __future__ import annotations

from collections import Counter

from benchmarks.crawls import bare_crawl, full_crawl
from benchmarks.profile import Profile, py_spy, read_profile, record_command
from benchmarks.results import Row, Section, median, spread
from benchmarks.served import ServedChannel

TARGET_RATIO = 0.85
# Pinned with taskset, bare and full alike: what the ratio is on a machine of that many cores
# (the static server is left unpinned). The 0.85 above is for machines with more cores.
PINNINGS = (("0", "1 core", None), ("0,1", "2 cores", 0.6))
TOP = 8


def bench_throughput(served: ServedChannel, repeat: int, concurrency: int) -> Section:
    """Bare and full crawls taken in turn, `repeat` times each; medians, then a profile."""
    bare, full = [], []
    for _ in range(repeat):
        bare.append(bare_crawl(served.base_url, concurrency).pages_per_second)
        full.append(full_crawl(served.new_home("full"), served.base_url, concurrency))
    full_rates = [m.pages_per_second for m in full]
    ratio = median(full_rates) / median(bare)
    pages = served.channel.pages
    section = Section(
        rows=[
            Row(
                "1 crawl throughput",
                f"pages/s, {len(served.channel.article_paths):,} articles ({pages:,} pages)",
                f"{median(full_rates):.0f}",
                f"{median(bare):.0f} (bare Scrapy)",
                f"{ratio:.2f}",
                f"≥ {TARGET_RATIO}",
                ratio >= TARGET_RATIO,
            )
        ],
        notes=[
            f"Crawl throughput: bare {spread(bare, ' pages/s', 0)}; full "
            f"{spread(full_rates, ' pages/s', 0)}; Scrapy's elapsed_time_seconds (engine "
            f"start to close), CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}, no delay, no "
            "AutoThrottle; full = `cppcc-archive crawl` (WARC + normalise + catalogue on "
            "SQLite); bare = benchmarks/bare_spider.py with crawler/settings.py less our "
            "components.",
        ],
    )
    for cpus, cores, target in PINNINGS:
        row, note = _pinned_row(served, repeat, concurrency, cpus, cores, target)
        section.rows.append(row)
        section.notes.append(note)
    section.notes += _profile_notes(served, concurrency)
    return section


def _pinned_row(
    served: ServedChannel,
    repeat: int,
    concurrency: int,
    cpus: str,
    cores: str,
    target: float | None,
) -> tuple[Row, str]:
    """The throughput ratio with both crawls, and every process they start, on `cpus`."""
    bare, full = [], []
    for _ in range(repeat):
        bare.append(bare_crawl(served.base_url, concurrency, cpus).pages_per_second)
        home = served.new_home(f"pinned-{cpus}")
        full.append(full_crawl(home, served.base_url, concurrency, cpus=cpus).pages_per_second)
    ratio = median(full) / median(bare)
    row = Row(
        "1 crawl throughput",
        f"pages/s, {cores} (`taskset -c {cpus}`, bare and full)",
        f"{median(full):.0f}",
        f"{median(bare):.0f} (bare Scrapy)",
        f"{ratio:.2f}",
        f"≥ {target}" if target is not None else "— (report)",
        ratio >= target if target is not None else None,
    )
    note = (
        f"Crawl throughput on {cores} (`taskset -c {cpus}`): bare {spread(bare, ' pages/s', 0)}; "
        f"full {spread(full, ' pages/s', 0)}."
    )
    return row, note


def _profile_notes(served: ServedChannel, concurrency: int) -> list[str]:
    spy = py_spy()
    if spy is None:
        return ["Profile: py-spy is not installed (`pip install -e '.[bench]'`)."]
    output = served.scratch / "profile.txt"
    home = served.new_home("profiled")
    measure = full_crawl(home, served.base_url, concurrency, record_command(spy, output))
    profile = read_profile(output)
    return [
        f"Profile of one full crawl (py-spy, 100 Hz, {profile.samples:,} busy samples of the "
        f"`scrapy crawl` process, {measure.pages_per_second:.0f} pages/s under the profiler): "
        f"top self time: {_listed(profile, profile.self_time)}.",
        f"Our functions by inclusive time: {_listed(profile, profile.inclusive)}.",
    ]


def _listed(profile: Profile, counter: Counter[str]) -> str:
    return "; ".join(f"{name} {share:.1f}%" for name, share in profile.top(counter, TOP))
