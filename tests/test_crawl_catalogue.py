"""Tests for crawler/catalogue.py and crawler/record_index.py: the crawl's look-ups run off
Scrapy's thread, and its records reach the catalogue through the writer process."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from sqlalchemy.orm import Session

from crawler.catalogue import CatalogueReads
from crawler.record_index import CrawlRecordIndex
from pipelines.catalogue.engine import make_engine, make_read_session_factory
from pipelines.catalogue.records import ArchivedResponse, original_with_digest
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writer import CatalogueWriter
from tests.db_fixtures import location


def test_a_look_up_runs_in_a_reading_thread_while_the_caller_goes_on(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'catalogue.sqlite3'}")
    ensure_schema(engine)
    reads = CatalogueReads(make_read_session_factory(engine))

    def slow_query(session: Session, answer: int) -> tuple[int, str]:
        time.sleep(0.3)
        return answer, threading.current_thread().name

    async def crawl() -> tuple[tuple[int, str], int]:
        ticks = 0

        async def tick() -> None:  # stands for the downloads going on meanwhile
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        answer = await reads.read(slow_query, 42)
        ticker.cancel()
        return answer, ticks

    try:
        (answer, thread), ticks = asyncio.run(crawl())
    finally:
        reads.close()
        engine.dispose()
    assert answer == 42 and thread.startswith("catalogue-read")
    assert ticks >= 10  # the loop was not held up by the query


def test_the_record_index_remembers_records_until_the_catalogue_has_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"
    engine = make_engine(url)
    ensure_schema(engine)
    errors: list[str] = []
    writer = CatalogueWriter(url)
    index = CrawlRecordIndex(writer, None, on_error=lambda: errors.append("lost"), flush_every=2)
    try:
        index.add(ArchivedResponse(location("first"), '"v1"', None))
        assert index.remembered("sha1:AAAA") is not None  # a revisit needs no catalogue yet
        index.add(ArchivedResponse(location("second")))  # the batch of two goes to the writer
        index.close()  # waits for every batch
    finally:
        writer.close()
    sessions = make_read_session_factory(engine)
    with sessions() as session:
        found = original_with_digest(session, "sha1:AAAA")
    engine.dispose()
    assert found is not None and found.record_id in ("<urn:uuid:first>", "<urn:uuid:second>")
    assert index.remembered("sha1:AAAA") is None  # forgotten once written: memory stays flat
    assert errors == []
