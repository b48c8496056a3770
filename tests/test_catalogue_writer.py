"""The catalogue writer process: writes land in order, a bad one fails alone, it never
outlives the process that started it."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.models import ArticleRecord, Capture
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writer import (
    CatalogueWriteFailed,
    CatalogueWriter,
    CatalogueWriterClosed,
    _sendable,
)
from pipelines.catalogue.writes import ArticleOutcome
from pipelines.processes import pid_is_alive
from tests.db_fixtures import location, make_article

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def engine(fresh_db_url: str) -> Iterator[Engine]:
    engine = make_engine(fresh_db_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def article_url(n: int) -> str:
    return f"https://www.rmzxw.com.cn/c/2022-03-04/{n}.shtml"


def save(writer: CatalogueWriter, n: int, run_id: int | None = None) -> Future[Any]:
    """Submit article `n` with one capture; its Future."""
    return writer.submit(
        "save_article",
        article=make_article(url=article_url(n)),
        site="rmzxb",
        channel="yw",
        captures=[(1, location(f"r{n}", page_url=article_url(n)))],
        run_id=run_id,
    )


def urls(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(ArticleRecord.url).order_by(ArticleRecord.id)))


def test_writes_land_in_the_order_submitted(fresh_db_url: str, engine: Engine) -> None:
    writer = CatalogueWriter(fresh_db_url)
    try:
        futures = [save(writer, n) for n in range(200)]
        assert [future.result(timeout=60) for future in futures] == [ArticleOutcome.NEW] * 200
    finally:
        writer.close()
    assert urls(make_session_factory(engine)) == [article_url(n) for n in range(200)]


def test_a_failing_write_fails_alone_and_the_rest_of_its_batch_lands(
    fresh_db_url: str, sessions: sessionmaker[Session]
) -> None:
    # A long wait for company, so that the four share one batch (one transaction).
    writer = CatalogueWriter(fresh_db_url, max_delay=2.0)
    try:
        good = [save(writer, n) for n in (1, 2)]
        bad = save(writer, 3, run_id=999)  # no such run
        later = save(writer, 4)
        with pytest.raises(IntegrityError):
            bad.result(timeout=60)
        outcomes = [future.result(timeout=60) for future in [*good, later]]
        assert outcomes == [ArticleOutcome.NEW] * 3
    finally:
        writer.close()
    assert urls(sessions) == [article_url(n) for n in (1, 2, 4)]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == 3


def test_close_writes_what_was_submitted_then_refuses_more(
    fresh_db_url: str, sessions: sessionmaker[Session]
) -> None:
    writer = CatalogueWriter(fresh_db_url)
    futures = [save(writer, n) for n in range(20)]
    writer.close()
    assert all(future.done() for future in futures)
    assert len(urls(sessions)) == 20
    with pytest.raises(CatalogueWriterClosed):
        save(writer, 21)
    with pytest.raises(ValueError, match="no catalogue write named"):
        CatalogueWriter.submit(writer, "drop_everything")
    writer.close()  # a second close does nothing


CRAWL_KILLED_MID_WRITE = """
import os, signal, sys
from pipelines.catalogue.writer import CatalogueWriter
from tests.test_catalogue_writer import save
writer = CatalogueWriter(sys.argv[1])
for future in [save(writer, n) for n in range(10)]:
    future.result(timeout=60)
print(writer._process.pid, flush=True)
for n in range(10, 200):
    save(writer, n)
os.kill(os.getpid(), signal.SIGKILL)  # as a power cut or kill -9 would
"""


def test_the_writer_does_not_outlive_the_crawl_that_started_it(
    fresh_db_url: str, sessions: sessionmaker[Session]
) -> None:
    script = textwrap.dedent(CRAWL_KILLED_MID_WRITE)
    done = subprocess.run(
        [sys.executable, "-c", script, fresh_db_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == -9, done.stderr
    writer_pid = int(done.stdout)
    deadline = time.monotonic() + 30
    while pid_is_alive(writer_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_is_alive(writer_pid)
    written = urls(sessions)
    # Everything committed before the kill is there, and the rest is whole or absent.
    assert written[:10] == [article_url(n) for n in range(10)]
    assert written == [article_url(n) for n in range(len(written))]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == len(written)


def test_a_writer_that_dies_fails_its_writes_and_says_so(
    fresh_db_url: str, sessions: sessionmaker[Session]
) -> None:
    reasons: list[str] = []
    told = threading.Event()

    def lost(reason: str) -> None:
        reasons.append(reason)
        told.set()

    writer = CatalogueWriter(fresh_db_url, on_lost=lost)
    try:
        assert save(writer, 1).result(timeout=60) is ArticleOutcome.NEW
        writer._process.kill()  # as the kernel's OOM killer would
        assert told.wait(timeout=30)
        assert "exit code -9" in reasons[0]
        with pytest.raises(CatalogueWriterClosed):
            save(writer, 2)
    finally:
        writer.close()
    assert urls(sessions) == [article_url(1)]


def test_arguments_that_cannot_reach_the_writer_fail_the_call_not_the_writer(
    fresh_db_url: str, sessions: sessionmaker[Session]
) -> None:
    writer = CatalogueWriter(fresh_db_url)
    try:
        with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
            writer.submit("save_records", records=[lambda: None], run_id=None)
        assert save(writer, 1).result(timeout=60) is ArticleOutcome.NEW
    finally:
        writer.close()
    assert urls(sessions) == [article_url(1)]


class _Unpicklable(Exception):
    def __init__(self, url: str, detail: str) -> None:  # two arguments, pickled as one
        super().__init__(f"{url}: {detail}")


def test_an_error_that_cannot_be_pickled_comes_back_as_its_name_and_message() -> None:
    error = _Unpicklable("https://example.org/", "broken")
    job, succeeded, value = _sendable((7, False, error))
    restored = pickle.loads(pickle.dumps(value))
    assert (job, succeeded, type(restored)) == (7, False, CatalogueWriteFailed)
    assert str(restored) == "_Unpicklable: https://example.org/: broken"
