"""The catalogue writer process: writes land in order, a bad one fails alone, it never
outlives the process that started it."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, make_url, select, text
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
    _write,
)
from pipelines.catalogue.writes import ArticleOutcome, save_article
from pipelines.processes import pid_is_alive
from tests.db_fixtures import location, make_article
from tests.test_catalogue_article_batches import counted_statements

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


def test_a_run_of_article_saves_in_a_batch_is_written_together(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    def article(n: int) -> dict[str, Any]:
        captures = [(1, location(f"r{n}", page_url=article_url(n)))]
        return {"article": make_article(url=article_url(n)), "site": "rmzxb", "channel": "yw",
                "captures": captures, "run_id": None}  # fmt: skip

    rejection = {"url": article_url(99), "site": "rmzxb", "channel": "yw", "reason": "no-title",
                 "detail": None, "location": None, "run_id": None}  # fmt: skip
    jobs = [(n, "save_article", article(n)) for n in range(1, 11)]
    jobs[5:5] = [(0, "save_rejection", rejection)]
    with counted_statements(engine) as statements:
        outcomes = _write(sessions, jobs)
    assert outcomes == [(job, True, 1 if job == 0 else ArticleOutcome.NEW) for job, _, _ in jobs]
    # Two runs of five articles, either side of the rejection: an INSERT each.
    assert sum(" INTO articles " in statement for statement in statements) == 2
    assert urls(sessions) == [article_url(n) for n in range(1, 11)]


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


def test_what_a_crawl_sent_before_dying_with_replies_unread_is_written(
    fresh_db_url: str, sessions: sessionmaker[Session]
) -> None:
    # A crawl killed while replies of the writer sit unread resets the pipe instead of
    # closing it: the writer still reads what was sent before, and must write it.
    ours, theirs = socket.socketpair()
    command = [sys.executable, "-m", "pipelines.catalogue.writer", str(theirs.fileno())]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        command, pass_fds=[theirs.fileno()], cwd=ROOT, env=environment, stderr=subprocess.PIPE
    )
    theirs.close()
    crawl = Connection(ours.detach())
    crawl.send((fresh_db_url, 100, 0.5))  # 0.5 s to gather a batch: jobs 2 and 3 go together

    def job(n: int) -> bytes:
        arguments = {
            "article": make_article(url=article_url(n)), "site": "rmzxb", "channel": "yw",
            "captures": [(1, location(f"r{n}", page_url=article_url(n)))], "run_id": None,
        }  # fmt: skip
        return pickle.dumps((n, "save_article", arguments))

    crawl.send_bytes(job(1))
    assert crawl.poll(30)  # job 1 is written and its reply waits, never read
    crawl.send_bytes(job(2))
    crawl.send_bytes(job(3))
    crawl.close()
    _, errors = writer.communicate(timeout=30)
    assert writer.returncode == 0, errors.decode()
    assert urls(sessions) == [article_url(n) for n in (1, 2, 3)]


def test_a_batch_undone_to_break_a_deadlock_is_written_job_by_job(postgres_url: str) -> None:
    # Two crawls saving the same two articles in opposite orders: PostgreSQL undoes one
    # transaction to let the other go on. Neither's writes were wrong; none may be lost.
    engine = make_engine(postgres_url)
    ensure_schema(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
        # The writer's connections find the deadlock after 3 s, the rival's never: the writer
        # is the one undone, whatever the machine's load.
        database = make_url(postgres_url).database
        admin.execute(text(f"ALTER DATABASE \"{database}\" SET deadlock_timeout = '3s'"))
    rival_connection = engine.connect()
    rival = Session(bind=rival_connection)
    rival.execute(text("SET deadlock_timeout = '60s'"))
    # Both jobs in one batch: 5 s for the second to reach the writer process on a loaded machine
    # (at 1 s, under load 5, it came too late and the first was written alone, as new).
    writer = CatalogueWriter(postgres_url, max_delay=5.0)
    try:
        rival_save(rival, 2)  # holds article 2, uncommitted
        futures = [save(writer, 1), save(writer, 2)]  # the batch takes 1, then waits for 2
        wait_until_waiting_for_a_lock(engine)
        rival_save(rival, 1)  # waits for the writer's 1: a deadlock
        rival.commit()
        outcomes = [future.result(timeout=60) for future in futures]
        assert outcomes == [ArticleOutcome.UNCHANGED, ArticleOutcome.UNCHANGED]
        with make_session_factory(engine)() as session:
            # Each article's capture by the rival and by the writer.
            assert session.scalar(select(func.count()).select_from(Capture)) == 4
    finally:
        writer.close(timeout=30)
        rival.close()
        rival_connection.close()
        engine.dispose()


def rival_save(session: Session, n: int) -> None:
    save_article(
        session,
        article=make_article(url=article_url(n)),
        site="rmzxb",
        channel="yw",
        captures=[(1, location(f"rival{n}", page_url=article_url(n)))],
        run_id=None,
    )
    session.flush()


def wait_until_waiting_for_a_lock(engine: Engine) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 60
    with engine.connect() as connection:
        while not connection.scalar(waiting):
            assert time.monotonic() < deadline, "the writer never waited for the rival"
            time.sleep(0.02)
            connection.rollback()  # a fresh snapshot of pg_stat_activity


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
