"""The catalogue writer thread: writes land in order, many to a transaction, a bad one alone."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.models import ArticleRecord, Capture
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writer import CatalogueWriter, CatalogueWriterClosed
from pipelines.catalogue.writes import ArticleOutcome, save_article
from tests.db_fixtures import location, make_article


@pytest.fixture
def engine(fresh_db_url: str) -> Iterator[Engine]:
    engine = make_engine(fresh_db_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def saving(n: int, run_id: int | None = None) -> Callable[[Session], ArticleOutcome]:
    """A write that catalogues article `n` with one capture."""

    def write(session: Session) -> ArticleOutcome:
        return save_article(
            session,
            article=make_article(url=f"https://www.rmzxw.com.cn/c/2022-03-04/{n}.shtml"),
            site="rmzxb",
            channel="yw",
            captures=[(1, location(f"r{n}", page_url=f"https://www.rmzxw.com.cn/c/{n}"))],
            run_id=run_id,
        )

    return write


def urls(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(ArticleRecord.url).order_by(ArticleRecord.id)))


def test_writes_land_in_the_order_submitted_off_the_callers_thread(
    sessions: sessionmaker[Session],
) -> None:
    writer = CatalogueWriter(sessions)
    threads: list[str] = []

    def on_its_thread(session: Session) -> None:
        threads.append(threading.current_thread().name)

    try:
        futures = [writer.submit(saving(n)) for n in range(200)]
        writer.submit(on_its_thread).result(timeout=60)
        assert [future.result(timeout=60) for future in futures] == [ArticleOutcome.NEW] * 200
    finally:
        writer.close()
    assert urls(sessions) == [
        f"https://www.rmzxw.com.cn/c/2022-03-04/{n}.shtml" for n in range(200)
    ]
    assert threads == ["catalogue-writer"]


def test_a_failing_write_fails_alone_and_the_rest_of_its_batch_lands(
    sessions: sessionmaker[Session],
) -> None:
    # Held until all are queued, so that they share one batch (one transaction).
    gate = threading.Event()
    writer = CatalogueWriter(sessions, max_delay=0)
    try:
        writer.submit(lambda session: gate.wait(timeout=60))
        good = [writer.submit(saving(n)) for n in (1, 2)]
        bad = writer.submit(saving(3, run_id=999))  # no such run
        later = writer.submit(saving(4))
        gate.set()
        with pytest.raises(IntegrityError):
            bad.result(timeout=60)
        assert [f.result(timeout=60) for f in [*good, later]] == [ArticleOutcome.NEW] * 3
    finally:
        writer.close()
    assert [url.rsplit("/", 1)[1] for url in urls(sessions)] == [
        "1.shtml",
        "2.shtml",
        "4.shtml",
    ]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == 3


def test_close_writes_what_was_queued_then_refuses_more(sessions: sessionmaker[Session]) -> None:
    writer = CatalogueWriter(sessions)
    futures = [writer.submit(saving(n)) for n in range(20)]
    writer.close()
    assert all(future.done() for future in futures)
    assert len(urls(sessions)) == 20
    with pytest.raises(CatalogueWriterClosed):
        writer.submit(saving(21))
    writer.close()  # a second close does nothing
