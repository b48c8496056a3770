"""The queue's database: the catalogue's PostgreSQL server, and procrastinate's tables in it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from pipelines.catalogue.engine import masked
from pipelines.errors import CatalogueError, UsageError

if TYPE_CHECKING:
    import procrastinate

# Taken (as a transaction's advisory lock) while procrastinate's tables are created, so two
# workers starting at once on an empty database do not both create them.
_SCHEMA_LOCK = 0x43505043_5150  # "CPPC" "QP"
NEEDS_POSTGRES = (
    "the job queue lives in a PostgreSQL catalogue, and {url} is not one: give every host "
    "the same postgresql://… catalogue (--db or CPPCC_DATABASE_URL)"
)
NEEDS_PROCRASTINATE = (
    "the job queue needs procrastinate, which is not installed: pip install 'cppcc-archive[queue]'"
)


def queue_conninfo(database_url: str) -> str:
    """The libpq connection string of the catalogue at `database_url`; UsageError unless it
    is PostgreSQL (the queue is PostgreSQL's: SQLite has no server for hosts to share)."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise UsageError(NEEDS_POSTGRES.format(url=repr(database_url))) from None
    if url.get_backend_name() != "postgresql":
        raise UsageError(NEEDS_POSTGRES.format(url=masked(url)))
    # libpq knows no SQLAlchemy driver suffix (postgresql+psycopg://).
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def require_procrastinate() -> None:
    """UsageError, saying how to install it, when procrastinate is not installed."""
    try:
        import procrastinate  # noqa: F401
    except ImportError:
        raise UsageError(NEEDS_PROCRASTINATE) from None


def ensure_queue_schema(conninfo: str) -> None:
    """Create procrastinate's tables in the catalogue's database unless they are there.

    procrastinate's own `apply_schema` is not idempotent and not guarded against a second
    worker doing the same at the same moment: both are, here, in one transaction.
    """
    import psycopg
    from procrastinate.schema import SchemaManager

    try:
        with psycopg.connect(conninfo, connect_timeout=10) as connection:
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            found = connection.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if found is None or found[0] is None:
                connection.execute(SchemaManager.get_schema())
    except psycopg.Error as exc:
        raise CatalogueError(
            f"cannot prepare the job queue in {masked(make_url(conninfo))}: "
            f"{' '.join(str(exc).split())}"
        ) from None


def sync_app(conninfo: str) -> procrastinate.App:
    """An app for queueing jobs from plain (threaded) code: the CLI, the dispatcher."""
    import procrastinate

    from scheduler.queue.jobs import register_tasks

    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=conninfo))
    register_tasks(app)
    return app
