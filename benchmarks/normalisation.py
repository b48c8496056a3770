"""Benchmark 3: ms per page of our normaliser against trafilatura and GNE, on the same pages."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.channel import article_files
from benchmarks.results import Row, Section, median, spread
from benchmarks.served import ServedChannel
from pipelines.normalise import normalise_page, profile_named

TARGET_MS = 3.0
HEADERS = [("Content-Type", "text/html; charset=utf-8")]

Extractor = Callable[[str, bytes], Any]


def _ours(url: str, body: bytes) -> Any:
    return normalise_page(url, HEADERS, body, profile=profile_named("rmzxb"))


def _trafilatura() -> Extractor | None:
    try:
        import trafilatura
    except ImportError:
        return None
    # with_metadata: title, date, author too, the nearest to our field set.
    return lambda url, body: trafilatura.extract(
        body.decode("utf-8"), url=url, with_metadata=True, output_format="json"
    )


def _gne() -> Extractor | None:
    try:
        from gne import GeneralNewsExtractor
    except ImportError:
        return None
    extractor = GeneralNewsExtractor()
    return lambda url, body: extractor.extract(body.decode("utf-8"))


def _ms_per_page(
    extract: Extractor, pages: Sequence[tuple[str, bytes]], repeat: int
) -> list[float]:
    """Per repetition, the mean ms one page took (each repetition runs every page once)."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for url, body in pages:
            extract(url, body)
        runs.append(1000 * (time.perf_counter() - started) / len(pages))
    return runs


def bench_normalisation(served: ServedChannel, pages: int, repeat: int) -> Section:
    """Every extractor over the first `pages` generated article pages, `repeat` times."""
    sample = [(served.base_url + path, body) for path, body in article_files(served.channel)]
    sample = sample[:pages]
    ours = _ms_per_page(_ours, sample, repeat)
    section = Section(notes=[f"Normalisation: ours {spread(ours, ' ms')} on {len(sample)} pages."])
    for name, make in (("trafilatura.extract", _trafilatura), ("GNE extract", _gne)):
        other = make()
        if other is None:
            section.notes.append(f"{name}: not installed (`pip install -e '.[bench]'`).")
            continue
        theirs = _ms_per_page(other, sample, repeat)
        section.rows.append(_row(name, median(ours), median(theirs)))
        section.notes.append(f"{name}: {spread(theirs, ' ms')}.")
    if not section.rows:
        section.rows.append(_row(None, median(ours), None))
    return section


def _row(name: str | None, ours: float, theirs: float | None) -> Row:
    return Row(
        "3 normalisation",
        "ms/page, all fields" + (f", vs {name}" if name else ""),
        f"{ours:.2f}",
        f"{theirs:.2f}" if theirs is not None else "—",
        f"{ours / theirs:.2f}" if theirs else "—",
        f"≤ {TARGET_MS:.0f} ms",
        ours <= TARGET_MS,
    )
