"""Tests for pipelines/catalogue/article_batches.py: save_articles leaves the catalogue as
save_article one by one does, ids included, with a statement a table for the new articles."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.article_batches import ArticleSave, save_articles
from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.lifecycle import Withdrawal, save_withdrawals
from pipelines.catalogue.models import Capture
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.search import search_articles
from pipelines.catalogue.writer import CatalogueWriter
from pipelines.catalogue.writes import ArticleOutcome, save_article, save_rejection, start_run
from tests.db_fixtures import BACKENDS, FETCHED, PostgresServer, location, make_article

NEW, UPDATED, UNCHANGED = ArticleOutcome.NEW, ArticleOutcome.UPDATED, ArticleOutcome.UNCHANGED


def url(n: int) -> str:
    return f"https://www.rmzxw.com.cn/c/2022-03-04/{n}.shtml"


def saved(
    n: int, *, hours: int = 0, pages: int = 1, record: str = "", **changes: Any
) -> ArticleSave:
    """Article `n` as seen `hours` after FETCHED, its pages captured then (record ids named
    after the article, the hour and the page, or `record` for its only page)."""
    captures = [
        (page, location(record or f"{n}-{hours}-p{page}", page_url=f"{url(n)}?page={page}",
                        fetched_at=FETCHED + timedelta(hours=hours)))
        for page in range(1, pages + 1)
    ]  # fmt: skip
    article = make_article(url(n), page_count=pages, **changes)
    return ArticleSave(article, "rmzxb", "yw", captures, run_id=1)


def one_by_one(session: Session, saves: Sequence[ArticleSave]) -> list[ArticleOutcome]:
    return [save_article(session, **_arguments(save)) for save in saves]


def _arguments(save: ArticleSave) -> dict[str, Any]:
    return {field.name: getattr(save, field.name) for field in dataclasses.fields(save)}


def catalogue_before(session: Session) -> None:
    """A run; articles 1, 2 and 3, 3 withdrawn since; a page of 13 archived as rejected."""
    start_run(session, trigger="manual", channels=["rmzxb/yw"], pid=1, host="h",
              started_at=FETCHED)  # fmt: skip
    one_by_one(session, [saved(1), saved(2), saved(3)])
    gone = dataclasses.replace(location("3-gone", page_url=url(3)), status=404,
                               fetched_at=FETCHED + timedelta(hours=1))  # fmt: skip
    withdrawal = Withdrawal(url(3), "http-404", gone, gone.fetched_at)
    save_withdrawals(session, site="rmzxb", channel="yw", withdrawals=[withdrawal], run_id=1)
    orphan = location("orphan", page_url=url(13))
    session.add(Capture(url=orphan.url, warc_filename=orphan.filename, warc_offset=orphan.offset,
                        warc_length=orphan.length, record_id=orphan.record_id,
                        payload_digest=orphan.payload_digest, fetched_at=orphan.fetched_at,
                        status=orphan.status, page_number=1))  # fmt: skip
    session.commit()


# New articles, one saved twice; articles catalogued before, unchanged, changed, and withdrawn
# then found again; a new one claiming a capture archived before as a rejected page.
MIXED = [
    saved(10, hours=2),
    saved(1, hours=2),
    saved(11, hours=2),
    saved(12, hours=2, pages=2),
    saved(2, hours=2, title="政协会议闭幕"),
    saved(11, hours=3, paragraphs=("改写的第一段。",)),
    saved(3, hours=2),
    saved(13, record="orphan"),
    saved(14, hours=2, title="第二届全国政协"),
]
MIXED_OUTCOMES = [NEW, UNCHANGED, NEW, NEW, UPDATED, UPDATED, UNCHANGED, NEW, NEW]
QUERIES = ["政协", "闭幕", "改写", "第二届", "会场"]
FTS_BYTES = ("article_search_data", "article_search_idx")  # FTS5's segments, as written


class Catalogues(NamedTuple):
    """Two new catalogues on the same back end: one saved in batches, one by one."""

    batched: sessionmaker[Session]
    single: sessionmaker[Session]
    batched_url: str


@pytest.fixture(params=BACKENDS)
def catalogues(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalogues]:
    """Two new catalogues on the same back end, migrated."""
    if request.param == "sqlite":
        urls = [f"sqlite:///{tmp_path / name}.sqlite3" for name in ("batch", "single")]
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        urls = [server.create_database(), server.create_database()]
    engines = [make_engine(url) for url in urls]
    try:
        for engine in engines:
            ensure_schema(engine)
        yield Catalogues(
            make_session_factory(engines[0]), make_session_factory(engines[1]), urls[0]
        )
    finally:
        for engine in engines:
            engine.dispose()
        if request.param == "postgresql":
            for url in urls:
                server.drop_database(url)


def test_a_mixed_batch_leaves_the_catalogue_as_one_by_one(catalogues: Catalogues) -> None:
    batched, single, _ = catalogues
    outcomes = {}
    for sessions, save in ((batched, save_articles), (single, one_by_one)):
        with sessions() as session:
            catalogue_before(session)
            outcomes[sessions] = save(session, MIXED)
            session.commit()
    assert outcomes[batched] == outcomes[single] == MIXED_OUTCOMES
    assert every_row(batched) == every_row(single)
    assert searches(batched) == searches(single)
    assert searches(batched)["闭幕"] == [2]
    with batched() as session:
        events = session.execute(text("SELECT article_id, kind FROM article_events ORDER BY id"))
        assert [tuple(event) for event in events] == [(3, "withdrawn"), (3, "restored")]
        claimed = "SELECT a.url FROM captures c JOIN articles a ON a.id = c.article_id "
        assert session.scalar(text(claimed + "WHERE c.record_id = '<urn:uuid:orphan>'")) == url(13)


def test_a_batch_with_rejections_through_the_writer_leaves_the_catalogue_as_one_by_one(
    catalogues: Catalogues,
) -> None:
    batched, single, batched_url = catalogues
    rejection = {"url": url(20), "site": "rmzxb", "channel": "yw", "reason": "no-title",
                 "detail": "no title", "location": location("20-r", page_url=url(20)),
                 "run_id": 1}  # fmt: skip
    jobs = [("save_article", _arguments(save)) for save in MIXED]
    jobs[4:4] = [("save_rejection", rejection)]  # between two runs of articles
    with batched() as session:
        catalogue_before(session)
    # Waits long for company, so that the jobs share a batch (one transaction).
    writer = CatalogueWriter(batched_url, max_delay=2.0)
    try:
        futures = [writer.submit(name, **arguments) for name, arguments in jobs]
        written = [future.result(timeout=60) for future in futures]
    finally:
        writer.close()
    with single() as session:
        catalogue_before(session)
        writes = {"save_article": save_article, "save_rejection": save_rejection}
        alone = [writes[name](session, **arguments) for name, arguments in jobs]
        session.commit()
    assert written == alone
    assert [result for result in written if isinstance(result, ArticleOutcome)] == MIXED_OUTCOMES
    assert every_row(batched) == every_row(single)
    assert searches(batched) == searches(single)


def test_new_articles_are_inserted_with_one_statement_a_table(catalogues: Catalogues) -> None:
    batched = catalogues.batched
    saves = [saved(n, pages=2) for n in range(100, 150)]
    with batched() as session:
        start_run(session, trigger="manual", channels=["rmzxb/yw"], pid=1, host="h",
                  started_at=FETCHED)  # fmt: skip
        with counted_statements(session.get_bind()) as statements:  # type: ignore[arg-type]
            assert save_articles(session, saves) == [NEW] * len(saves)
        session.commit()
    # 50 articles of two pages: one statement inserts them all, one their captures...
    for table in ("articles", "captures", "article_search"):
        assert sum(f" INTO {table} " in s for s in statements) == 1
    # ...and one each looks them up, adds their versions, claims captures, indexes them (the
    # versions go in by COPY on PostgreSQL, which SQLAlchemy does not see).
    assert len(statements) <= 6


def test_a_url_another_process_inserts_meanwhile_is_updated_not_lost(
    catalogues: Catalogues,
) -> None:
    sessions = catalogues.batched
    outcomes: list[ArticleOutcome] = []
    failures: list[BaseException] = []

    def batch_writer() -> None:
        try:
            with sessions() as session:
                # Article 2 not catalogued yet as far as this transaction can see (PostgreSQL),
                # or once the first writer commits (SQLite: its BEGIN waits for the lock).
                batch = [saved(1), saved(2, hours=1, title="新标题"), saved(3)]
                outcomes.extend(save_articles(session, batch))
                session.commit()
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    first = sessions()
    try:
        with first.begin():
            start_run(first, trigger="manual", channels=["rmzxb/yw"], pid=1, host="h",
                      started_at=FETCHED)  # fmt: skip
        one_by_one(first, [saved(2)])
        thread = threading.Thread(target=batch_writer)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # waiting on the first writer's uncommitted insert
        first.commit()
        thread.join(timeout=60)
        assert failures == []
        assert outcomes == [NEW, UPDATED, NEW]
        with sessions() as session:
            rows = session.execute(text("SELECT url, title FROM articles ORDER BY url"))
            assert [tuple(row) for row in rows] == [
                (url(1), make_article().title),
                (url(2), "新标题"),
                (url(3), make_article().title),
            ]
            versions = session.scalar(text("SELECT count(*) FROM article_versions"))
            assert versions == 4  # 1, 2 (twice: its first saving, then the change) and 3
    finally:
        first.close()


class counted_statements:
    """The SQL statements the engine sends while in the `with` block."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, *args: Any) -> None:
        self.statements.append(" ".join(str(args[2]).split()))

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.statements

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def every_row(sessions: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the search index's too, and on PostgreSQL where each
    sequence stands), in a form alike for both catalogues."""
    with sessions() as session:
        if session.get_bind().dialect.name == "sqlite":
            names = session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
            # FTS5 splits its index into segments by statement, so their bytes differ: the
            # index is compared by what it holds, every term's every place (fts5vocab).
            queries = {name: f"SELECT * FROM {name}" for name in names if name not in FTS_BYTES}
            queries["article_search"] = "SELECT rowid, * FROM article_search"  # the sort key
            session.execute(text("CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_terms "
                                 "USING fts5vocab(main, article_search, instance)"))  # fmt: skip
            queries["search_terms"] = "SELECT * FROM temp.search_terms"
        else:
            names = session.scalars(text("SELECT table_name FROM information_schema.tables "
                                         "WHERE table_schema = 'public'"))  # fmt: skip
            queries = {name: f"SELECT * FROM {name}" for name in names}
            queries["sequences"] = "SELECT sequencename, last_value FROM pg_sequences"
        # Sorted by their text: JSON columns have no order on PostgreSQL; ids are in the rows.
        rows = {name: sorted((tuple(map(_plain, row)) for row in session.execute(text(query))),
                             key=repr) for name, query in queries.items()}  # fmt: skip
    assert rows["articles"] and rows["article_versions"] and rows["captures"]
    return rows


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def searches(sessions: sessionmaker[Session]) -> dict[str, list[int]]:
    """The ids each of QUERIES finds, newest first and by relevance."""
    found: dict[str, list[int]] = {}
    with sessions() as session:
        for query in QUERIES:
            for sort in ("newest", "relevance"):
                hits = search_articles(session, query, sort=sort, limit=None)
                key = query if sort == "newest" else f"{query} ({sort})"
                found[key] = [hit.article.id for hit in hits]
    return found
