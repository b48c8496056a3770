"""Field coverage and rejections of a channel: the window's shares against the trailing median.

Time is cut into windows ending now: the window (now - window, now], and before it the
baseline's windows, one after another. A share is counted over each window's runs together;
the trailing median is the median of the baseline windows' shares, those holding at least
`min_articles` articles (or pages, for rejections) alone, so a quiet day says nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from pipelines.catalogue.monitoring import ChannelRun
from pipelines.health.settings import FIELDS, HealthSettings


@dataclass(frozen=True)
class Share:
    """`count` of `total`; its ratio is None when there is nothing to count."""

    count: int
    total: int

    @property
    def ratio(self) -> float | None:
        return self.count / self.total if self.total else None


@dataclass(frozen=True)
class Trend:
    """A share in the window, and the trailing median of the baseline windows' (None: none
    held enough to say)."""

    window: Share
    baseline: float | None

    def points_below(self) -> float | None:
        """Percentage points the window's share lies below the median (negative: above)."""
        if self.window.ratio is None or self.baseline is None:
            return None
        # Rounded: 1.0 - 0.8 is 0.19999999999999996 in floating point, and 20 points is 20.
        return round((self.baseline - self.window.ratio) * 100, 6)


@dataclass
class _Window:
    """What the runs of one window did for the channel, added up."""

    articles: int = 0
    found: Counter[str] = field(default_factory=Counter)  # by the profile's selectors
    fallback: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)

    @property
    def pages(self) -> int:
        return self.articles + sum(self.rejected.values())

    def add(self, run: ChannelRun) -> None:
        self.articles += run.articles
        for shown, counted in FIELDS.items():
            fallback = run.fallback.get(counted, 0)
            self.found[shown] += run.articles - run.missing.get(counted, 0) - fallback
            self.fallback[shown] += fallback
        self.rejected.update(run.rejected)


@dataclass(frozen=True)
class ChannelCoverage:
    """A channel's window against its baseline: per field (as FIELDS names them) the share of
    articles whose field the site profile's own selectors found, and the share only a generic
    fallback found; per reason the share of article pages rejected for it."""

    articles: int = 0  # articles normalised in the window
    pages: int = 0  # article pages read in the window: articles and rejected pages
    profile: dict[str, Trend] = field(default_factory=dict)
    fallback: dict[str, Trend] = field(default_factory=dict)
    rejected: dict[str, Trend] = field(default_factory=dict)


def channel_coverage(
    runs: Iterable[ChannelRun], now: datetime, settings: HealthSettings
) -> ChannelCoverage:
    """The coverage of a channel's `runs` (any order) in the window ending `now`."""
    windows = [_Window() for _ in range(settings.baseline_windows + 1)]
    for run in runs:
        index = _window_of(run.at, now, settings)
        if index is not None and index < len(windows):
            windows[index].add(run)
    current, before = windows[0], windows[1:]
    enough = settings.min_articles
    by_articles = [w for w in before if w.articles >= enough]
    by_pages = [w for w in before if w.pages >= enough]
    reasons = sorted(set().union(*(w.rejected for w in windows)))
    return ChannelCoverage(
        articles=current.articles,
        pages=current.pages,
        profile={name: _trend(current, by_articles, "found", name) for name in FIELDS},
        fallback={name: _trend(current, by_articles, "fallback", name) for name in FIELDS},
        rejected={reason: _trend(current, by_pages, "rejected", reason) for reason in reasons},
    )


def _window_of(moment: datetime, now: datetime, settings: HealthSettings) -> int | None:
    """0 for the window (now - window, now], 1 for the one before…; None for the future."""
    if moment > now:
        return None
    return int((now - moment) / settings.window)


def _trend(current: _Window, baseline: list[_Window], kind: str, name: str) -> Trend:
    shares = [_share(window, kind, name) for window in [current, *baseline]]
    ratios = [share.ratio for share in shares[1:] if share.ratio is not None]
    return Trend(shares[0], median(ratios) if ratios else None)


def _share(window: _Window, kind: str, name: str) -> Share:
    counts: Counter[str] = getattr(window, kind)
    total = window.pages if kind == "rejected" else window.articles
    return Share(counts[name], total)
