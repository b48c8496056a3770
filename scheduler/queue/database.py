"""The queue's database: the catalogue's PostgreSQL server, and procrastinate's tables in it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from pipelines.catalogue.engine import masked
from pipelines.errors import UsageError

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


def ensure_queue_schema(database_url: str) -> None:
    """Create procrastinate's tables in the catalogue's database unless they are there.

    procrastinate's own `apply_schema` is not idempotent and not guarded against a second
    worker doing the same at the same moment: both are, here, in one transaction. Through the
    catalogue's engine, so a server that cannot be reached is the catalogue's one line.
    """
    from procrastinate.schema import SchemaManager
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from pipelines.catalogue.engine import catalogue_failure, make_engine

    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
            if connection.scalar(text("SELECT to_regclass('procrastinate_jobs')")) is None:
                # The driver reads `%` as a parameter's mark: doubled, as procrastinate does.
                connection.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))
    except SQLAlchemyError as exc:
        raise catalogue_failure(engine, exc) from None
    finally:
        engine.dispose()


def sync_app(conninfo: str) -> procrastinate.App:
    """An app for queueing jobs from plain (threaded) code: the CLI, the dispatcher."""
    import procrastinate

    from scheduler.queue.jobs import register_tasks

    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=conninfo))
    register_tasks(app)
    return app
