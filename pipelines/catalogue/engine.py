"""Build the catalogue's engine and session factory from a database URL."""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.errors import CatalogueError, UsageError
from pipelines.home import ArchiveHome

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Pages of a new SQLite catalogue. An article row (its paragraphs) is often over half of
# SQLite's default 4 KiB page, and a page then holds one: half of it empty (20,000
# synthetic articles of 2.3 KB: the articles table 4,105 B an article with 4 KiB pages,
# 2,735 with 8 KiB, 2,733 with 16 KiB). Takes effect only when the file is created; a
# catalogue keeps the page size it was made with (VACUUM outside WAL mode changes it).
SQLITE_PAGE_SIZE = 8_192
READ_ONLY = "cppcc_read_only"  # execution option of sessions that only read
POSTGRES_CONNECT_TIMEOUT_S = 10


def default_sqlite_url(home: Path) -> str:
    """The catalogue's URL when no `--db` is given: `<home>/catalogue.sqlite3`."""
    return ArchiveHome(Path(home)).catalogue_url()


def masked(url: str | URL) -> str:
    """The URL with its password replaced by `***`, fit for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    database = url.database or ""
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):  # a `?uri=true` URL
        database = unquote(database.removeprefix("file:").split("?", 1)[0])
    return Path(database)


def json_text(value: Any) -> str:
    """A JSON column's text, as stored: UTF-8 characters, no ASCII escapes."""
    return json.dumps(value, ensure_ascii=False)


# The back ends the catalogue is written and tested for.
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def check_catalogue_url(url: str) -> None:
    """UsageError for a catalogue URL a user cannot mean: a back end other than SQLite or
    PostgreSQL, or a SQLite database in memory (everything in it is gone when the command
    ends). A malformed URL is make_engine's to name."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise UsageError(
            f"catalogue URL {masked(parsed)}: {backend} is not a supported catalogue; use "
            "SQLite or PostgreSQL (e.g. sqlite:////path/catalogue.sqlite3, "
            "postgresql://user@host/db)"
        )
    if backend == "sqlite" and sqlite_path(parsed) is None:
        raise UsageError(
            f"catalogue URL {masked(parsed)} is a database in memory, gone when the command "
            "ends; give a file, e.g. sqlite:////path/catalogue.sqlite3 (or leave out --db)"
        )


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite catalogue URL when it does not exist yet; None otherwise (it
    exists, or the catalogue is not a SQLite file): reading must not create it."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    path = sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None
    return path if path is not None and not path.exists() else None


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for the catalogue at `url` (any SQLAlchemy URL); connects lazily.

    `read_only` opens a SQLite file so that nothing is written, not even its WAL index (see
    `read_only_sqlite_url`); other back ends ignore it. Raises CatalogueError for a URL that
    is malformed or names a driver that is not installed.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise CatalogueError(
            f"catalogue URL {url!r} is not a database URL ({exc}); "
            "use e.g. sqlite:////path/catalogue.sqlite3 or postgresql://user@host/db"
        ) from None
    parsed = _with_installed_driver(parsed)
    read_only = read_only and parsed.get_backend_name() == "sqlite"
    if read_only and (path := sqlite_path(parsed)) is not None:
        parsed = read_only_sqlite_url(path)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        options["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
    if parsed.get_backend_name() == "postgresql":
        # A pooled connection the server dropped (a restart, an outage) is replaced when it is
        # taken, not found broken by the first query after: long-running processes (the
        # service, a dispatcher, a worker) outlive outages.
        options["pool_pre_ping"] = True
    if parsed.get_backend_name() == "sqlite" and not read_only:
        _make_parent_dir(parsed)
    # JSON columns as UTF-8, not \u escapes: `where paragraphs like '%政协%'` (and datasette's
    # filters) find Chinese text, which takes 3 bytes a character instead of 6.
    options["json_serializer"] = json_text
    try:
        engine = create_engine(parsed, **options)
    except (NoSuchModuleError, ImportError, ArgumentError) as exc:
        raise CatalogueError(
            f"cannot use catalogue URL {masked(parsed)}: {_one_line(exc)}; "
            "check the scheme, or install the driver (pip install 'cppcc-archive[postgres]')"
        ) from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, in_memory=sqlite_path(parsed) is None, read_only=read_only)
    return engine


def sqlite_writable(path: Path) -> bool:
    """Whether this process may write the SQLite catalogue `path`: the file, its WAL files,
    and the folder they are made in (root may, except on read-only media)."""
    companions = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    files = [path, *(companion for companion in companions if companion.exists())]
    return all(os.access(name, os.W_OK) for name in [*files, path.parent])


def read_only_sqlite_url(path: Path) -> URL:
    """A URL that opens `path` read-only (`mode=ro`), and `immutable` where it must be.

    In WAL mode even a reader writes: it makes the `-shm` index beside the file. Where the
    folder cannot be written and no `-wal` file holds commits, the file is opened immutable
    (no index, no locks); a `-wal` that holds commits is read through its `-shm`, which then
    exists (its writer made it), since an immutable open would not see them.
    """
    wal = path.with_name(path.name + "-wal")
    options = "mode=ro"
    if not os.access(path.parent, os.W_OK) and not (wal.exists() and wal.stat().st_size):
        options += "&immutable=1"
    uri = f"file:{quote(str(path.resolve()))}?{options}"
    return URL.create("sqlite", database=uri, query={"uri": "true"})


def is_unreachable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached at all (server down, connection
    lost, file gone) rather than that a statement failed."""
    if isinstance(error, DisconnectionError):
        return True
    # No statement: it failed while connecting. Invalidated: the connection broke under it.
    return isinstance(error, DBAPIError) and (
        error.connection_invalidated or error.statement is None
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine`; objects stay readable after commit (for rendering)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for look-ups that never write: on SQLite they take no write lock.

    A crawl asks the catalogue something for most responses; with the write lock each of
    those would queue behind (and hold up) every other crawl writing the same file.
    """
    return sessionmaker(bind=engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def connection_error(engine: Engine, exc: BaseException) -> CatalogueError:
    """The one-line error for a catalogue that cannot be reached or opened."""
    path = sqlite_path(engine.url) if engine.dialect.name == "sqlite" else None
    if path is None:
        advice = "check that the server is running and that the --db URL is right"
    else:
        advice = _sqlite_advice(path, exc)
    return CatalogueError(
        f"cannot open the catalogue database {masked(engine.url)}: {_one_line(exc)}; {advice}"
    )


def _sqlite_advice(path: Path, exc: BaseException) -> str:
    """What to do about a SQLite catalogue file that cannot be opened."""
    code = getattr(getattr(exc, "orig", None), "sqlite_errorcode", None)
    if path.is_dir():
        return f"{path} is a folder, not a catalogue file: point --home or --db at a catalogue"
    if path.exists() and not os.access(path, os.R_OK):
        return f"you may not read {path}: ask its owner, or use a copy you can read"
    if (code is not None and (code & 0xFF) == sqlite3.SQLITE_READONLY) or not os.access(
        path.parent, os.W_OK
    ):
        return (
            f"it (or {path.parent}) cannot be written here: run this where the archive can "
            "be written (articles, show, runs and verify only read it)"
        )
    return "check that --home or --db names a cppcc-archive catalogue you can read"


def catalogue_failure(engine: Engine, exc: BaseException) -> CatalogueError:
    """The one-line error for a catalogue that failed while in use: why, and what to do."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlite_errorcode", None)
    sqlstate = str(getattr(orig, "sqlstate", None) or "")
    cannot_write = f"cannot write the catalogue database {masked(engine.url)}: {_one_line(exc)}"
    if (code is not None and (code & 0xFF) == sqlite3.SQLITE_FULL) or sqlstate == "53100":
        return CatalogueError(f"{cannot_write}; free some space on its disk and run this again")
    if (code is not None and (code & 0xFF) == sqlite3.SQLITE_READONLY) or sqlstate == "25006":
        return CatalogueError(
            f"{cannot_write}; it is read-only here (commands that only read it work): run "
            "this where it can be written"
        )
    if is_unreachable(exc):
        return connection_error(engine, exc)
    return CatalogueError(
        f"the catalogue database {masked(engine.url)} failed: {_one_line(exc)}; run this "
        "again, and see `cppcc-archive verify`"
    )


def _with_installed_driver(url: URL) -> URL:
    # SQLAlchemy's default driver for `postgresql://` is psycopg2; we ship psycopg 3.
    if url.drivername == "postgresql" and importlib.util.find_spec("psycopg2") is None:
        return url.set(drivername="postgresql+psycopg")
    return url


def _make_parent_dir(url: URL) -> None:
    path = sqlite_path(url)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogueError(
            f"cannot create the folder of catalogue {masked(url)}: {exc.strerror}; "
            "choose a writable --home or --db"
        ) from None


def _configure_sqlite(engine: Engine, *, in_memory: bool, read_only: bool = False) -> None:
    """SQLAlchemy's pysqlite recipe: we emit BEGIN ourselves, so SAVEPOINTs work."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver must not emit BEGIN itself
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory and not read_only:
                cursor.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")  # before WAL makes it
                # Readers (the CLI) and the crawl's writer must not block each other.
                _switch_to_wal(cursor)
                # In WAL, NORMAL syncs at checkpoints, not at every commit: a power loss can
                # undo the last commits but never corrupts the file, and the WARC files
                # (which `reindex` rebuilds the catalogue from) are no more durable than that
                # between their own fsyncs. FULL cost a crawl an fsync per article.
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE: take the write lock up front, waiting up to the busy timeout. A deferred
        # transaction that reads, then writes after another process committed fails at once
        # with "database is locked" (SQLITE_BUSY_SNAPSHOT): the busy timeout cannot help it.
        # Sessions that only read (READ_ONLY) take no write lock: in WAL they never wait.
        if read_only or connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _switch_to_wal(cursor: Any) -> None:
    """Put the database in WAL mode (a lasting property of the file), retrying while locked.

    Switching needs an exclusive lock, and when several processes open a new catalogue at
    once SQLite may answer "database is locked" at once instead of waiting for busy_timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return " ".join(text.split()) or type(exc).__name__
