"""How runs ended, by id: what deciding whether a run's logs may go needs.

Takes a Session and only reads: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.catalogue.models import Run

IDS_PER_QUERY = 500  # well under SQLite's limit on bound parameters


@dataclass(frozen=True)
class RunEnding:
    """A run's status (`running` until it ends, or is recovered) and when it ended."""

    status: str
    finished_at: datetime | None


def run_endings(session: Session, run_ids: Collection[int]) -> dict[int, RunEnding]:
    """The runs of `run_ids` the catalogue knows, by id; an id it does not know is left out."""
    endings = {}
    wanted = sorted(set(run_ids))
    for first in range(0, len(wanted), IDS_PER_QUERY):
        ids = wanted[first : first + IDS_PER_QUERY]
        query = select(Run.id, Run.status, Run.finished_at).where(Run.id.in_(ids))
        for run_id, status, finished_at in session.execute(query):
            endings[run_id] = RunEnding(status, finished_at)
    return endings
