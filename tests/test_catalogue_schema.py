"""Tests for pipelines/catalogue/schema.py: the migration matches the models, created once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, Table, inspect, text

from pipelines.catalogue.engine import make_engine
from pipelines.catalogue.models import Base
from pipelines.catalogue.schema import current_revision, ensure_schema, head_revision
from pipelines.errors import CatalogueError

REPO = Path(__file__).resolve().parents[1]
TABLES = {"sites", "channels", "articles", "captures", "rejections", "runs", "alembic_version"}


def _diff(engine: Engine, metadata: MetaData) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_migration_creates_exactly_the_models(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    try:
        ensure_schema(engine)
        assert set(inspect(engine).get_table_names()) == TABLES
        assert _diff(engine, Base.metadata) == []
        # The comparison does see differences: a table the database lacks is one.
        extra = MetaData()
        for table in Base.metadata.tables.values():
            table.to_metadata(extra)
        Table("not_migrated", extra, Column("id", Integer, primary_key=True))
        assert [change[0] for change in _diff(engine, extra)] == ["add_table"]
    finally:
        engine.dispose()


def test_ensure_schema_twice_is_harmless(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    try:
        ensure_schema(engine)
        ensure_schema(engine)
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            versions = connection.execute(text("SELECT count(*) FROM alembic_version")).scalar()
        assert versions == 1
    finally:
        engine.dispose()


def test_catalogue_from_a_newer_program_is_refused(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    try:
        ensure_schema(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
        with pytest.raises(CatalogueError, match="newer cppcc-archive") as raised:
            ensure_schema(engine)
        assert "\n" not in str(raised.value)
    finally:
        engine.dispose()


# Each child waits for the `go` file, so that all of them migrate at the same moment.
CHILD = """
import os, sys, time
from pathlib import Path
from typing import Any
from pipelines.catalogue.engine import make_engine
from pipelines.catalogue.schema import ensure_schema
url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
engine = make_engine(url)
ready.touch()
while not go.exists():
    time.sleep(0.002)
try:
    ensure_schema(engine)
finally:
    engine.dispose()
"""


def test_concurrent_processes_create_one_schema(fresh_db_url: str, tmp_path: Path) -> None:
    workdir = tmp_path / "elsewhere"  # not the repository: migrations are found from the package
    workdir.mkdir()
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, fresh_db_url, str(tmp_path / f"ready{n}"), str(go)],
            cwd=workdir,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(6)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{n}").exists() for n in range(6)):
        assert time.monotonic() < deadline, "children did not start"
        time.sleep(0.01)
    go.touch()
    results = [
        (child.wait(timeout=120), child.stderr.read() if child.stderr else "") for child in children
    ]
    for child in children:
        if child.stderr:
            child.stderr.close()
    assert [(code, err) for code, err in results if code != 0] == []
    engine = make_engine(fresh_db_url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            versions = connection.execute(text("SELECT count(*) FROM alembic_version")).scalar()
        assert versions == 1
    finally:
        engine.dispose()
