"""Counts that stop at a cap: how many rows a query gives, or that it gives more than the cap.

A list or a search shows a page at a time; counting everything it matches would read every
matching row (at a million articles a list's `count(*)` took longer than the page itself), so
a count reads at most one row past its cap and says "more than" beyond it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

# Where a count stops by default: the CLI, the API and the search page say "more than 1,000".
COUNT_CAP = 1000


@dataclass(frozen=True)
class MatchCount:
    """How many articles a list or a search finds: `value` exactly, or more than `value`
    (the cap)."""

    value: int
    exact: bool

    def __str__(self) -> str:
        return f"{self.value:,}" if self.exact else f"more than {self.value:,}"

    def more_than(self, shown: int) -> bool:
        """Whether articles beyond the first `shown` exist."""
        return shown < self.value or not self.exact


def count_up_to(session: Session, rows: Select[Any], cap: int) -> MatchCount:
    """How many rows `rows` gives, counted up to `cap`: it reads at most `cap` + 1 of them."""
    found = session.scalar(select(func.count()).select_from(rows.limit(cap + 1).subquery()))
    found = int(found or 0)
    return MatchCount(min(found, cap), exact=found <= cap)
