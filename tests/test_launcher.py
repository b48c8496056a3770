"""The crawl launcher: the subprocess command line, and how a crawl's end is judged."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, text

from scheduler.crawl_process import SiteCrawl, SiteOutcome, crawl_argv
from scheduler.run_record import classify
from tests.db_fixtures import PostgresServer
from tests.faults import TcpProxy


def site_crawl(tmp_path: Path) -> SiteCrawl:
    return SiteCrawl(
        site="rmzxb",
        channels=("yw", "xs"),
        seeds_path=tmp_path / "seeds.toml",
        home=tmp_path / "home",
        database_url="sqlite:///catalogue.sqlite3",
        run_id=7,
        report_path=tmp_path / "report.jsonl",
        log_path=tmp_path / "crawl.log",
        max_list_pages=3,
    )


def test_argv_runs_scrapy_crawl_with_the_run_settings(tmp_path: Path) -> None:
    argv = crawl_argv(site_crawl(tmp_path))
    assert argv[:5] == [sys.executable, "-m", "scrapy", "crawl", "rmzxb"]
    pairs = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert argv.count("-a") == 2
    assert "channels=yw,xs" in argv and "max_list_pages=3" in argv
    settings = {
        value.split("=", 1)[0]: value.split("=", 1)[1]
        for flag, value in zip(argv[5::2], argv[6::2], strict=True)
        if flag == "-s"
    }
    assert settings["CPPCC_RUN_ID"] == "7"
    assert settings["CPPCC_WARC_DIR"] == str(tmp_path / "home" / "warc")
    assert settings["CPPCC_DATABASE_URL"] == "sqlite:///catalogue.sqlite3"
    assert settings["CPPCC_REPORT_FILE"] == str(tmp_path / "report.jsonl")
    assert pairs  # every option has its value
    assert "CLOSESPIDER_TIMEOUT" not in settings


def test_argv_asks_scrapy_to_stop_itself_at_the_time_left(tmp_path: Path) -> None:
    argv = crawl_argv(replace(site_crawl(tmp_path), time_limit=60, time_left=42.5))
    assert "CLOSESPIDER_TIMEOUT=42.5" in argv
    # Scrapy reads 0 as "no limit": a crawl with almost no time left still gets one.
    argv = crawl_argv(replace(site_crawl(tmp_path), time_limit=60, time_left=0.2))
    assert "CLOSESPIDER_TIMEOUT=1.0" in argv


def finished(reason: str = "finished", **stats: int) -> dict[str, object]:
    return {
        "event": "finished",
        "finish_reason": reason,
        "stats": {"response_received_count": 5, **stats},
    }


@pytest.mark.parametrize(
    ("outcome", "status", "why"),
    [
        (SiteOutcome(0, finished(), Path("l")), "finished", None),
        # 404s and 500s are counted, not fatal.
        (
            SiteOutcome(0, finished(**{"downloader/response_status_count/404": 2}), Path("l")),
            "finished",
            None,
        ),
        (SiteOutcome(1, None, Path("l")), "failed", "exited with code 1 before it finished"),
        (
            SiteOutcome(0, finished(**{"spider_exceptions/ValueError": 1}), Path("l")),
            "failed",
            "1 errors raised",
        ),
        (SiteOutcome(0, finished(**{"cppcc/errors/item": 2}), Path("l")), "failed", "2 errors"),
        (SiteOutcome(0, finished("warc_write_error"), Path("l")), "failed", "warc_write_error"),
        (SiteOutcome(0, finished("shutdown"), Path("l")), "interrupted", "signal"),
        (SiteOutcome(0, finished(response_received_count=0), Path("l")), "failed", "reachable"),
        (
            SiteOutcome(
                0,
                finished(
                    **{
                        "response_received_count": 0,
                        "downloader/exception_type_count/twisted.internet.error.DNSLookupError": 6,
                    }
                ),
                Path("l"),
            ),
            "failed",
            "no page could be fetched (DNSLookupError ×6): is the site reachable?",
        ),
        (SiteOutcome(-2, None, Path("l"), interrupted=True), "interrupted", "signal"),
        # Scrapy stopped itself at CLOSESPIDER_TIMEOUT, or the launcher stopped it.
        (
            SiteOutcome(0, finished("closespider_timeout"), Path("l"), time_limit=60),
            "failed",
            "hit its time limit of 60 s",
        ),
        (
            SiteOutcome(0, finished("shutdown"), Path("l"), timed_out=True, time_limit=60),
            "failed",
            "hit its time limit of 60 s",
        ),
    ],
)
def test_classify(outcome: SiteOutcome, status: str, why: str | None) -> None:
    got_status, got_why = classify(outcome)
    assert got_status == status
    if why is None:
        assert got_why is None
    else:
        assert got_why is not None and why in got_why


# A child that writes each signal it gets and carries on, as a crawl busy closing might.


def test_a_run_taken_for_dead_elsewhere_stops_its_crawl(tmp_path: Path) -> None:
    # Another process judged the run dead (late heartbeat) and recorded its end: the crawl
    # must stop rather than overlap the run that took over its channels.
    from datetime import UTC, datetime

    from pipelines.catalogue.engine import make_engine, make_session_factory
    from pipelines.catalogue.schema import ensure_schema
    from pipelines.catalogue.writes import finish_run, start_run
    from scheduler.heartbeat import Heartbeat
    from scheduler.stopping import CrawlStopper

    engine = make_engine(f"sqlite:///{tmp_path / 'catalogue.sqlite3'}")
    ensure_schema(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        now = datetime.now(UTC)
        run_id = start_run(
            session, trigger="manual", channels=["rmzxb/yw"], pid=1, host="h", started_at=now
        )
    stopper = CrawlStopper()
    with Heartbeat(sessions, run_id, stopper, every=0.05):
        time.sleep(0.3)
        assert stopper.reason is None  # still running: beats go on
        with sessions.begin() as session:
            finish_run(
                session,
                run_id,
                status="interrupted",
                finished_at=now,
                exit_code=None,
                finish_reason=None,
                error="its process is gone",
            )
        time.sleep(0.3)
    engine.dispose()
    assert stopper.reason == "signal"


# -- a catalogue that stops answering ------------------------------------------------------


def _aggregate(status: str, *reports: dict[str, object]) -> Any:
    from scheduler.run_record import RunTally

    aggregate = RunTally(status=status)
    aggregate.stats = {f"site{number}": report for number, report in enumerate(reports)}
    return aggregate


@pytest.mark.parametrize(
    ("status", "reports", "lost"),
    [
        ("finished", [{"response_received_count": 5}], False),
        ("failed", [{"cppcc/errors/catalogue_unreachable": 1}], True),
        ("failed", [{}, {"cppcc/errors/records_not_catalogued": 3}], True),
        ("failed", [{"response_received_count": 5}, {}], True),  # one crawl left no report
        ("interrupted", [{}], False),  # stopped at once: said, left for verify --repair
    ],
)
def test_what_the_launcher_catalogues_again_from_the_warc_files(
    status: str, reports: list[dict[str, object]], lost: bool
) -> None:
    from scheduler.run_record import _lost_writes

    said: list[str] = []
    assert _lost_writes(_aggregate(status, *reports), said.append) is lost
    assert len(said) == (1 if status == "interrupted" else 0)


@pytest.fixture
def cut_catalogue(postgres_server: PostgresServer) -> Iterator[tuple[str, TcpProxy]]:
    """A new PostgreSQL catalogue with its schema, reached through a proxy a test can cut."""
    from pipelines.catalogue.engine import make_engine
    from pipelines.catalogue.schema import ensure_schema

    url = postgres_server.create_database()
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    host, port = make_url(url).host or "127.0.0.1", make_url(url).port or 5432
    try:
        with TcpProxy((host, port)) as proxy:
            yield proxy.url_for(url), proxy
    finally:
        postgres_server.drop_database(url)


def _running_run(url: str) -> tuple[Any, Any, int]:
    from datetime import UTC, datetime

    from pipelines.catalogue.engine import make_engine, make_session_factory
    from pipelines.catalogue.locks import acquire_channel_locks
    from pipelines.catalogue.writes import start_run, upsert_site_channels

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    with sessions.begin() as session:
        upsert_site_channels(session, [("rmzxb", "人民政协网", [("yw", "要闻", "http://x/")])])
        run_id = start_run(
            session, trigger="manual", channels=["rmzxb/yw"], pid=1, host="h", started_at=now
        )
        acquire_channel_locks(
            session, ["rmzxb/yw"], run_id=run_id, host="h", pid=1, now=now,
            is_alive=lambda _h, _p: True, stale_after=timedelta(minutes=5),
        )  # fmt: skip
    return engine, sessions, run_id


def test_the_heartbeat_says_once_an_outage_that_it_cannot_beat(
    cut_catalogue: tuple[str, TcpProxy],
) -> None:
    from scheduler.heartbeat import Heartbeat
    from scheduler.stopping import CrawlStopper

    url, proxy = cut_catalogue
    engine, sessions, run_id = _running_run(url)
    said: list[str] = []
    try:
        with Heartbeat(sessions, run_id, CrawlStopper(), every=0.05, notice=said.append):
            proxy.cut()
            time.sleep(1)  # many beats missed: one line
            proxy.restore()
            time.sleep(1)  # beating again
            proxy.cut()
            time.sleep(1)  # a second outage: its own line
            proxy.restore()
    finally:
        engine.dispose()
    assert len(said) == 2, said
    assert all(line.startswith(f"run {run_id}: cannot refresh its heartbeat: ") for line in said)
    assert all("\n" not in line for line in said)


def test_a_run_end_is_recorded_once_the_catalogue_answers_again(
    cut_catalogue: tuple[str, TcpProxy], tmp_path: Path
) -> None:
    from scheduler.run_record import record_end

    url, proxy = cut_catalogue
    engine, sessions, run_id = _running_run(url)
    plan = _plan(tmp_path, run_id, url)
    aggregate = _aggregate("failed", {"response_received_count": 5})
    aggregate.error = "rmzxb: the crawl stopped early: catalogue_unreachable"
    said: list[str] = []
    proxy.cut()
    threading.Timer(1.5, proxy.restore).start()
    try:
        record_end(sessions, plan, aggregate, said.append, retry=30)
        with engine.connect() as connection:
            runs = connection.execute(text("SELECT status, error FROM runs")).all()
            locks = connection.execute(text("SELECT count(*) FROM channel_locks")).scalar()
    finally:
        engine.dispose()
    assert [tuple(run) for run in runs] == [("failed", aggregate.error)]
    assert locks == 0
    assert len(said) == 1 and "trying again for 30 s" in said[0], said


def test_a_run_end_that_cannot_be_recorded_gives_up_in_one_line(
    cut_catalogue: tuple[str, TcpProxy], tmp_path: Path
) -> None:
    from pipelines.errors import CrawlError
    from scheduler.run_record import record_end

    url, proxy = cut_catalogue
    engine, sessions, run_id = _running_run(url)
    plan = _plan(tmp_path, run_id, url)
    proxy.cut()
    began = time.monotonic()
    try:
        with pytest.raises(CrawlError) as raised:
            record_end(sessions, plan, _aggregate("failed", {}), lambda _line: None, retry=3)
        assert time.monotonic() - began < 30
        proxy.restore()
        with engine.connect() as connection:
            runs = connection.execute(text("SELECT status FROM runs")).scalars().all()
            locks = connection.execute(text("SELECT count(*) FROM channel_locks")).scalar()
    finally:
        engine.dispose()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"run {run_id}: the catalogue database postgresql")
    assert "cannot be reached" in message and "`cppcc-archive crawl rmzxb/yw`" in message
    assert (runs, locks) == (["running"], 1)  # left as it was, for recovery to find dead


def _plan(tmp_path: Path, run_id: int, url: str) -> Any:
    from datetime import UTC, datetime

    from pipelines.seeds import load_seeds
    from scheduler.crawl_process import RunPlan

    seeds = load_seeds(None)
    channel = seeds.site("rmzxb").channel("yw")
    return RunPlan(seeds, (channel,), run_id, tmp_path / "home", url, 0, 0, datetime.now(UTC))
