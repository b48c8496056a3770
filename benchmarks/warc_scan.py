"""`python -m benchmarks.warc_scan`: how long verify and reindex take to read a clean WARC file."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pipelines.archive.verify import scan_file
from pipelines.warc.exchange import HttpExchange
from pipelines.warc.scan import scan_warc
from pipelines.warc.writer import WarcWriter

PAGES = Path(__file__).parents[1] / "replicas" / "rmzxb" / "pages"
PAGE = (PAGES / "rmzxb_article_2023-02-27_3299508.html").read_bytes()
FETCHED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def write_file(folder: Path, records: int) -> Path:
    """A WARC file of `records` records as a crawl writes them: a warcinfo, then per article
    its response (a ~26 KB page, each one different), its request and its metadata."""
    with WarcWriter(folder, hostname="bench.test", pid=1) as writer:
        number = 0
        while writer.records_written < records:
            url = f"http://www.rmzxb.com.cn/c/2026-01-02/{number}.shtml"
            body = PAGE.replace(b"</body>", f"<!-- {number} --></body>".encode())
            location = writer.write_exchange(_exchange(url, body))
            writer.write_metadata(url, location.record_id, [("cppcc-kind", "bench")])
            number += 1
    (path,) = folder.glob("*.warc.gz")
    return path


def _exchange(url: str, body: bytes) -> HttpExchange:
    return HttpExchange(
        url=url,
        method="GET",
        request_headers=[("User-Agent", "bench")],
        request_body=b"",
        protocol="HTTP/1.1",
        status=200,
        reason="OK",
        response_headers=[("Content-Type", "text/html; charset=utf-8")],
        body=body,
        fetched_at=FETCHED_AT,
    )


def timed(read: Callable[[], int], repeat: int) -> tuple[float, list[float], int]:
    """(median seconds, every run's seconds, records read) of `read`."""
    runs, count = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = read()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), runs, count


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.warc_scan", description=__doc__)
    parser.add_argument("--records", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = write_file(Path(folder), args.records)
        size = path.stat().st_size
        for name, read in (
            ("verify scan_file", lambda: scan_file(path).records),
            ("reindex scan_warc", lambda: sum(1 for _ in scan_warc(path))),
        ):
            median, runs, count = timed(read, args.repeat)
            spread = ", ".join(f"{run:.3f}" for run in runs)
            print(f"{name}: {count} records, {size:,} bytes: {median:.3f} s median ({spread})")


if __name__ == "__main__":
    main()
