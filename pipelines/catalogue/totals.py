"""The catalogue's running totals, for the service's metrics: runs, their durations, articles,
rejections and WARC bytes, by site and channel.

Each is counted from the catalogue itself, so a total survives restarts of whoever reads it
and only ever grows (rows are added, runs end once).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Float, case, cast, extract, func, select
from sqlalchemy.orm import Session

from pipelines.catalogue.conflicts import dialect_of
from pipelines.catalogue.models import (
    ArticleEvent,
    ArticleRecord,
    ArticleVersion,
    Rejection,
    Run,
    RunChannel,
)
from pipelines.catalogue.views import stats_by_site
from pipelines.stats import WARC_STATS

# Upper bounds of the run duration histogram, in seconds: a minute-long crawl of a quiet
# channel up to the service's default time limit (3600) and past it.
DURATION_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
_BATCH = 500
Channel = tuple[str, str]  # (site, channel)


def runs_by_status(session: Session) -> dict[tuple[str, str, str], int]:
    """Ended runs of each channel, by (site, channel, status): a run of two channels counts
    for each."""
    query = (
        select(RunChannel.site, RunChannel.channel, Run.status, func.count())
        .join(Run, Run.id == RunChannel.run_id)
        .where(Run.status != "running")
        .group_by(RunChannel.site, RunChannel.channel, Run.status)
    )
    return {(site, channel, status): n for site, channel, status, n in session.execute(query)}


@dataclass(frozen=True)
class Durations:
    """A histogram of run durations: how many took at most each of DURATION_BUCKETS seconds."""

    buckets: tuple[int, ...]  # cumulative, one per DURATION_BUCKETS
    count: int
    total: float  # seconds, all runs together


def run_durations(session: Session) -> dict[Channel, Durations]:
    """The durations of each channel's ended runs (their end less their start), by channel."""
    seconds = _seconds_between(session, Run.started_at, Run.finished_at)
    buckets = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in DURATION_BUCKETS]
    query = (
        select(RunChannel.site, RunChannel.channel, func.count(), func.sum(seconds), *buckets)
        .join(Run, Run.id == RunChannel.run_id)
        .where(Run.status != "running", Run.finished_at.is_not(None))
        .group_by(RunChannel.site, RunChannel.channel)
    )
    return {
        (site, channel): Durations(tuple(int(b or 0) for b in counts), count, float(total or 0))
        for site, channel, count, total, *counts in session.execute(query)
    }


def _seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[float]:
    """`end - start` in seconds, as the back end computes it: SQLite keeps times as UTC text,
    which julianday reads; PostgreSQL subtracts timestamps into an interval."""
    if dialect_of(session) == "postgresql":
        return cast(extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def article_totals(session: Session) -> dict[Channel, tuple[int, int]]:
    """(articles catalogued, versions after the first) of each channel: each article was new
    once, in the channel that found it first, and each later version is an update."""
    found: dict[Channel, tuple[int, int]] = {}
    articles = select(ArticleRecord.site, ArticleRecord.channel, func.count()).group_by(
        ArticleRecord.site, ArticleRecord.channel
    )
    for site, channel, count in session.execute(articles):
        found[(site, channel)] = (count, 0)
    updates = (
        select(ArticleRecord.site, ArticleRecord.channel, func.count())
        .join(ArticleVersion, ArticleVersion.article_id == ArticleRecord.id)
        .where(ArticleVersion.number > 1)
        .group_by(ArticleRecord.site, ArticleRecord.channel)
    )
    for site, channel, count in session.execute(updates):
        found[(site, channel)] = (found.get((site, channel), (0, 0))[0], count)
    return found


def withdrawal_totals(session: Session) -> dict[Channel, tuple[int, int]]:
    """(articles withdrawn now, withdrawals ever recorded) of each channel that has articles:
    the first can go down (an article found again is restored), the second never does."""
    withdrawn_now = func.count(ArticleRecord.withdrawn_at)  # counts the non-null ones
    now = select(ArticleRecord.site, ArticleRecord.channel, withdrawn_now).group_by(
        ArticleRecord.site, ArticleRecord.channel
    )
    found = {(site, channel): (count, 0) for site, channel, count in session.execute(now)}
    events = (
        select(ArticleRecord.site, ArticleRecord.channel, func.count())
        .join(ArticleEvent, ArticleEvent.article_id == ArticleRecord.id)
        .where(ArticleEvent.kind == "withdrawn")
        .group_by(ArticleRecord.site, ArticleRecord.channel)
    )
    for site, channel, count in session.execute(events):
        found[(site, channel)] = (found.get((site, channel), (0, 0))[0], count)
    return found


def rejection_totals(session: Session) -> dict[tuple[str, str, str], int]:
    """Pages archived but not catalogued, by (site, channel, reason)."""
    query = select(Rejection.site, Rejection.channel, Rejection.reason, func.count()).group_by(
        Rejection.site, Rejection.channel, Rejection.reason
    )
    return {(site, channel, reason): n for site, channel, reason, n in session.execute(query)}


class WarcBytesTally:
    """The WARC bytes every ended run wrote, by site, from the runs' stats: each run is read
    once, when it has ended, so asking again costs only the runs since."""

    def __init__(self) -> None:
        self.bytes: Counter[str] = Counter()
        self._below = 0  # every ended run with a lower id is counted
        self._counted: set[int] = set()  # ended runs counted at or above it

    def refresh(self, session: Session) -> dict[str, int]:
        """Count the runs that ended since the last call; the totals by site."""
        rows = session.execute(select(Run.id, Run.status).where(Run.id >= self._below)).all()
        fresh = sorted(i for i, status in rows if status != "running" and i not in self._counted)
        for start in range(0, len(fresh), _BATCH):
            query = select(Run.channels, Run.stats).where(Run.id.in_(fresh[start : start + _BATCH]))
            for channels, stats in session.execute(query):
                self._add(channels, stats or {})
        self._counted.update(fresh)
        running = [i for i, status in rows if status == "running"]
        if running:  # a run still going may end after later ones: look again from it
            self._below = min(running)
        elif rows:
            self._below = max(i for i, _ in rows) + 1
        self._counted = {i for i in self._counted if i >= self._below}
        return dict(self.bytes)

    def _add(self, channels: list[Any], stats: dict[str, Any]) -> None:
        for site, site_stats in stats_by_site(stats):
            # A flat dict is of one site (an old or hand-made record): the run's own.
            name = site or (str(channels[0]).partition("/")[0] if channels else "")
            self.bytes[name] += int(site_stats.get(WARC_STATS["bytes"], 0) or 0)
