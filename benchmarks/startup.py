"""Benchmark 6: how long `cppcc-archive` takes to start, against `python -c pass`.

Every command starts a Python process: `--version` measures what the command line loads
before it does anything, `articles` on a small home what a catalogue read adds (SQLAlchemy,
Alembic's revision check, one query). Runs take turns, baseline and ours, so a change in the
machine's load lands on both.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.results import Row, Section, median, spread
from benchmarks.synthetic import CHANNELS, SITE, capture_of, channel_of, synthetic_article
from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writes import save_article, upsert_site_channels
from pipelines.home import ArchiveHome

VERSION_TARGET_S = 0.3  # what a user waits for `--help`, `--version` or a mistyped option
SMALL_HOME_ARTICLES = 50


def bench_startup(repeat: int) -> Section:
    """Median wall time of `--version` and of `articles` on a small home, `repeat` runs each."""
    cli = str(Path(sys.executable).with_name("cppcc-archive"))
    with tempfile.TemporaryDirectory(prefix="cppcc-bench-start-") as folder:
        home = Path(folder)
        _small_home(home, SMALL_HOME_ARTICLES)
        cases = (
            ("--version", [cli, "--version"], VERSION_TARGET_S),
            (
                f"`articles` on a home of {SMALL_HOME_ARTICLES} articles (SQLite)",
                [cli, "--home", str(home), "articles"],
                None,
            ),
        )
        section = Section()
        for what, argv, target in cases:
            base, ours = _take_turns([sys.executable, "-c", "pass"], argv, repeat)
            section.rows.append(_row(what, median(ours[0]), median(base[0]), target))
            section.notes.append(
                f"CLI start {what}: wall {spread(ours[0], ' s', 3)}, CPU (user + system) "
                f"{spread(ours[1], ' s', 3)}; `python -c pass`: wall {spread(base[0], ' s', 3)}, "
                f"CPU {spread(base[1], ' s', 3)}."
            )
    return section


def _row(what: str, ours: float, base: float, target: float | None) -> Row:
    return Row(
        "6 CLI start",
        f"{what}, wall time, median",
        f"{ours * 1000:.0f} ms",
        f"{base * 1000:.0f} ms (`python -c pass`)",
        f"{ours / base:.1f}×",
        f"≤ {target * 1000:.0f} ms" if target is not None else "—",
        ours <= target if target is not None else None,
    )


Timings = tuple[list[float], list[float]]  # seconds of each run: wall, CPU (user + system)


def _take_turns(
    baseline: Sequence[str], ours: Sequence[str], repeat: int
) -> tuple[Timings, Timings]:
    """`repeat` runs of each, in turn: the baseline's timings, then ours."""
    _run(ours)  # once unmeasured: the first run reads the files from the disk
    base: Timings = ([], [])
    mine: Timings = ([], [])
    for _ in range(repeat):
        for argv, timings in ((baseline, base), (ours, mine)):
            wall, cpu = _run(argv)
            timings[0].append(wall)
            timings[1].append(cpu)
    return base, mine


def _run(argv: Sequence[str]) -> tuple[float, float]:
    """Wall time and CPU time of one run: the CPU time moves less with the machine's load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _small_home(home: Path, articles: int) -> None:
    """A catalogue of `articles` synthetic articles in `home`, at the newest schema."""
    engine = make_engine(ArchiveHome(home).catalogue_url())
    try:
        ensure_schema(engine)
        with make_session_factory(engine)() as session:
            upsert_site_channels(session, [(SITE, "人民政协网", [(c, c, "/") for c in CHANNELS])])
            for index in range(articles):
                save_article(
                    session,
                    article=synthetic_article(index),
                    site=SITE,
                    channel=channel_of(index),
                    captures=[(1, capture_of(index))],
                    run_id=None,
                )
            session.commit()
    finally:
        engine.dispose()
