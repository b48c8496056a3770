"""Alembic's environment: migrate on a connection handed over by `ensure_schema`, or on the
URL of `alembic.ini` / `-x db=…` when run from the `alembic` command line."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from pipelines.catalogue.engine import make_engine
from pipelines.catalogue.models import Base
from pipelines.catalogue.search import outside_search

config = context.config
target_metadata = Base.metadata
if config.config_file_name is not None:  # the alembic command line: log as alembic.ini says
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_on(connection: Connection) -> None:
    """Run the pending migrations on `connection`, inside its transaction if it has one."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite's ALTER is limited
        compare_type=True,
        include_object=outside_search,  # autogenerate must leave the search tables alone
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Use the caller's connection if there is one, else the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("db") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("no database: pass -x db=<URL> or set sqlalchemy.url in alembic.ini")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            run_on(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: give a database with -x db=")
run_online()
