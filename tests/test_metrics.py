"""scheduler/metrics.py in process: a scrape when the catalogue does not answer (the served
metrics of a crawled archive are tested end to end in tests/test_monitoring.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.health.settings import HealthSettings
from scheduler.metrics import ArchiveCollector

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_a_catalogue_that_does_not_answer_is_a_gauge_not_a_failed_scrape(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "catalogue.sqlite3"
    path.write_bytes(b"these are notes, not a database\n" * 100)
    engine = make_engine(f"sqlite:///{path}")
    collector = ArchiveCollector(
        make_session_factory(engine), {"rmzxb/yw": timedelta(hours=1)}, HealthSettings(),
        lambda: NOW,
    )  # fmt: skip
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    with caplog.at_level(logging.WARNING, logger="cppcc_archive.service"):
        first = generate_latest(registry).decode("utf-8")
        second = generate_latest(registry).decode("utf-8")
    engine.dispose()
    assert "cppcc_archive_catalogue_up 0.0" in first
    assert "cppcc_archive_catalogue_failures_total 1.0" in first
    assert "cppcc_archive_catalogue_failures_total 2.0" in second  # counted, every time
    assert "cppcc_archive_runs_total" not in first  # nothing made up
    assert caplog.text.count("metrics: the catalogue could not be read") == 2
