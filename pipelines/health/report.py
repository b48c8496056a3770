"""The archive's health as of now: each enabled channel's facts and problems, from the catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from pipelines.catalogue.monitoring import ChannelHistory, RunCache, channel_histories
from pipelines.display import display_span, display_time
from pipelines.health.checks import ChannelFacts, Problem, channel_facts, channel_problems
from pipelines.health.settings import HealthSettings

# Besides the runs in the windows, each channel's last runs are read whatever their age: enough
# for `failed_runs` failures in a row with some interrupted runs between them.
_RECENT_SPARE = 10


@dataclass(frozen=True)
class ChannelHealth:
    """One channel: what the checks read, and what they found."""

    facts: ChannelFacts
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class HealthReport:
    """Every enabled channel's health as of `now`."""

    now: datetime
    settings: HealthSettings
    channels: tuple[ChannelHealth, ...]

    @property
    def problems(self) -> list[Problem]:
        return [problem for channel in self.channels for problem in channel.problems]

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "now": display_time(self.now),
            "settings": settings_json(self.settings),
            "channels": [_channel_json(channel) for channel in self.channels],
            "problems": [problem.as_json() for problem in self.problems],
        }


def health_report(
    session: Session | None,
    schedules: Mapping[str, timedelta],
    settings: HealthSettings,
    now: datetime,
    cache: RunCache | None = None,
) -> HealthReport:
    """The health of the channels in `schedules` ("site/channel": the interval of its schedule)
    as of `now`; `session` None: there is no catalogue yet, so nothing has run.

    `cache` is passed to channel_histories: a service asked again and again reads only new runs.
    """
    histories: dict[str, ChannelHistory] = {}
    if session is not None and schedules:
        since = now - settings.window * (settings.baseline_windows + 1)
        recent = settings.failed_runs + _RECENT_SPARE
        histories = channel_histories(
            session, list(schedules), since=since, recent=recent, cache=cache
        )
    channels = []
    for ref, interval in schedules.items():
        facts = channel_facts(ref, interval, histories.get(ref, ChannelHistory()), now, settings)
        channels.append(ChannelHealth(facts, tuple(channel_problems(facts, settings, now))))
    return HealthReport(now, settings, tuple(channels))


def settings_json(settings: HealthSettings) -> dict[str, Any]:
    return {
        "stale_intervals": settings.stale_intervals,
        "failed_runs": settings.failed_runs,
        "drift_points": settings.drift_points,
        "min_articles": settings.min_articles,
        "window": display_span(settings.window),
        "baseline": display_span(settings.baseline),
    }


def _channel_json(channel: ChannelHealth) -> dict[str, Any]:
    facts = channel.facts
    last = facts.last_finished
    coverage = facts.coverage
    return {
        "channel": facts.channel,
        "healthy": not channel.problems,
        "schedule_interval_seconds": facts.interval.total_seconds(),
        "last_finished_run": last.run_id if last else None,
        "last_finished_at": display_time(last.at) if last else None,
        "failed_in_a_row": len(facts.failed_in_a_row),
        "backlog": facts.walk.describe() if facts.walk else None,
        "window": {
            "articles": coverage.articles,
            "pages": coverage.pages,
            "fields": {
                name: {
                    "profile": trend.window.ratio,
                    "profile_median": trend.baseline,
                    "fallback": coverage.fallback[name].window.ratio,
                    "fallback_median": coverage.fallback[name].baseline,
                }
                for name, trend in coverage.profile.items()
            },
            "rejected": {
                reason: {"share": trend.window.ratio, "median": trend.baseline}
                for reason, trend in coverage.rejected.items()
            },
        },
        "problems": [problem.as_json() for problem in channel.problems],
    }
