"""Search timings on a filled catalogue, once pipelines.catalogue.search exists."""

from __future__ import annotations

import importlib
import importlib.util
import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from benchmarks.results import Row, Section, percentile
from benchmarks.synthetic import COMMON, RARE_EVERY, RARE_FOUR, RARE_TWO

TARGET_MS = 100.0
REPEAT = 20


def _search_function() -> Any | None:
    """`search_articles(session, text, limit=20, **filters)`, or None before it exists."""
    if importlib.util.find_spec("pipelines.catalogue.search") is None:
        return None
    return getattr(importlib.import_module("pipelines.catalogue.search"), "search_articles", None)


def bench_search(label: str, sessions: sessionmaker[Session], articles: int) -> Section:
    """p50 of the top 20 for rare 2- and 4-character terms, and for one in most articles."""
    name = f"4 catalogue {label}"
    search = _search_function()
    if search is None:
        return Section([Row(name, "search", "not available")])
    rare = f"< 1 % ({1 / RARE_EVERY:.1%})"
    cases = ((RARE_TWO, rare, True), (RARE_FOUR, rare, True), (COMMON, "most", False))
    section = Section()
    with sessions() as session:
        for term, share, has_target in cases:
            times, hits = _times(search, session, term)
            p50 = percentile(times, 0.5)
            section.rows.append(
                Row(
                    name,
                    f"search {len(term)} chars '{term}' ({share} of articles), top 20 p50",
                    f"{p50:.1f} ms",
                    target=f"< {TARGET_MS:.0f} ms" if has_target else "— (report)",
                    met=(p50 < TARGET_MS) if has_target else None,
                )
            )
            note = (
                f"Search {label} '{term}': {hits} hits returned, p95 "
                f"{percentile(times, 0.95):.1f} ms over {len(times)} runs."
            )
            if has_target and p50 >= TARGET_MS:
                note += f" Its plan: {_plan(session, term)}."
            section.notes.append(note)
    return section


def _plan(session: Session, term: str) -> str:
    """The search module's own EXPLAIN of the query, on one line."""
    module = importlib.import_module("pipelines.catalogue.search")
    explain = getattr(module, "search_plan", None)
    if explain is None:
        return "not available"
    return " / ".join(line.strip() for line in str(explain(session, term)).splitlines())


def _times(search: Any, session: Session, term: str) -> tuple[list[float], int]:
    times, hits = [], 0
    for _ in range(REPEAT):
        started = time.perf_counter()
        hits = len(search(session, term, limit=20))
        times.append(1000 * (time.perf_counter() - started))
    return times, hits
