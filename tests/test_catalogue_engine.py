"""Tests for pipelines/catalogue/engine.py: engines from URLs, SQLite settings, clear errors."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from pipelines.catalogue.engine import (
    default_sqlite_url,
    make_engine,
    make_read_session_factory,
    make_session_factory,
)
from pipelines.catalogue.schema import ensure_schema
from pipelines.errors import CatalogueError


def test_default_sqlite_url_is_catalogue_file_in_home(tmp_path: Path) -> None:
    assert default_sqlite_url(tmp_path) == f"sqlite:///{tmp_path}/catalogue.sqlite3"


def test_sqlite_engine_creates_folder_and_sets_pragmas(tmp_path: Path) -> None:
    engine = make_engine(default_sqlite_url(tmp_path / "new" / "home"))
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            }
    finally:
        engine.dispose()
    assert (tmp_path / "new" / "home" / "catalogue.sqlite3").exists()
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 30_000, "foreign_keys": 1}


def test_a_new_sqlite_catalogue_has_8k_pages_and_an_old_one_keeps_its_own(
    tmp_path: Path,
) -> None:
    # An article row of 2-3 KB fills a 4 KiB page alone; 8 KiB pages hold three.
    old = tmp_path / "old.sqlite3"
    with sqlite3.connect(old) as made:  # as a catalogue made before: SQLite's default pages
        made.execute("CREATE TABLE t (x)")
    sizes = {}
    for path in (tmp_path / "new.sqlite3", old):
        engine = make_engine(f"sqlite:///{path}")
        try:
            ensure_schema(engine)
            with engine.connect() as connection:
                sizes[path.stem] = connection.exec_driver_sql("PRAGMA page_size").scalar()
        finally:
            engine.dispose()
    assert sizes == {"new": 8192, "old": 4096}


def test_sqlite_rollback_undoes_a_released_savepoint(tmp_path: Path) -> None:
    # Without the pysqlite BEGIN recipe the savepoint would commit on its own.
    engine = make_engine(default_sqlite_url(tmp_path))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
        with engine.connect() as connection:
            transaction = connection.begin()
            with connection.begin_nested():
                connection.execute(text("INSERT INTO t VALUES (1)"))
            transaction.rollback()
            assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        engine.dispose()


def test_in_memory_sqlite_works(tmp_path: Path) -> None:
    engine = make_engine("sqlite://")
    try:
        ensure_schema(engine)
        with make_session_factory(engine)() as session:
            assert session.execute(text("SELECT count(*) FROM articles")).scalar() == 0
    finally:
        engine.dispose()


def test_plain_postgresql_scheme_uses_psycopg3() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1/test")
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://host/x", "postgresql+nodriver://h/d"])
def test_bad_url_is_one_line_catalogue_error(url: str) -> None:
    with pytest.raises(CatalogueError) as raised:
        make_engine(url)
    message = str(raised.value)
    assert "\n" not in message
    assert "URL" in message


def test_unreachable_database_is_one_line_error_with_password_masked() -> None:
    engine = make_engine("postgresql://archivist:s3cret@127.0.0.1:1/catalogue")
    try:
        with pytest.raises(CatalogueError) as raised:
            ensure_schema(engine)
    finally:
        engine.dispose()
    message = str(raised.value)
    assert "\n" not in message
    assert "postgresql+psycopg://archivist:***@127.0.0.1:1/catalogue" in message
    assert "s3cret" not in message
    assert "check that the server is running" in message


def test_unopenable_sqlite_file_is_catalogue_error(tmp_path: Path) -> None:
    (tmp_path / "catalogue.sqlite3").mkdir()  # a folder where the file should be
    engine = make_engine(default_sqlite_url(tmp_path))
    try:
        with pytest.raises(CatalogueError, match="cannot open the catalogue database sqlite"):
            ensure_schema(engine)
    finally:
        engine.dispose()


def test_a_read_only_session_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'catalogue.sqlite3'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
        writer = make_session_factory(engine)()
        writer.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock from here
        answers: list[int] = []

        def read() -> None:
            with make_read_session_factory(engine)() as session:
                answers.append(session.execute(text("SELECT count(*) FROM t")).scalar_one())

        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=10)  # a write-locking reader would wait the 30 s busy timeout
        assert answers == [0]  # it read at once, the writer's row not yet committed
        writer.commit()
        writer.close()
    finally:
        engine.dispose()
