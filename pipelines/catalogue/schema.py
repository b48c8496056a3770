"""Create and migrate the catalogue's schema with Alembic, one process at a time.

Every command opens the catalogue, and nearly always finds it at the newest schema: that is
checked by one query against HEAD_REVISION, without Alembic (its import and the loading of
every migration script cost a third of a second a command). Alembic is loaded to migrate.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from pipelines.catalogue.engine import connection_error, masked, sqlite_path
from pipelines.errors import CatalogueError

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration in migrations/versions/: a new migration moves it (a test checks the
# two agree).
HEAD_REVISION = "0014"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Key of the PostgreSQL advisory lock that serialises migrations (any fixed 64-bit number).
POSTGRES_MIGRATION_LOCK = 0x63707063_63617400  # "cppccat\0"


def alembic_config() -> Config:
    """Alembic's configuration built in code: works from an installed package, in any CWD."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest migration this version of the program knows."""
    return HEAD_REVISION


def scripts_head_revision() -> str | None:
    """The newest migration script Alembic finds in migrations/versions/."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at (Alembic's version table); None for an empty one."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    found = list(versions)
    return found[0] if len(found) == 1 else None


def ensure_schema(engine: Engine) -> None:
    """Create the catalogue on first use, or migrate it to the newest schema.

    Safe when several processes open a new catalogue at once: SQLite files are migrated under
    an flock on `<dbfile>.lock`, PostgreSQL under a transaction-level advisory lock.
    """
    try:
        with engine.connect() as connection:
            if current_revision(connection) == head_revision():
                return
    except DBAPIError as exc:
        raise connection_error(engine, exc) from None
    _migrate(engine)


def _migrate(engine: Engine) -> None:
    """Alembic's upgrade to head, under the lock of the catalogue's kind."""
    from alembic import command
    from alembic.util import CommandError

    try:
        with _file_lock(engine), engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_MIGRATION_LOCK}
                )
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except CommandError as exc:
        raise CatalogueError(
            f"cannot migrate the catalogue {masked(engine.url)}: {exc}; it was written by a "
            "newer cppcc-archive: upgrade the program, or use another --db"
        ) from None
    except DBAPIError as exc:
        raise connection_error(engine, exc) from None


@contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    path = sqlite_path(engine.url) if engine.dialect.name == "sqlite" else None
    if path is None:  # a server database, or SQLite in memory: nobody else can see it
        yield
        return
    try:
        lock = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115 — held across yield
    except OSError as exc:
        raise CatalogueError(
            f"cannot lock the catalogue {masked(engine.url)} for migration: {exc.strerror}; "
            "check that its folder is writable"
        ) from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
