"""Each channel's recent runs as the health checks read them: what each run did for it.

A run's stats already count, per channel, the articles normalised and the fields each lacked
or found only by a generic fallback (views.coverage_view), and how its list walk ended
(views.walk_view); the rejections table names the pages it could not catalogue and why.
Ended runs never change again, so a long-running reader (the service's metrics) may keep
what it read in a RunCache and read only the runs it has not seen.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.catalogue.models import Rejection, Run, RunChannel, split_channel_key
from pipelines.catalogue.views import coverage_view, stats_by_site, walk_view
from pipelines.catalogue.walks import WalkState, all_walk_states
from pipelines.stats import NO_ARTICLES, SIMULATED_NOW

_BATCH = 500  # run ids to an IN list


@dataclass(frozen=True)
class ChannelRun:
    """What one ended run did for one channel."""

    run_id: int
    channel: str  # "site/channel"
    status: str  # "finished", "failed" or "interrupted"
    at: datetime  # when it ran: the time its crawl took as now (CPPCC_NOW), else its end
    error: str | None = None
    articles: int = 0  # articles normalised
    missing: Mapping[str, int] = field(default_factory=dict)  # by stats field name
    fallback: Mapping[str, int] = field(default_factory=dict)
    rejected: Mapping[str, int] = field(default_factory=dict)  # pages, by reason
    walk: Mapping[str, Any] = field(default_factory=dict)  # views.walk_view's entry

    @property
    def pages(self) -> int:
        """Article pages read: those that became articles and those rejected."""
        return self.articles + sum(self.rejected.values())

    @property
    def empty_list(self) -> str | None:
        """How its walk failed when a list page answered but linked no article; else None."""
        if self.walk.get("failure_kind") != NO_ARTICLES:
            return None
        return str(self.walk.get("failure") or "a list page linked no article")


@dataclass(frozen=True)
class ChannelHistory:
    """A channel's runs, as far back as the checks look."""

    runs: tuple[ChannelRun, ...] = ()  # newest first: those that ended since `since`, and its
    # last `recent` ones however old
    last_finished: ChannelRun | None = None  # its newest finished run, however old
    walk: WalkState | None = None  # its walk state; None: never recorded


RunCache = dict[int, dict[str, ChannelRun]]  # by run id, by channel


def channel_histories(
    session: Session,
    channels: Sequence[str],
    *,
    since: datetime,
    recent: int,
    cache: RunCache | None = None,
) -> dict[str, ChannelHistory]:
    """The history of each of `channels` ("site/channel"): ended runs since `since` (by their
    end), its last `recent` ended runs, its last finished run, and its walk state.

    `cache` keeps the runs read, by id, for the next call; those no longer needed leave it.
    """
    wanted = {ref: split_channel_key(ref) for ref in channels}
    ids = _ended_since(session, set(wanted), since)
    last_finished: dict[str, int] = {}
    for ref, (site, channel) in wanted.items():
        ids[ref] |= set(_last_ended(session, site, channel, recent))
        finished = _last_ended(session, site, channel, 1, status="finished")
        if finished:
            last_finished[ref] = finished[0]
    cache = {} if cache is None else cache
    needed = set().union(*ids.values(), last_finished.values())
    _read_runs(session, needed - set(cache), cache)
    for run_id in set(cache) - needed:
        del cache[run_id]
    walks = all_walk_states(session)
    return {
        ref: ChannelHistory(
            runs=tuple(cache[i][ref] for i in sorted(ids[ref], reverse=True)),
            last_finished=cache[last_finished[ref]][ref] if ref in last_finished else None,
            walk=walks.get(ref),
        )
        for ref in channels
    }


def _ended_since(session: Session, refs: set[str], since: datetime) -> dict[str, set[int]]:
    query = (
        select(RunChannel.site, RunChannel.channel, RunChannel.run_id)
        .join(Run, Run.id == RunChannel.run_id)
        .where(Run.status != "running", Run.finished_at >= since)
    )
    found: dict[str, set[int]] = {ref: set() for ref in refs}
    for site, channel, run_id in session.execute(query):
        if f"{site}/{channel}" in found:
            found[f"{site}/{channel}"].add(run_id)
    return found


def _last_ended(
    session: Session, site: str, channel: str, limit: int, status: str | None = None
) -> list[int]:
    """Ids of the channel's last `limit` ended runs (of `status`), newest first."""
    query = (
        select(RunChannel.run_id)
        .join(Run, Run.id == RunChannel.run_id)
        .where(RunChannel.site == site, RunChannel.channel == channel)
        .where(Run.status == status if status else Run.status != "running")
        .order_by(RunChannel.run_id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def _read_runs(session: Session, run_ids: Iterable[int], cache: RunCache) -> None:
    ordered = sorted(run_ids)
    for start in range(0, len(ordered), _BATCH):
        batch = ordered[start : start + _BATCH]
        rejected = _rejections(session, batch)
        for run in session.scalars(select(Run).where(Run.id.in_(batch))):
            cache[run.id] = _channel_runs(run, rejected)


def _rejections(session: Session, run_ids: list[int]) -> dict[tuple[int, str], Counter[str]]:
    """Pages each run rejected, by (run id, "site/channel") and reason."""
    query = (
        select(Rejection.run_id, Rejection.site, Rejection.channel, Rejection.reason, func.count())
        .where(Rejection.run_id.in_(run_ids))
        .group_by(Rejection.run_id, Rejection.site, Rejection.channel, Rejection.reason)
    )
    found: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    for run_id, site, channel, reason, count in session.execute(query):
        if run_id is not None:  # always, as asked for by id
            found[(run_id, f"{site}/{channel}")][reason] += count
    return found


def _channel_runs(
    run: Run, rejected: Mapping[tuple[int, str], Counter[str]]
) -> dict[str, ChannelRun]:
    stats = run.stats or {}
    coverage = coverage_view(list(run.channels), stats, [])["channels"]
    walks = walk_view(stats)
    at = simulated_now(stats) or run.finished_at or run.started_at
    runs = {}
    for ref in run.channels:
        found = coverage.get(ref, {})
        runs[ref] = ChannelRun(
            run_id=run.id,
            channel=ref,
            status=run.status,
            at=at,
            error=run.error,
            articles=int(found.get("articles", 0)),
            missing=dict(found.get("missing", {})),
            fallback=dict(found.get("fallback", {})),
            rejected=dict(rejected.get((run.id, ref), {})),
            walk=dict(walks.get(ref, {})),
        )
    return runs


def simulated_now(stats: dict[str, Any]) -> datetime | None:
    """The time the run's crawl took as now (CPPCC_NOW), when it was given one."""
    for _, site_stats in stats_by_site(stats):
        text = site_stats.get(SIMULATED_NOW)
        if text:
            return datetime.fromisoformat(str(text))
    return None
