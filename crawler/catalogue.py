"""The crawl's one connection to the catalogue, shared by all of its components."""

from __future__ import annotations

from pathlib import Path
from weakref import WeakKeyDictionary

from scrapy import signals
from scrapy.crawler import Crawler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.engine import (
    default_sqlite_url,
    make_engine,
    make_read_session_factory,
    make_session_factory,
)
from pipelines.catalogue.schema import ensure_schema

_Factories = tuple[Engine, sessionmaker[Session], sessionmaker[Session]]
_ENGINES: WeakKeyDictionary[Crawler, _Factories] = WeakKeyDictionary()


def catalogue_url(crawler: Crawler) -> str:
    """CPPCC_DATABASE_URL, or the SQLite catalogue in CPPCC_HOME."""
    settings = crawler.settings
    home = Path(settings.get("CPPCC_HOME") or "archive")
    return settings.get("CPPCC_DATABASE_URL") or default_sqlite_url(home)


def catalogue_sessions(crawler: Crawler) -> sessionmaker[Session]:
    """Sessions on the crawl's catalogue, created and migrated on first use.

    One engine per crawl, whoever asks first; it is disposed of when the engine stops.
    """
    if crawler not in _ENGINES:
        engine = make_engine(catalogue_url(crawler))
        try:
            ensure_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        _ENGINES[crawler] = (
            engine,
            make_session_factory(engine),
            make_read_session_factory(engine),
        )
        crawler.signals.connect(
            lambda: _dispose(crawler), signal=signals.engine_stopped, weak=False
        )
    return _ENGINES[crawler][1]


def catalogue_reader(crawler: Crawler) -> sessionmaker[Session]:
    """Sessions on the crawl's catalogue for look-ups only (no write lock on SQLite)."""
    catalogue_sessions(crawler)
    return _ENGINES[crawler][2]


def _dispose(crawler: Crawler) -> None:
    engine = _ENGINES.pop(crawler, (None, None, None))[0]
    if engine is not None:
        engine.dispose()
