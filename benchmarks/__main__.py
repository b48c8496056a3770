"""`python -m benchmarks`: run the benchmarks, print the markdown table, write RESULTS.md."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import scrapy
from sqlalchemy.exc import OperationalError

from benchmarks.catalogue import bench_catalogue, postgres_database, postgres_size, sqlite_size
from benchmarks.extractors import bench_extractors
from benchmarks.memory import bench_memory
from benchmarks.normalisation import bench_normalisation
from benchmarks.operations import bench_operations
from benchmarks.recrawl import bench_recrawl
from benchmarks.results import Row, Section, markdown
from benchmarks.served import served_channel
from benchmarks.startup import bench_startup
from benchmarks.throughput import bench_throughput

NAMES = (
    "throughput", "memory", "normalisation", "catalogue", "recrawl", "startup", "extractors",
    "operations",
)  # fmt: skip
RESULTS = Path(__file__).with_name("RESULTS.md")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    add = parser.add_argument
    add("--only", default=",".join(NAMES), help=f"comma-separated, of: {', '.join(NAMES)}")
    add("--articles", type=int, default=2_000, help="articles in the crawled channel")
    add("--repeat", type=int, default=3, help="repetitions of each timed measure (medians)")
    add("--concurrency", type=int, default=8, help="requests in flight to the server")
    add("--memory-sizes", default="1000,10000", help="channel sizes for the memory benchmark")
    add("--normalise-pages", type=int, default=200, help="pages each extractor runs over")
    add("--catalogue-articles", type=int, default=1_000_000, help="synthetic articles")
    add("--catalogue-saved", type=int, default=10_000, help="of them through save_article")
    add("--queries", type=int, default=200, help="list_articles queries timed")
    add("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server; '' skips")
    add("--start-runs", type=int, default=20, help="runs of each timed command line (startup)")
    add("--output", type=Path, default=RESULTS, help="where the markdown goes too")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(NAMES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def run(args: argparse.Namespace) -> list[Section]:
    chosen = args.only.split(",")
    sections: list[Section] = []
    crawled = {"throughput", "normalisation", "recrawl", "operations"} & set(chosen)
    if crawled:
        with served_channel(args.articles) as served:
            if "throughput" in chosen:
                sections.append(
                    _timed(lambda: bench_throughput(served, args.repeat, args.concurrency))
                )
            if "normalisation" in chosen:
                pages = args.normalise_pages
                sections.append(_timed(lambda: bench_normalisation(served, pages, args.repeat)))
            if "recrawl" in chosen:
                sections.append(_timed(lambda: bench_recrawl(served, args.concurrency)))
            if "operations" in chosen:
                sections.append(
                    _timed(lambda: bench_operations(served, args.repeat, args.concurrency))
                )
    if "memory" in chosen:
        sizes = [int(size) for size in args.memory_sizes.split(",")]
        sections.append(_timed(lambda: bench_memory(sizes, args.concurrency)))
    if "catalogue" in chosen:
        sections += _catalogues(args)
    if "startup" in chosen:
        sections.append(_timed(lambda: bench_startup(args.start_runs)))
    if "extractors" in chosen:
        sections.append(_timed(bench_extractors))
    return sections


def _catalogues(args: argparse.Namespace) -> list[Section]:
    import tempfile

    sizes = (args.catalogue_articles, args.catalogue_saved, args.queries)
    sections = []
    with tempfile.TemporaryDirectory(prefix="cppcc-bench-db-") as folder:
        path = Path(folder) / "catalogue.sqlite3"
        url = f"sqlite:///{path}"
        sections.append(_timed(lambda: bench_catalogue("SQLite", url, *sizes, sqlite_size(path))))
    if args.postgres:
        try:
            with postgres_database(args.postgres, f"cppcc_bench_{os.getpid()}") as pg_url:
                sections.append(
                    _timed(lambda: bench_catalogue("PostgreSQL", pg_url, *sizes, postgres_size))
                )
        except OperationalError as exc:
            row = Row("4 catalogue PostgreSQL", "all", "not run")
            sections.append(Section([row], [f"PostgreSQL at {args.postgres}: {exc.orig}"]))
    return sections


def _timed(bench: Callable[[], Section]) -> Section:
    started = time.monotonic()
    section = bench()
    section.notes.append(f"(that benchmark took {time.monotonic() - started:.0f} s)")
    return section


def header(argv: Sequence[str]) -> str:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"# Benchmark results\n\n`python -m benchmarks {' '.join(argv)}`, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average at start "
        f"{load}, Python {platform.python_version()}, Scrapy {scrapy.__version__}."
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    title = header(argv)
    text = markdown(run(args), title)
    print(text)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
