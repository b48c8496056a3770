"""The crawl launcher: the subprocess command line, and how a crawl's end is judged."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from scheduler.launcher import SiteCrawl, SiteOutcome, classify, crawl_argv


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
    from scheduler.launcher import _Heartbeat
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
    with _Heartbeat(sessions, run_id, stopper, every=0.05):
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
