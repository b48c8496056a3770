"""Profile a call with cProfile and name where its time went: top self and chosen inclusive."""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable
from pathlib import Path
from typing import Any


def profiled(call: Callable[[], Any], focus: str, top: int = 5) -> str:
    """Run `call` under cProfile; `focus` (a function name) gets its inclusive share."""
    profiler = cProfile.Profile()
    profiler.runcall(call)
    # {(file, line, name): (calls, primitive calls, self time, inclusive time, callers)}
    stats: Any = getattr(pstats.Stats(profiler), "stats")  # noqa: B009 (untyped attribute)
    total = sum(entry[2] for entry in stats.values()) or 1.0
    ranked = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    selfs = "; ".join(f"{_name(key)} {100 * value[2] / total:.0f}%" for key, value in ranked)
    inclusive = max((v[3] for k, v in stats.items() if k[2] == focus), default=0.0)
    return f"{focus} {100 * inclusive / total:.0f}% inclusive; top self time: {selfs}"


def _name(key: tuple[str, int, str]) -> str:
    filename, _, function = key
    if filename == "~":  # a built-in
        return function
    return f"{function} ({Path(filename).parent.name}/{Path(filename).name})"
