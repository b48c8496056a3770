"""Tests for crawler/conditional.py: validators from the catalogue, and the archived page in
place of a 304, on a real catalogue and a real WARC file; no reactor, no network."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy import Request, Spider, signals
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.capture import NOT_MODIFIED_KEY
from crawler.conditional import (
    NOT_MODIFIED_FLAG,
    UNCONDITIONAL_KEY,
    ConditionalRequestMiddleware,
)
from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.records import ArchivedResponse, save_records
from pipelines.catalogue.schema import ensure_schema
from pipelines.home import ArchiveHome
from tests.test_warc_writer import make_exchange, make_writer

URL = "http://www.rmzxb.com.cn/yw_n/index.shtml"
BODY = b"<html><body>\xe8\xa6\x81\xe9\x97\xbb</body></html>"
ETAG, MODIFIED = '"v1"', "Fri, 04 Mar 2022 00:00:00 GMT"


@pytest.fixture
def middleware(tmp_path: Path) -> Iterator[ConditionalRequestMiddleware]:
    """The middleware of a crawl whose catalogue holds one capture of URL, with validators."""
    home = ArchiveHome(tmp_path)
    home.warc.mkdir()
    with make_writer(home.warc) as writer:
        headers = [("Content-Type", "text/html"), ("ETag", ETAG), ("Last-Modified", MODIFIED)]
        location = writer.write_exchange(make_exchange(URL, response_headers=headers, body=BODY))
    engine = make_engine(home.catalogue_url())
    ensure_schema(engine)
    with make_session_factory(engine).begin() as session:
        save_records(session, [ArchivedResponse(location, ETAG, MODIFIED)], run_id=None)
    engine.dispose()
    crawler = get_crawler(Spider, {"CPPCC_HOME": str(tmp_path)})
    yield ConditionalRequestMiddleware.from_crawler(crawler)
    crawler.signals.send_catch_log(signals.engine_stopped)  # closes the crawl's catalogue


def asked(middleware: ConditionalRequestMiddleware, request: Request) -> Request:
    asyncio.run(middleware.process_request(request))
    return request


def test_a_page_archived_with_validators_is_asked_for_conditionally(
    middleware: ConditionalRequestMiddleware,
) -> None:
    request = asked(middleware, Request(URL))
    assert request.headers[b"If-None-Match"] == ETAG.encode()
    assert request.headers[b"If-Modified-Since"] == MODIFIED.encode()
    assert request.meta[NOT_MODIFIED_KEY].url == URL
    assert middleware.stats.get_value("cppcc/conditional/sent") == 1


def test_a_page_never_archived_or_asked_unconditionally_carries_no_validators(
    middleware: ConditionalRequestMiddleware,
) -> None:
    # A redirect to a new URL inherits the headers of the request before it: dropped.
    other = Request(URL.replace("yw_n", "xs"), headers={"If-None-Match": ETAG})
    assert b"If-None-Match" not in asked(middleware, other).headers
    plain = asked(middleware, Request(URL, meta={UNCONDITIONAL_KEY: True}))
    assert b"If-None-Match" not in plain.headers and NOT_MODIFIED_KEY not in plain.meta
    assert middleware.stats.get_value("cppcc/conditional/sent") is None


def test_a_304_becomes_the_archived_page(middleware: ConditionalRequestMiddleware) -> None:
    request = asked(middleware, Request(URL))
    answer = middleware.process_response(request, Response(URL, status=304, request=request))
    assert isinstance(answer, Response)
    assert (answer.status, answer.body, answer.flags) == (200, BODY, [NOT_MODIFIED_FLAG])
    assert answer.headers[b"ETag"] == ETAG.encode()
    assert middleware.stats.get_value("cppcc/conditional/not_modified") == 1


def test_a_304_whose_record_cannot_be_read_is_asked_again_in_full(
    middleware: ConditionalRequestMiddleware, tmp_path: Path
) -> None:
    request = asked(middleware, Request(URL))
    for path in ArchiveHome(tmp_path).warc.iterdir():
        path.unlink()  # the WARC file is gone
    again = middleware.process_response(request, Response(URL, status=304, request=request))
    assert isinstance(again, Request) and again.dont_filter
    assert again.meta[UNCONDITIONAL_KEY] and NOT_MODIFIED_KEY not in again.meta
    assert b"If-None-Match" not in again.headers and b"If-Modified-Since" not in again.headers
    assert middleware.stats.get_value("cppcc/conditional/unreadable") == 1
