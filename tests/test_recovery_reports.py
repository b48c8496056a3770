"""A dead run is recorded from what its crawls last reported, by whoever recovers it: counts
and finish reason always; and a run whose crawls all ran to their end before their launcher
died is judged as the launcher would have judged it, not left `interrupted`."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.models import Run
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writes import start_run
from pipelines.home import ArchiveHome
from scheduler.recovery import recover_archive
from scheduler.timing import load_seeds

DEAD_PID = 999_999_999  # above any pid_max: no process has it
COUNTS = {"pages_fetched": 4, "articles_new": 3}


@pytest.fixture
def sessions(fresh_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_db_url)
    ensure_schema(engine)
    yield make_session_factory(engine)
    engine.dispose()


def dead_run_reporting(
    sessions: sessionmaker[Session], home: ArchiveHome, *events: dict[str, Any]
) -> int:
    """A run left `running` by a process that is gone, whose crawl reported `events`."""
    with sessions.begin() as session:
        run_id = start_run(
            session, trigger="manual", channels=["rmzxb/yw"], pid=DEAD_PID,
            host=socket.gethostname(), started_at=datetime.now(UTC),
        )  # fmt: skip
    home.logs.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(event) for event in events]
    home.run_report(run_id, "rmzxb").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run_id


def recovered(sessions: sessionmaker[Session], home: ArchiveHome, run_id: int) -> Run:
    said: list[str] = []
    assert recover_archive(sessions, home, load_seeds(), said.append) == [run_id]
    with sessions() as session:
        return session.get_one(Run, run_id)


def finished(reason: str, **stats: int) -> dict[str, Any]:
    return {"event": "finished", "finish_reason": reason, "counts": COUNTS, "stats": stats}


def test_a_run_whose_crawl_finished_before_its_launcher_died_is_finished(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    home = ArchiveHome(tmp_path)
    run_id = dead_run_reporting(sessions, home, finished("finished", response_received_count=5))
    run = recovered(sessions, home, run_id)
    assert (run.status, run.error, run.finish_reason) == ("finished", None, "finished")
    assert (run.pages_fetched, run.articles_new) == (4, 3)


def test_one_that_finished_with_errors_is_failed_and_says_why(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    home = ArchiveHome(tmp_path)
    stats = {"response_received_count": 5, "cppcc/errors/records_not_catalogued": 3}
    run_id = dead_run_reporting(sessions, home, finished("finished", **stats))
    run = recovered(sessions, home, run_id)
    assert (
        run.status == "failed"
        and run.error == "3 errors raised in the crawler's own code (see the log)"
    )


@pytest.mark.parametrize(
    "events",
    [
        [finished("launcher_gone", response_received_count=5)],  # stopped when it saw us gone
        [{"event": "progress", "counts": COUNTS}],  # killed before its end
    ],
)
def test_one_stopped_before_its_end_is_interrupted_with_its_counts_and_reason(
    sessions: sessionmaker[Session], tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    home = ArchiveHome(tmp_path)
    run_id = dead_run_reporting(sessions, home, *events)
    run = recovered(sessions, home, run_id)
    assert run.status == "interrupted" and f"pid {DEAD_PID}" in (run.error or "")
    assert run.pages_fetched == 4
    assert run.finish_reason == events[0].get("finish_reason")
