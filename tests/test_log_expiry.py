"""Crawl logs expire (pipelines/archive/logs.py): those of runs ended long ago go, those of runs not
ended never do (recovery reads their reports), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pipelines.archive.logs import expire_logs
from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.models import Run
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writes import finish_run, start_run
from pipelines.errors import UsageError
from pipelines.home import ArchiveHome
from scheduler.recovery import record_last_report

NOW = datetime.now(UTC)
DAY = timedelta(days=1)
COUNTS = {"pages_fetched": 33, "articles_new": 16}


@pytest.fixture
def sessions(fresh_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_db_url)
    ensure_schema(engine)
    yield make_session_factory(engine)
    engine.dispose()


def run(sessions: sessionmaker[Session], started: datetime, ended: datetime | None) -> int:
    """A run started at `started`, ended (`finished`) at `ended`, or still `running`."""
    with sessions.begin() as session:
        run_id = start_run(
            session, trigger="schedule", channels=["rmzxb/yw"], pid=999_999_999,
            host="here", started_at=started,
        )  # fmt: skip
        if ended is not None:
            finish_run(
                session, run_id, status="finished", finished_at=ended, exit_code=0,
                finish_reason="finished", error=None, counts={}, stats=None,
            )  # fmt: skip
    return run_id


def logs_of(logs: Path, run_id: int, written: datetime) -> list[Path]:
    """The log and report a crawl of run `run_id` wrote, last at `written`."""
    log = logs / f"run-{run_id}-rmzxb.log"
    report = logs / f"run-{run_id}-rmzxb.report.jsonl"
    log.write_text("2026-12-06 INFO: Spider opened\n", encoding="utf-8")
    event = {"event": "progress", "counts": COUNTS}
    report.write_text(json.dumps(event) + "\n", encoding="utf-8")
    for path in (log, report):
        os.utime(path, (written.timestamp(), written.timestamp()))
    return [log, report]


def test_logs_of_runs_ended_before_the_retention_go_and_the_others_stay(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    old = logs_of(logs, run(sessions, NOW - 41 * DAY, NOW - 40 * DAY), NOW - 40 * DAY)
    recent = logs_of(logs, run(sessions, NOW - 11 * DAY, NOW - 10 * DAY), NOW - 10 * DAY)
    # Died 60 days ago and never recovered: its report is what recovery will read.
    dead_id = run(sessions, NOW - 60 * DAY, None)
    dead = logs_of(logs, dead_id, NOW - 60 * DAY)
    # Ended long ago, but its log was written since (by hand, or a clock set back).
    touched = logs_of(logs, run(sessions, NOW - 41 * DAY, NOW - 40 * DAY), NOW - DAY)
    orphans = logs_of(logs, 999, NOW - 40 * DAY)  # a run this catalogue does not know
    other = logs / "notes.txt"
    other.write_text("mine", encoding="utf-8")
    os.utime(other, ((NOW - 90 * DAY).timestamp(),) * 2)
    freed = sum(path.stat().st_size for path in old + orphans)

    report = expire_logs(logs, sessions, retention=30 * DAY)

    assert sorted(report.removed) == sorted(path.name for path in old + orphans)
    assert not any(path.exists() for path in old + orphans)
    assert all(path.exists() for path in recent + dead + touched + [other])
    assert report.kept_running == sorted(path.name for path in dead)
    assert (report.kept_recent, report.bytes_removed, report.failed) == (4, freed, {})
    assert report.lines()[0] == (
        f"removed 4 crawl log files ({freed:,} bytes) of runs that ended more than 30 days "
        "ago; kept 4 newer, 2 of runs not ended"
    )
    assert json.loads(json.dumps(report.as_json()))["kept_running"] == report.kept_running
    # Recovery still gives the dead run what its crawl last reported.
    with sessions.begin() as session:
        session.get_one(Run, dead_id).status = "interrupted"  # as recovery marks it
        record_last_report(session, dead_id, ArchiveHome(tmp_path), lambda _line: None)
    with sessions() as session:
        assert session.get_one(Run, dead_id).pages_fetched == 33


def test_a_run_recovered_now_keeps_its_old_logs(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """A run found dead and marked ended just now: its 40-day-old report is being read."""
    logs = tmp_path / "logs"
    logs.mkdir()
    files = logs_of(logs, run(sessions, NOW - 40 * DAY, NOW), NOW - 40 * DAY)
    report = expire_logs(logs, sessions, retention=30 * DAY)
    assert report.removed == [] and report.kept_recent == 2
    assert all(path.exists() for path in files)
    later = expire_logs(logs, sessions, retention=30 * DAY, now=NOW + 31 * DAY)
    assert sorted(later.removed) == sorted(path.name for path in files)


def test_no_logs_folder_and_a_retention_of_nothing(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    assert expire_logs(tmp_path / "missing", sessions).removed == []
    with pytest.raises(UsageError, match="longer than 0"):
        expire_logs(tmp_path, sessions, retention=timedelta(0))
