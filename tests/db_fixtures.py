"""Catalogue fixtures: SQLite and PostgreSQL databases, and sessions isolated by a savepoint.

PostgreSQL tests use the server at CPPCC_TEST_POSTGRES (default: postgres@127.0.0.1:5432) and
are skipped when it cannot be reached, unless CPPCC_REQUIRE_POSTGRES=1 (as on CI): then
they fail.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from pipelines.catalogue.engine import make_engine
from pipelines.catalogue.schema import ensure_schema
from pipelines.errors import CatalogueError
from pipelines.normalise.article import Article, Image
from pipelines.warc.location import RecordLocation

POSTGRES_SERVER_URL = os.environ.get(
    "CPPCC_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]

# Sample records for catalogue tests.
SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "https://www.rmzxw.com.cn/c/2022-03-04/3066001.shtml"
FETCHED = datetime(2022, 3, 4, 2, 30, tzinfo=UTC)


def make_article(url: str = URL, **changes: object) -> Article:
    article = Article(
        url=url,
        title="全国政协十三届五次会议开幕",
        published_at=datetime(2022, 3, 4, 15, 0, tzinfo=SHANGHAI),
        content_id="3066001",
        section=("要闻",),
        source="人民政协网",
        author="记者 张三",
        keywords=("两会", "政协"),
        paragraphs=("第一段。", "第二段。"),
        images=(Image("https://www.rmzxw.com.cn/images/1.jpg", "会场"),),
    )
    return dataclasses.replace(article, **changes)  # type: ignore[arg-type]


def location(record: str, *, page_url: str = URL, fetched_at: datetime = FETCHED) -> RecordLocation:
    return RecordLocation(
        filename="cppcc-20220304-00000.warc.gz",
        offset=1024,
        length=2048,
        record_id=f"<urn:uuid:{record}>",
        payload_digest="sha1:AAAA",
        fetched_at=fetched_at,
        status=200,
        url=page_url,
    )


class PostgresServer:
    """Creates and drops throw-away databases through the server's maintenance database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"cppcc_test_{os.getpid()}_{secrets.token_hex(4)}"
        self._execute(f'CREATE DATABASE "{name}"')
        return (
            make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False)
        )

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _execute(self, statement: str) -> None:
        # CREATE/DROP DATABASE cannot run inside a transaction.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(statement))


def _postgres_unavailable(problem: str) -> NoReturn:
    if os.environ.get("CPPCC_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required (CPPCC_REQUIRE_POSTGRES=1) but {problem}")
    pytest.skip(f"PostgreSQL not available: {problem}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The test PostgreSQL server; skips (or fails, on CI) the test when there is none."""
    try:
        engine = make_engine(POSTGRES_SERVER_URL)
    except CatalogueError as exc:
        _postgres_unavailable(str(exc))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        engine.dispose()
        _postgres_unavailable(" ".join(str(exc.orig).split()))
    yield PostgresServer(engine)
    engine.dispose()


def _new_database(backend: str, request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'catalogue.sqlite3'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new empty PostgreSQL database, as a plain `postgresql://` URL; dropped after."""
    url = postgres_server.create_database()
    assert url.startswith("postgresql://")
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """URL of the test session's catalogue database, once per back end (SQLite, PostgreSQL)."""
    yield from _new_database(request.param, request, tmp_path_factory.mktemp("catalogue"))


@pytest.fixture(scope="session")
def db_engine(db_url: str) -> Iterator[Engine]:
    """An engine on the session's catalogue, its schema migrated to the newest revision."""
    engine = make_engine(db_url)
    try:
        ensure_schema(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session whose every change is rolled back after the test, commits included.

    SQLAlchemy's "Joining a Session into an External Transaction" recipe: commits only
    release savepoints inside a transaction that the fixture rolls back.
    """
    connection = db_engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture(params=BACKENDS)
def fresh_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a new, empty database for this test alone (no schema), per back end."""
    yield from _new_database(request.param, request, tmp_path)


@pytest.fixture
def db_backend(db_url: str) -> str:
    """ "sqlite" or "postgresql": the back end of `db_url`."""
    return make_url(db_url).get_backend_name()
