"""The health checks of one channel: what its runs, walk and coverage say, as problems.

Pure: every check reads a ChannelFacts (made from the catalogue by pipelines.health.report)
and the settings, with `now` given, so the command line, the service's metrics and the
tests judge alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipelines.catalogue.monitoring import ChannelHistory, ChannelRun
from pipelines.catalogue.walks import WalkState
from pipelines.display import display_span, display_time
from pipelines.health.coverage import ChannelCoverage, Trend, channel_coverage
from pipelines.health.settings import HealthSettings

# Every check, in the order a channel's problems are listed.
CHECKS = (
    "stale",
    "failing",
    "empty-list",
    "backlog",
    "field-drift",
    "fallback-jump",
    "rejection-jump",
)
_ERROR_WIDTH = 160  # a run's error is cut to this in a problem line


@dataclass(frozen=True)
class Problem:
    """One way a channel falls short: a line of `health`, a reason to alert."""

    channel: str  # "site/channel"
    check: str  # one of CHECKS
    message: str
    field: str | None = None  # field-drift, fallback-jump: the field (FIELDS' name)
    reason: str | None = None  # rejection-jump: the rejection reason

    def line(self) -> str:
        return f"{self.channel}: {self.check}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "check": self.check,
            "field": self.field,
            "reason": self.reason,
            "message": self.message,
        }


@dataclass(frozen=True)
class ChannelFacts:
    """What the checks read about one channel, as of `now`."""

    channel: str
    interval: timedelta  # of its schedule: the longest gap between two of its slots
    ever_ran: bool
    last_finished: ChannelRun | None
    failed_in_a_row: tuple[ChannelRun, ...]  # its latest failed runs, newest first
    empty_list: ChannelRun | None  # its last run, when a list page of it linked no article
    walk: WalkState | None
    coverage: ChannelCoverage


def channel_facts(
    channel: str,
    interval: timedelta,
    history: ChannelHistory,
    now: datetime,
    settings: HealthSettings,
) -> ChannelFacts:
    """The facts of a channel's history as of `now`: runs dated after it are not yet."""
    runs = [run for run in history.runs if run.at <= now]
    last_finished = next((run for run in runs if run.status == "finished"), None)
    if last_finished is None and history.last_finished and history.last_finished.at <= now:
        last_finished = history.last_finished
    failed: list[ChannelRun] = []
    for run in (run for run in runs if run.status != "interrupted"):  # a stop is no failure
        if run.status != "failed":
            break
        failed.append(run)
    return ChannelFacts(
        channel=channel,
        interval=interval,
        ever_ran=bool(runs) or last_finished is not None,
        last_finished=last_finished,
        failed_in_a_row=tuple(failed),
        empty_list=runs[0] if runs and runs[0].empty_list else None,
        walk=history.walk,
        coverage=channel_coverage(runs, now, settings),
    )


def channel_problems(facts: ChannelFacts, settings: HealthSettings, now: datetime) -> list[Problem]:
    """Every problem of the channel, in CHECKS order."""
    return [
        *_stale(facts, settings, now),
        *_failing(facts, settings),
        *_empty_list(facts),
        *_backlog(facts),
        *_field_drift(facts, settings),
        *_fallback_jump(facts, settings),
        *_rejection_jump(facts, settings),
    ]


def _stale(facts: ChannelFacts, settings: HealthSettings, now: datetime) -> Iterator[Problem]:
    last = facts.last_finished
    if last is None:
        every = f"its schedule: every {display_span(facts.interval)}"
        yield Problem(facts.channel, "stale", f"no run has finished yet ({every})")
    elif now - last.at > facts.interval * settings.stale_intervals:
        yield Problem(
            facts.channel,
            "stale",
            f"no run has finished since {display_time(last.at, 'seconds')} (run {last.run_id}), "
            f"{display_span(now - last.at)} ago: more than {settings.stale_intervals:g} × its "
            f"schedule interval of {display_span(facts.interval)}",
        )


def _failing(facts: ChannelFacts, settings: HealthSettings) -> Iterator[Problem]:
    failed = facts.failed_in_a_row
    if len(failed) >= settings.failed_runs:
        newest = failed[0]
        runs = "run" if len(failed) == 1 else f"{len(failed)} runs"
        why = " ".join((newest.error or "see its log").split())
        if len(why) > _ERROR_WIDTH:
            why = why[: _ERROR_WIDTH - 1] + "…"
        message = f"its last {runs} failed; the newest, run {newest.run_id}: {why}"
        yield Problem(facts.channel, "failing", message)


def _empty_list(facts: ChannelFacts) -> Iterator[Problem]:
    run = facts.empty_list
    if run is not None:
        yield Problem(facts.channel, "empty-list", f"{run.empty_list} (run {run.run_id})")


def _backlog(facts: ChannelFacts) -> Iterator[Problem]:
    if not facts.ever_ran:
        return  # `stale` says so already
    walk = facts.walk or WalkState()
    if not walk.complete:
        yield Problem(
            facts.channel,
            "backlog",
            f"its list pages are not walked to the end yet: {walk.describe()} "
            "(each crawl walks on; see `cppcc-archive schedule`)",
        )


def _field_drift(facts: ChannelFacts, settings: HealthSettings) -> Iterator[Problem]:
    if facts.coverage.articles < settings.min_articles:
        return
    for name in _drifted(facts, settings):
        trend = facts.coverage.profile[name]
        yield Problem(
            facts.channel, "field-drift",
            f"{name}: found by the site profile's selectors in {_of(trend, 'articles')} "
            f"{_against(trend, settings)}",
            field=name,
        )  # fmt: skip


def _fallback_jump(facts: ChannelFacts, settings: HealthSettings) -> Iterator[Problem]:
    if facts.coverage.articles < settings.min_articles:
        return
    drifted = _drifted(facts, settings)  # said already, as drift
    for name, trend in facts.coverage.fallback.items():
        if name not in drifted and _at_least(_above(trend), settings.drift_points):
            yield Problem(
                facts.channel, "fallback-jump",
                f"{name}: found only by a generic fallback in {_of(trend, 'articles')} "
                f"{_against(trend, settings)}",
                field=name,
            )  # fmt: skip


def _rejection_jump(facts: ChannelFacts, settings: HealthSettings) -> Iterator[Problem]:
    if facts.coverage.pages < settings.min_articles:
        return
    for reason, trend in facts.coverage.rejected.items():
        if _at_least(_above(trend), settings.drift_points):
            yield Problem(
                facts.channel, "rejection-jump",
                f"{reason}: {_of(trend, 'pages')} rejected {_against(trend, settings)}",
                reason=reason,
            )  # fmt: skip


def _drifted(facts: ChannelFacts, settings: HealthSettings) -> list[str]:
    """The fields whose profile share fell `drift_points` or more below their median."""
    profile = facts.coverage.profile.items()
    return [
        name for name, trend in profile if _at_least(trend.points_below(), settings.drift_points)
    ]


def _against(trend: Trend, settings: HealthSettings) -> str:
    """`in the last 1 d, against a trailing median of 100%`."""
    return (
        f"in the last {display_span(settings.window)}, against a trailing median of "
        f"{_percent(trend.baseline)}"
    )


def _above(trend: Trend) -> float | None:
    below = trend.points_below()
    return None if below is None else -below


def _at_least(value: float | None, points: float) -> bool:
    return value is not None and value >= points


def _of(trend: Trend, noun: str) -> str:
    """`0% of 12 articles`."""
    return f"{_percent(trend.window.ratio)} of {trend.window.total} {noun}"


def _percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.0f}%"
