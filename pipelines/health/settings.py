"""What the health checks judge by: their thresholds, from [health] (CPPCC_HEALTH_*)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from pipelines.config import environ_value
from pipelines.display import display_span
from pipelines.errors import ConfigError
from pipelines.recheck import parse_duration

# The fields whose coverage is watched, by the name `health` and the metrics show, each with
# the name a crawl's stats count it by (cppcc/fields_missing/<channel>/<name>).
FIELDS = {
    "title": "title",
    "time": "published_at",
    "source": "source",
    "author": "author",
    "body": "paragraphs",
    "pictures": "images",
}


@dataclass(frozen=True)
class HealthSettings:
    """The thresholds; the defaults are the configuration file's."""

    stale_intervals: float = 3.0  # no finished run for this many schedule intervals: stale
    failed_runs: int = 3  # this many failed runs in a row: failing
    drift_points: float = 20.0  # a share this many points off the trailing median: drift
    min_articles: int = 10  # fewer articles (or pages) than this in a window: not judged
    window: timedelta = timedelta(days=1)  # the span a share is taken over
    baseline: timedelta = timedelta(days=14)  # the windows before it, whose median is the norm

    def __post_init__(self) -> None:
        if self.baseline < self.window:
            raise ConfigError(
                f"[health] baseline ({display_span(self.baseline)}) is shorter than [health] "
                f"window ({display_span(self.window)}): give it at least one window "
                "(CPPCC_HEALTH_BASELINE)"
            )

    @property
    def baseline_windows(self) -> int:
        """How many whole windows the baseline holds."""
        return self.baseline // self.window

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> HealthSettings:
        """The settings the CPPCC_HEALTH_* variables (or the configuration file) give."""
        default = cls()

        def value(variable: str, fallback: object) -> str:
            return environ_value(environ, variable, str(fallback))

        return cls(
            stale_intervals=float(value("CPPCC_HEALTH_STALE_INTERVALS", default.stale_intervals)),
            failed_runs=int(value("CPPCC_HEALTH_FAILED_RUNS", default.failed_runs)),
            drift_points=float(value("CPPCC_HEALTH_DRIFT_POINTS", default.drift_points)),
            min_articles=int(value("CPPCC_HEALTH_MIN_ARTICLES", default.min_articles)),
            window=parse_duration(value("CPPCC_HEALTH_WINDOW", "1d")),
            baseline=parse_duration(value("CPPCC_HEALTH_BASELINE", "14d")),
        )
