"""`serve --metrics-port`: the archive's Prometheus metrics, on loopback, from the catalogue.

Crawls are subprocesses that live minutes, too short to be scraped: the service answers for
them. On each scrape it reads the catalogue (runs, their reports' stats as the launcher stored
them, articles, rejections, walk states) and judges each enabled channel as `cppcc-archive
health` does, so the alert rules in deploy/ and the command see the same thing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.monitoring import RunCache
from pipelines.catalogue.totals import (
    DURATION_BUCKETS,
    WarcBytesTally,
    article_totals,
    rejection_totals,
    run_durations,
    runs_by_status,
    withdrawal_totals,
)
from pipelines.errors import CppccArchiveError, UsageError
from pipelines.health.report import ChannelHealth, HealthReport, health_report
from pipelines.health.settings import HealthSettings

logger = logging.getLogger("cppcc_archive.service")
PREFIX = "cppcc_archive_"
CHANNEL = ("site", "channel")
LOOPBACK = "127.0.0.1"


class ArchiveCollector(Collector):
    """Every metric of the archive, read from the catalogue when scraped."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        schedules: Mapping[str, timedelta],
        settings: HealthSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.schedules = dict(schedules)
        self.settings = settings
        self.clock = clock
        self.failures = 0  # scrapes the catalogue could not answer
        self._lock = threading.Lock()  # one scrape reads at a time; the caches are shared
        self._runs: RunCache = {}
        self._warc = WarcBytesTally()

    def describe(self) -> list[Metric]:
        return []  # registering must not read the catalogue

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            try:
                with self.sessions() as session:
                    families = list(self._families(session))
            except (SQLAlchemyError, CppccArchiveError) as exc:
                # Counted and said, and the scrape still answers: the catalogue is down.
                self.failures += 1
                logger.warning("metrics: the catalogue could not be read: %s", exc, exc_info=True)
                families = [_gauge("catalogue_up", "Whether the catalogue answered.", 0)]
            families.append(_counter(
                "catalogue_failures", "Scrapes the catalogue could not answer.", self.failures
            ))  # fmt: skip
        yield from families

    def _families(self, session: Session) -> Iterator[Metric]:
        yield _gauge("catalogue_up", "Whether the catalogue answered.", 1)
        report = health_report(
            session, self.schedules, self.settings, self.clock(), cache=self._runs
        )
        yield from channel_families(report)
        yield from total_families(session, self._warc)


def channel_families(report: HealthReport) -> Iterator[Metric]:
    """Each enabled channel's state as `health` judges it."""
    families = {name: GaugeMetricFamily(PREFIX + name, text, labels=labels)
                for name, (text, labels) in _CHANNEL_GAUGES.items()}  # fmt: skip
    for channel in report.channels:
        for name, labels, value in _channel_values(channel):
            families[name].add_metric(labels, value)
    yield from families.values()


_FIELD = (*CHANNEL, "field")
_REASON = (*CHANNEL, "reason")
_CHANNEL_GAUGES = {
    "health_problems": ("Problems `cppcc-archive health` reports for the channel.", CHANNEL),
    "last_success_timestamp_seconds": (
        "When the channel's last finished run ended (Unix time; 0: none yet).", CHANNEL),
    "schedule_interval_seconds": (
        "The longest gap between two slots of the channel's schedule.", CHANNEL),
    "failed_runs_in_a_row": ("The channel's latest runs that failed, in a row.", CHANNEL),
    "list_empty": ("1 when the channel's last run found a list page linking no article.", CHANNEL),
    "backlog_complete": ("1 once a walk of the channel reached its last list page.", CHANNEL),
    "backlog_page": (
        "The deepest list page its backlog walk reached (0: none yet, or complete).", CHANNEL),
    "window_articles": ("Articles of the channel normalised in the health window.", CHANNEL),
    "window_pages": ("Article pages of the channel read in the window (articles, rejected).",
                     CHANNEL),
    "field_coverage_ratio": (
        "Share of the window's articles whose field the site profile's selectors found.", _FIELD),
    "field_coverage_median_ratio": (
        "Trailing median of field_coverage_ratio over the baseline windows.", _FIELD),
    "field_fallback_ratio": (
        "Share of the window's articles whose field only a generic fallback found.", _FIELD),
    "field_fallback_median_ratio": (
        "Trailing median of field_fallback_ratio over the baseline windows.", _FIELD),
    "rejection_ratio": ("Share of the window's article pages rejected, by reason.", _REASON),
    "rejection_median_ratio": (
        "Trailing median of rejection_ratio over the baseline windows.", _REASON),
}  # fmt: skip


def _channel_values(channel: ChannelHealth) -> Iterator[tuple[str, list[str], float]]:
    facts, ids = channel.facts, list(channel.facts.channel.split("/", 1))
    last = facts.last_finished
    walk = facts.walk
    yield "health_problems", ids, len(channel.problems)
    yield "last_success_timestamp_seconds", ids, last.at.timestamp() if last else 0
    yield "schedule_interval_seconds", ids, facts.interval.total_seconds()
    yield "failed_runs_in_a_row", ids, len(facts.failed_in_a_row)
    yield "list_empty", ids, 1 if facts.empty_list else 0
    yield "backlog_complete", ids, 1 if walk and walk.complete else 0
    yield "backlog_page", ids, walk.resume_page if walk else 0
    coverage = facts.coverage
    yield "window_articles", ids, coverage.articles
    yield "window_pages", ids, coverage.pages
    for kind, trends in (("coverage", coverage.profile), ("fallback", coverage.fallback)):
        for field, trend in trends.items():
            if trend.window.ratio is not None:
                yield f"field_{kind}_ratio", [*ids, field], trend.window.ratio
            if trend.baseline is not None:
                yield f"field_{kind}_median_ratio", [*ids, field], trend.baseline
    for reason, trend in coverage.rejected.items():
        if trend.window.ratio is not None:
            yield "rejection_ratio", [*ids, reason], trend.window.ratio
        if trend.baseline is not None:
            yield "rejection_median_ratio", [*ids, reason], trend.baseline


def total_families(session: Session, warc: WarcBytesTally) -> Iterator[Metric]:
    """The catalogue's totals: runs, their durations, articles, rejections, WARC bytes."""
    runs = CounterMetricFamily(
        PREFIX + "runs", "Ended crawl runs of the channel, by status.", labels=(*CHANNEL, "status")
    )
    for labels, count in sorted(runs_by_status(session).items()):
        runs.add_metric(list(labels), count)
    yield runs
    durations = HistogramMetricFamily(
        PREFIX + "run_duration_seconds", "How long the channel's ended runs took.", labels=CHANNEL
    )
    for (site, channel), found in sorted(run_durations(session).items()):
        counts = zip(DURATION_BUCKETS, found.buckets, strict=True)
        bounds = [(f"{bound:g}", count) for bound, count in counts]
        durations.add_metric([site, channel], [*bounds, ("+Inf", found.count)], found.total)
    yield durations
    yield from _article_families(session)
    rejected = CounterMetricFamily(
        PREFIX + "rejections", "Pages archived but not catalogued, by reason.", labels=_REASON
    )
    for labels, count in sorted(rejection_totals(session).items()):
        rejected.add_metric(list(labels), count)
    yield rejected
    written = CounterMetricFamily(
        PREFIX + "warc_bytes", "WARC bytes (compressed) the site's crawls wrote.", labels=("site",)
    )
    for site, count in sorted(warc.refresh(session).items()):
        written.add_metric([site], count)
    yield written


def _article_families(session: Session) -> Iterable[Metric]:
    new = CounterMetricFamily(
        PREFIX + "articles_new", "Articles the channel brought to the catalogue.", labels=CHANNEL
    )
    updated = CounterMetricFamily(
        PREFIX + "articles_updated", "New versions of the channel's articles.", labels=CHANNEL
    )
    for (site, channel), (added, changed) in sorted(article_totals(session).items()):
        new.add_metric([site, channel], added)
        updated.add_metric([site, channel], changed)
    withdrawn = GaugeMetricFamily(
        PREFIX + "articles_withdrawn",
        "The channel's articles withdrawn from the site now (not found again since).",
        labels=CHANNEL,
    )
    withdrawals = CounterMetricFamily(
        PREFIX + "withdrawals", "Withdrawals of the channel's articles recorded.", labels=CHANNEL
    )
    for (site, channel), (now, ever) in sorted(withdrawal_totals(session).items()):
        withdrawn.add_metric([site, channel], now)
        withdrawals.add_metric([site, channel], ever)
    return new, updated, withdrawn, withdrawals


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, text, value=value)


def _counter(name: str, text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(PREFIX + name, text, value=value)


@contextmanager
def metrics_served(port: int | None, collector: Collector) -> Iterator[str | None]:
    """Serve `collector` (and the process's own metrics) at http://127.0.0.1:PORT/metrics for
    as long as the block runs (`port` 0: any free one); its URL, or None when `port` is None.

    Loopback only: the metrics say what the archive holds and where it falls short, so they
    are not published; a Prometheus elsewhere reaches them through a proxy or a tunnel.
    """
    if port is None:
        yield None
        return
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    ProcessCollector(registry=registry)
    try:
        server, _ = start_http_server(port, addr=LOOPBACK, registry=registry)
    except OSError as exc:
        raise UsageError(
            f"--metrics-port {port}: cannot listen on {LOOPBACK}:{port} "
            f"({exc.strerror or exc}); give another port, or 0 for any free one"
        ) from None
    try:
        yield f"http://{LOOPBACK}:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
