"""Tests for pipelines/catalogue/schema.py: the migration matches the models, created once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    RowMapping,
    Table,
    column,
    insert,
    inspect,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.models import RUN_COUNTS, ArticleRecord, Base, Capture, Run
from pipelines.catalogue.queries import list_articles
from pipelines.catalogue.schema import (
    alembic_config,
    current_revision,
    ensure_schema,
    head_revision,
    scripts_head_revision,
)
from pipelines.catalogue.search import SEARCH_TABLE, SEARCH_TABLES, outside_search
from pipelines.catalogue.writes import SUPERSEDED_FIELDS, VERSIONED_FIELDS
from pipelines.errors import CatalogueError
from tests.conftest import run_cli, run_cli_in_process

REPO = Path(__file__).resolve().parents[1]


TABLES = {
    "sites", "channels", "articles", "captures", "rejections", "runs", "run_channels",
    "channel_locks", "records", "article_versions", "alembic_version", "channel_walks",
    "article_events", "warc_files",
}  # fmt: skip


def _diff(engine: Engine, metadata: MetaData) -> list[Any]:
    with engine.connect() as connection:
        opts = {"compare_type": True, "include_object": outside_search}
        context = MigrationContext.configure(connection, opts=opts)
        return list(compare_metadata(context, metadata))


def test_migration_creates_exactly_the_models(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    try:
        ensure_schema(engine)
        names = set(inspect(engine).get_table_names())
        assert SEARCH_TABLE in names  # made by hand: FTS5 or a tsvector, not a model
        assert names - set(SEARCH_TABLES) == TABLES
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
        assert set(inspect(engine).get_table_names()) - set(SEARCH_TABLES) == TABLES
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            versions = connection.execute(text("SELECT count(*) FROM alembic_version")).scalar()
        assert versions == 1
    finally:
        engine.dispose()


def _migrate(engine: Engine, action: str, revision: str) -> None:
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def test_upgrade_to_0006_stores_json_as_utf8_and_the_section_filter_finds_it(
    fresh_db_url: str,
) -> None:
    engine = make_engine(fresh_db_url)
    escaped = {
        "section": json.dumps(["要闻", "政协动态"]),
        "stats": json.dumps({"站": "人民政协网"}),
    }
    try:
        _migrate(engine, "upgrade", "0005")
        cast_json = "CAST({} AS json)" if engine.dialect.name == "postgresql" else "{}"
        with engine.begin() as connection:
            # As revision 0005's program wrote them: JSON with \u escapes.
            connection.execute(
                text(
                    "INSERT INTO articles (id, url, site, channel, section, title, published_at, "
                    "keywords, paragraphs, images, content_hash, page_count, first_seen_at, "
                    "last_seen_at, updated_at) VALUES (1, 'http://x/c/1.shtml', 'rmzxb', 'yw', "
                    f"{cast_json.format(':section')}, '标题', :at, {cast_json.format(':empty')}, "
                    f"{cast_json.format(':empty')}, {cast_json.format(':empty')}, 'h', 1, :at, "
                    ":at, :at)"
                ),
                {**escaped, "empty": "[]", "at": MOMENT},
            )
            connection.execute(
                text(
                    "INSERT INTO runs (id, trigger, status, channels, started_at, stats, "
                    "pages_fetched, articles_new, articles_updated, articles_unchanged, "
                    "pages_rejected, http_errors, errors) VALUES (1, 'manual', 'finished', "
                    f"{cast_json.format(':channels')}, :at, {cast_json.format(':stats')}, "
                    "0, 0, 0, 0, 0, 0, 0)"
                ),
                {**escaped, "channels": json.dumps(["rmzxb/yw"]), "at": MOMENT},
            )
        assert "\\u" in _stored(engine, "articles", "section")  # escaped, before
        ensure_schema(engine)
        assert _stored(engine, "articles", "section") == '["要闻", "政协动态"]'
        assert _stored(engine, "runs", "stats") == '{"站": "人民政协网"}'
        with make_session_factory(engine)() as session:
            [found] = list_articles(session, section="政协动态")
            assert found.section == ["要闻", "政协动态"]
            # What the program writes from now on is UTF-8 too.
            session.add(
                Run(id=2, trigger="manual", status="running", channels=["rmzxb/yw"],
                    started_at=MOMENT, stats={"频道": "要闻"})
            )  # fmt: skip
            session.commit()
        assert '"频道": "要闻"' in _stored(engine, "runs", "stats", row=2)
    finally:
        engine.dispose()


def _stored(engine: Engine, table: str, column: str, row: int = 1) -> str:
    """The text a JSON column holds, as the database stores it."""
    query = text(f"SELECT CAST({column} AS TEXT) FROM {table} WHERE id = :row")
    with engine.connect() as connection:
        return str(connection.execute(query, {"row": row}).scalar())


def test_upgrade_from_0001_fills_run_channels(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    try:
        _migrate(engine, "upgrade", "0001")
        runs = table(
            "runs", *(column(name) for name in ("id", "trigger", "status", "started_at")),
            column("channels", JSON()), *(column(name) for name in RUN_COUNTS),
        )  # fmt: skip
        channels = [["rmzxb/yw", "rmzxb/xs"], [], ["rmzxb/yw", "rmzxb/yw", "bad", 7], ["a/b"]]
        with engine.begin() as connection:
            connection.execute(
                runs.insert(),
                [
                    {"id": n + 1, "trigger": "manual", "status": "finished", "channels": keys,
                     "started_at": datetime(2025, 1, n + 1, tzinfo=UTC),
                     **dict.fromkeys(RUN_COUNTS, 0)}
                    for n, keys in enumerate(channels)
                ],
            )  # fmt: skip
        ensure_schema(engine)
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            rows = connection.execute(
                text("SELECT run_id, site, channel FROM run_channels ORDER BY run_id, channel")
            ).all()
            heartbeats = connection.execute(text("SELECT heartbeat_at FROM runs")).scalars().all()
        assert [tuple(row) for row in rows] == [
            (1, "rmzxb", "xs"),
            (1, "rmzxb", "yw"),
            (3, "rmzxb", "yw"),
            (4, "a", "b"),
        ]
        assert heartbeats == [None] * 4
    finally:
        engine.dispose()


def test_0002_downgrades_and_upgrades_again(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    try:
        ensure_schema(engine)
        _migrate(engine, "downgrade", "0001")
        inspector = inspect(engine)
        assert set(inspector.get_table_names()) == TABLES - {
            "run_channels", "channel_locks", "records", "article_versions", "channel_walks",
            "article_events", "warc_files",
        }  # fmt: skip
        assert "heartbeat_at" not in {c["name"] for c in inspector.get_columns("runs")}
        ensure_schema(engine)
        assert _diff(engine, Base.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_from_0002_makes_versions_and_records_of_what_is_catalogued(
    fresh_db_url: str,
) -> None:
    engine = make_engine(fresh_db_url)
    moment = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
    try:
        _migrate(engine, "upgrade", "0002")
        # Captures are as they were at 0002, so the model can write them; an article row is
        # written with the columns it had then (the model has more since 0007).
        with Session(engine) as session, session.begin():
            session.execute(
                insert(ArticleRecord.__table__).values(
                    id=7, url="http://x/c/1.shtml", site="rmzxb", channel="xs",
                    first_seen_at=moment, last_seen_at=moment, updated_at=moment,
                    content_hash="sha256:1", content_id="3064624", section=["协商"],
                    title="标题", subtitle=None, published_at=moment, source="人民政协网",
                    author=None, editor="张三", keywords=[], paragraphs=["一段。"], images=[],
                    page_count=1,
                )
            )  # fmt: skip
            session.add(
                Capture(
                    article_id=7, url="http://x/c/1.shtml", warc_filename="a.warc.gz",
                    warc_offset=10, warc_length=99, record_id="<urn:uuid:1>",
                    payload_digest="sha1:AAAA", fetched_at=moment, status=200, page_number=1,
                )
            )  # fmt: skip
        ensure_schema(engine)
        with engine.connect() as connection:
            versions = connection.execute(
                text("SELECT article_id, number, title, paragraphs FROM article_versions")
            ).all()
            records = connection.execute(
                text("SELECT record_type, record_id, warc_offset, payload_digest FROM records")
            ).all()
        assert [(v[0], v[1], v[2]) for v in versions] == [(7, 1, "标题")]
        assert [tuple(r) for r in records] == [("response", "<urn:uuid:1>", 10, "sha1:AAAA")]
    finally:
        engine.dispose()


# -- `cppcc-archive db upgrade` from every earlier revision -----------------------------------

MOMENT = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
ARTICLE_URL = "http://x/c/2025-03-04/1.shtml"
# Rows of every table, parents first. A database built at an earlier revision gets the rows of
# the tables it has, with the columns it has; each must come through the upgrade unchanged.
ROWS: dict[str, list[dict[str, Any]]] = {
    "sites": [{"key": "rmzxb", "name": "人民政协网"}],
    "channels": [{"site": "rmzxb", "key": "yw", "name": "要闻", "list_url": "http://x/yw_n/"}],
    "runs": [
        {"id": 3, "trigger": "manual", "status": "finished", "channels": ["rmzxb/yw"],
         "started_at": MOMENT, "finished_at": MOMENT, "pid": 42, "host": "vm", "exit_code": 0,
         "finish_reason": "finished", "error": None, "stats": {"downloader/request_count": 2},
         "heartbeat_at": MOMENT, **dict.fromkeys(RUN_COUNTS, 1)},
    ],
    "run_channels": [{"run_id": 3, "site": "rmzxb", "channel": "yw"}],
    "channel_locks": [
        {"site": "rmzxb", "channel": "yw", "run_id": 3, "host": "vm", "pid": 42,
         "started_at": MOMENT},
    ],
    "articles": [
        {"id": 7, "url": ARTICLE_URL, "site": "rmzxb", "channel": "yw", "content_id": "1",
         "section": ["要闻"], "title": "标题", "subtitle": "副题", "published_at": MOMENT,
         "source": "人民政协网", "author": "记者 张三", "editor": "李四", "keywords": ["政协"],
         "paragraphs": ["一段。"], "images": [], "content_hash": "sha256:1", "page_count": 1,
         "first_seen_at": MOMENT, "last_seen_at": MOMENT, "updated_at": MOMENT},
    ],
    "captures": [
        {"id": 11, "article_id": 7, "url": ARTICLE_URL, "warc_filename": "a.warc.gz",
         "warc_offset": 10, "warc_length": 99, "record_id": "<urn:uuid:1>",
         "payload_digest": "sha1:AAAA", "fetched_at": MOMENT, "status": 200, "page_number": 1,
         "run_id": 3},
    ],
    "rejections": [
        {"id": 13, "url": "http://x/c/2.shtml", "site": "rmzxb", "channel": "yw",
         "reason": "no-date", "detail": None, "warc_filename": "a.warc.gz", "warc_offset": 200,
         "warc_length": 50, "record_id": "<urn:uuid:2>", "run_id": 3, "seen_at": MOMENT},
    ],
    "records": [
        {"id": 17, "record_id": "<urn:uuid:1>", "record_type": "response", "url": ARTICLE_URL,
         "fetched_at": MOMENT, "status": 200, "payload_digest": "sha1:AAAA",
         "warc_filename": "a.warc.gz", "warc_offset": 10, "warc_length": 99},
    ],
    "channel_walks": [
        {"site": "rmzxb", "channel": "yw", "settled_at": MOMENT,
         "resume_url": "http://x/yw_n/index_3.shtml", "resume_page": 3, "last_page": 30,
         "completed_at": None, "updated_at": MOMENT, "run_id": 3},
    ],
    "article_versions": [
        {"id": 19, "article_id": 7, "number": 1, "captured_at": MOMENT,
         "content_hash": "sha256:1", "section": ["要闻"], "title": "标题",
         "published_at": MOMENT, "keywords": ["政协"], "paragraphs": ["一段。"], "images": [],
         "page_count": 1},
    ],
}  # fmt: skip


def _earlier_revisions() -> list[str]:
    """Every revision before the head, oldest first, as the script directory lists them."""
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    return [
        rev.revision for rev in reversed(list(scripts.walk_revisions())) if rev.revision != head
    ]


def _fill(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Insert the ROWS the database's tables can hold; returns what was inserted."""
    inspector = inspect(engine)
    present = {name: {c["name"] for c in inspector.get_columns(name)} for name in ROWS
               if inspector.has_table(name)}  # fmt: skip
    inserted = {
        name: [{k: v for k, v in row.items() if k in present[name]} for row in ROWS[name]]
        for name in ROWS
        if name in present
    }
    with engine.begin() as connection:
        for name, rows in inserted.items():
            # The models' column types write times and JSON as the program does.
            connection.execute(Base.metadata.tables[name].insert(), rows)
    return inserted


def _still_there(engine: Engine, inserted: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Rows inserted before the upgrade that are gone or changed after it."""
    missing = []
    with engine.connect() as connection:
        for name, rows in inserted.items():
            model = Base.metadata.tables[name]
            for row in rows:
                key = [model.c[c.name] == row[c.name] for c in model.primary_key.columns]
                found = connection.execute(select(model).where(*key)).mappings().one_or_none()
                if found is not None and name == "article_versions":
                    found = _version_as_read(connection, found)
                if found is None or {k: found[k] for k in row} != row:
                    missing.append(f"{name}: {row} became {found}")
    return missing


def _version_as_read(connection: Connection, found: RowMapping) -> dict[str, Any]:
    """A version row as the program reads it: since 0011 the newest version's content fields
    are NULL in its row, and its content is its article's (versions.content_of)."""
    if found["paragraphs"] is not None:
        return dict(found)
    articles = Base.metadata.tables["articles"]
    query = select(articles).where(articles.c.id == found["article_id"])
    article = connection.execute(query).mappings().one()
    return {**found, **{name: article[name] for name in SUPERSEDED_FIELDS}}


@pytest.mark.parametrize("revision", [None, *_earlier_revisions()])
def test_db_upgrade_brings_every_earlier_revision_to_the_models(
    fresh_db_url: str, revision: str | None
) -> None:
    engine = make_engine(fresh_db_url)
    try:
        inserted: dict[str, list[dict[str, Any]]] = {}
        if revision is not None:
            _migrate(engine, "upgrade", revision)
            inserted = _fill(engine)
            assert inserted["articles"], "no article at revision " + revision
        result = run_cli("--db", fresh_db_url, "db", "upgrade", "--format", "json")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert (report["from"], report["to"], report["upgraded"]) == (
            revision,
            head_revision(),
            True,
        )
        assert _diff(engine, Base.metadata) == []
        assert _still_there(engine, inserted) == []
        # The rest in this process: the upgrade above is the one run as a user runs it.
        again = run_cli_in_process("--db", fresh_db_url, "db", "upgrade")
        assert again.returncode == 0, again.stderr
        assert f"already at revision {head_revision()}" in again.stdout
        current = run_cli_in_process("--db", fresh_db_url, "db", "current", "--format", "json")
        assert json.loads(current.stdout)["from"] == head_revision(), current.stderr
    finally:
        engine.dispose()
    if revision is not None:  # the program reads what the old one wrote
        listed = run_cli_in_process("--db", fresh_db_url, "articles", "--format", "json")
        assert listed.returncode == 0, listed.stderr
        assert [a["title"] for a in json.loads(listed.stdout)] == ["标题"]
    if revision is not None and revision < "0004":
        # Articles catalogued before search existed (0004) are searchable once migrated.
        search = ("articles", "--search", "副题", "--format", "json")
        found = run_cli_in_process("--db", fresh_db_url, *search)
        assert found.returncode == 0, found.stderr
        assert [a["title"] for a in json.loads(found.stdout)] == ["标题"]


def test_db_upgrade_refuses_a_catalogue_from_a_newer_program(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    try:
        ensure_schema(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    finally:
        engine.dispose()
    result = run_cli("--db", fresh_db_url, "db", "upgrade")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "newer cppcc-archive" in result.stderr and "Traceback" not in result.stderr


def test_db_current_on_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    result = run_cli("--home", str(tmp_path), "db", "current")
    assert result.returncode == 1
    assert "cppcc-archive db upgrade" in result.stderr
    assert not (tmp_path / "catalogue.sqlite3").exists()


def test_the_head_revision_is_the_newest_migration_script() -> None:
    # Commands check the schema against HEAD_REVISION without loading Alembic: a migration
    # added without moving it would never be applied.
    assert head_revision() == scripts_head_revision()


def test_upgrade_to_0010_keeps_every_version_as_read_and_downgrade_gives_rows_back(
    fresh_db_url: str,
) -> None:
    engine = make_engine(fresh_db_url)
    versions = Base.metadata.tables["article_versions"]
    article = ROWS["articles"][0]
    newer = {
        "id": 19,
        "article_id": 7,
        "number": 2,
        "captured_at": MOMENT,
        **{name: article[name] for name in VERSIONED_FIELDS},
    }  # as 0010 wrote it
    older = {**newer, "id": 18, "number": 1, "title": "旧标题", "content_hash": "sha256:0",
             "paragraphs": ["旧的一段。"], "author": "张三"}  # fmt: skip
    try:
        _migrate(engine, "upgrade", "0009")
        with engine.begin() as connection:
            connection.execute(Base.metadata.tables["articles"].insert(), ROWS["articles"])
            connection.execute(versions.insert(), [older, newer])
        before = _history(engine)
        rows_before = _version_rows(engine)
        _migrate(engine, "upgrade", "0010")
        assert _history(engine) == before
        assert before[1]["changed_fields"] == ["title", "author", "paragraphs"]
        # The newest version gave its content to the article row; the older one kept its own.
        lean = text(
            "SELECT number, title, paragraphs IS NULL, source IS NULL FROM article_versions"
        )
        with engine.connect() as connection:
            assert sorted(map(tuple, connection.execute(lean))) == [
                (1, "旧标题", False, False),
                (2, "标题", True, True),
            ]
        _migrate(engine, "downgrade", "0009")
        assert _version_rows(engine) == rows_before
    finally:
        engine.dispose()


def _history(engine: Engine) -> list[dict[str, Any]]:
    from pipelines.catalogue.queries import find_article
    from pipelines.catalogue.versions import versions_view

    with Session(engine) as session:
        found = find_article(session, ARTICLE_URL)
        assert found is not None
        return versions_view(found.versions)


def _version_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        query = select(Base.metadata.tables["article_versions"]).order_by(text("id"))
        return [tuple(row) for row in connection.execute(query)]
