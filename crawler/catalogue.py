"""The crawl's one connection to the catalogue, shared by all of its components.

Writes go to the crawl's writer process; look-ups run in a small pool of threads of their
own. Scrapy's thread awaits both and never waits on the database itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import Session, sessionmaker
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from pipelines.catalogue.engine import (
    is_unreachable,
    make_engine,
    make_read_session_factory,
    masked,
)
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writer import CatalogueWriter
from pipelines.home import ArchiveHome

T = TypeVar("T")
logger = logging.getLogger(__name__)
WRITER_LOST = "catalogue_writer_lost"  # the crawl's finish reason when its writer died
# The crawl's finish reason when the catalogue stopped answering (its server went down).
UNREACHABLE = "catalogue_unreachable"


READ_THREADS = 2  # look-ups at once: the reactor hands them over and goes on downloading


class CatalogueReads:
    """Look-ups on the catalogue in threads of their own, each with its own session.

    `read(query, *args)` runs `query(session, *args)` in a pool thread; Scrapy's thread awaits
    the answer without blocking. Sessions only read: SQLite takes no write lock for them.
    """

    def __init__(self, sessions: sessionmaker[Session], threads: int = READ_THREADS) -> None:
        self.sessions = sessions
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="catalogue-read")

    async def read(self, query: Callable[..., T], *args: Any) -> T:
        """What `query(session, *args)` returns, from a pool thread."""
        return await settled(self.pool.submit(self._run, query, *args))

    def read_now(self, query: Callable[..., T], *args: Any) -> T:
        """The same, in the caller's thread: for a crawl's start, before any download."""
        return self._run(query, *args)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, query: Callable[..., T], *args: Any) -> T:
        with self.sessions() as session:
            return query(session, *args)


@dataclass
class _Catalogue:
    engine: Engine
    reads: CatalogueReads
    writer: CatalogueWriter
    unreachable: bool = False  # the crawl was told to stop for it: once is enough


_CATALOGUES: WeakKeyDictionary[Crawler, _Catalogue] = WeakKeyDictionary()


def catalogue_url(crawler: Crawler) -> str:
    """CPPCC_DATABASE_URL, or the SQLite catalogue in CPPCC_HOME."""
    settings = crawler.settings
    return ArchiveHome.at(settings.get("CPPCC_HOME")).catalogue_url(
        settings.get("CPPCC_DATABASE_URL")
    )


def _catalogue(crawler: Crawler) -> _Catalogue:
    """The crawl's engine, created and migrated on first use, whoever asks first.

    It is disposed of when the engine stops, after its writer has written what it was given.
    """
    if crawler not in _CATALOGUES:
        engine = make_engine(catalogue_url(crawler))
        try:
            ensure_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        writer = CatalogueWriter(
            catalogue_url(crawler),
            on_lost=lambda reason: _writer_lost(crawler, reason),
            on_unreachable=lambda reason: _unreachable(crawler, reason),
        )
        reads = CatalogueReads(make_read_session_factory(engine))
        _CATALOGUES[crawler] = _Catalogue(engine, reads, writer)
        event.listen(engine, "handle_error", lambda context: _read_failed(crawler, context))
        crawler.signals.connect(
            lambda: _dispose(crawler), signal=signals.engine_stopped, weak=False
        )
    return _CATALOGUES[crawler]


def catalogue_reads(crawler: Crawler) -> CatalogueReads:
    """The crawl's look-ups, awaited in Scrapy's thread (no write lock on SQLite)."""
    return _catalogue(crawler).reads


def catalogue_writer(crawler: Crawler) -> CatalogueWriter:
    """The crawl's writer process: how its components write without holding up downloads."""
    return _catalogue(crawler).writer


async def settled(future: Future[T]) -> T:
    """What a write submitted to the catalogue writer (once committed) or a look-up returned.

    Awaited in Scrapy's thread (an item pipeline, say) without blocking it.
    """
    if _in_asyncio_loop():  # Scrapy's asyncio reactor (its default), or a test's own loop
        return await asyncio.wrap_future(future)
    from twisted.internet import reactor

    deferred: Deferred[T] = Deferred()

    def settle(done: Future[T]) -> None:
        error = done.exception()
        if error is None:
            deferred.callback(done.result())
        else:
            deferred.errback(Failure(error))

    # Called in the writer's receiving thread or a reading one (or at once, if it is done):
    # hand over to the reactor's.
    future.add_done_callback(lambda done: reactor.callFromThread(settle, done))
    result: T = await maybe_deferred_to_future(deferred)
    return result


def _in_asyncio_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _writer_lost(crawler: Crawler, reason: str) -> None:
    """The writer process died mid-crawl: stop the crawl, saying why (from any thread)."""
    from twisted.internet import reactor

    stat = "cppcc/errors/catalogue_writer_lost"
    reactor.callFromThread(_stop_crawl, crawler, stat, reason, WRITER_LOST)


def _stop_crawl(crawler: Crawler, stat: str, why: str, finish_reason: str) -> None:
    """Count `stat` and close the spider with `finish_reason`, logging `why` (reactor thread)."""
    assert crawler.stats is not None
    crawler.stats.inc_value(stat)
    if crawler.engine is not None and crawler.engine.running:
        logger.error("%s; stopping the crawl", why)
        deferred_from_coro(crawler.engine.close_spider_async(reason=finish_reason))


def _read_failed(crawler: Crawler, context: ExceptionContext) -> None:
    """A look-up failed (in Scrapy's thread): stop the crawl if the catalogue is gone."""
    error = context.sqlalchemy_exception
    unreachable = error is not None and is_unreachable(error)
    if context.is_disconnect or context.connection is None or unreachable:
        engine = context.engine
        url = masked(engine.url) if engine is not None else "of the crawl"
        why = " ".join(str(context.original_exception).split())
        _unreachable(crawler, f"the catalogue database {url} cannot be reached ({why})")


def _unreachable(crawler: Crawler, reason: str) -> None:
    """The catalogue cannot be reached: stop the crawl cleanly, once (from any thread).

    What it archives meanwhile is in its WARC files; the launcher catalogues them from there
    once the catalogue answers again.
    """
    from twisted.internet import reactor

    def once() -> None:
        catalogue = _CATALOGUES.get(crawler)
        if catalogue is None or catalogue.unreachable:
            return  # failed look-ups come by the dozen once the server is gone
        catalogue.unreachable = True
        _stop_crawl(crawler, "cppcc/errors/catalogue_unreachable", reason, UNREACHABLE)

    reactor.callFromThread(once)


def _dispose(crawler: Crawler) -> None:
    catalogue = _CATALOGUES.pop(crawler, None)
    if catalogue is not None:
        try:
            catalogue.writer.close()
        finally:
            catalogue.reads.close()
            catalogue.engine.dispose()
