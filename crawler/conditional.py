"""Conditional GETs for pages archived before, and the archived page in place of a 304."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes

from crawler.capture import NOT_MODIFIED_KEY, warc_directory
from crawler.catalogue import CatalogueReads, catalogue_reads
from pipelines.catalogue.records import conditional_state
from pipelines.warc.reader import RecordUnreadable, read_stored_response

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

UNCONDITIONAL_KEY = "cppcc_unconditional"  # request.meta: ask without validators
NOT_MODIFIED_FLAG = "not-modified"  # Response.flags of an archived page served for a 304
VALIDATOR_HEADERS = ("if-none-match", "if-modified-since")


class ConditionalRequestMiddleware:
    """Ask with `If-None-Match`/`If-Modified-Since` for any URL archived before with them.

    A 304 is archived (by the capture extension, as a revisit) as what the server sent; the
    spider then gets the archived response it stands for, read back from the WARC file, so a
    list page that did not change is parsed as before. When that record cannot be read, the
    page is asked for again without validators. Must sit closer to the downloader than
    HttpCompressionMiddleware, so the archived body is decoded as a fresh one would be.

    Setting: CPPCC_CONDITIONAL_REQUESTS (default True). Stats: cppcc/conditional/sent,
    cppcc/conditional/not_modified, cppcc/conditional/unreadable.
    """

    def __init__(
        self,
        reads: CatalogueReads,
        warc_dir: Path,
        stats: StatsCollector,
        committed_only: bool = False,
    ):
        self.reads = reads
        self.warc_dir = warc_dir
        self.stats = stats
        # With object storage, a 304 is archived as a revisit only of a committed file's
        # record (see pipelines/catalogue/records.py): validators are sent for those alone.
        self.committed_only = committed_only

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        directory = warc_directory(settings)
        if not settings.getbool("CPPCC_CONDITIONAL_REQUESTS", True) or not directory:
            raise NotConfigured("conditional requests are off")
        assert crawler.stats is not None
        committed_only = bool(settings.get("CPPCC_STORAGE"))
        return cls(catalogue_reads(crawler), Path(directory), crawler.stats, committed_only)

    async def process_request(self, request: Request) -> None:
        # A redirected request inherits the headers and meta of the one before it: those
        # validators are another URL's.
        _drop_validators(request)
        if request.method != "GET" or request.meta.get(UNCONDITIONAL_KEY):
            return
        # In a reading thread: the look-up must not hold up the downloads in flight.
        state = await self.reads.read(conditional_state, request.url, self.committed_only)
        if state is None or not (state.etag or state.last_modified):
            return
        if state.etag:
            request.headers["If-None-Match"] = state.etag
        if state.last_modified:
            request.headers["If-Modified-Since"] = state.last_modified
        request.meta[NOT_MODIFIED_KEY] = state.original
        self.stats.inc_value("cppcc/conditional/sent")

    def process_response(self, request: Request, response: Response) -> Request | Response:
        original = request.meta.get(NOT_MODIFIED_KEY)
        if response.status != 304 or original is None:
            return response
        self.stats.inc_value("cppcc/conditional/not_modified")
        try:
            stored = read_stored_response(self.warc_dir, original)
        except RecordUnreadable as exc:
            logger.warning("%s answered 304, but %s; asking again in full", request.url, exc)
            self.stats.inc_value("cppcc/conditional/unreadable")
            return _unconditional(request)
        headers = Headers()
        for name, value in stored.headers:
            headers.appendlist(name, value)  # a repeated header (two Set-Cookie) stays two
        cls = responsetypes.from_args(headers=headers, url=request.url, body=stored.body)
        return cls(
            url=request.url,
            status=stored.status,
            headers=headers,
            body=stored.body,
            flags=[NOT_MODIFIED_FLAG],
            request=request,
            protocol=response.protocol,
        )


def _drop_validators(request: Request) -> None:
    for name in VALIDATOR_HEADERS:
        if name in request.headers:
            del request.headers[name]
    request.meta.pop(NOT_MODIFIED_KEY, None)


def _unconditional(request: Request) -> Request:
    headers = {
        name: value
        for name, value in request.headers.items()
        if name.decode("latin-1").lower() not in VALIDATOR_HEADERS
    }
    meta: dict[str, Any] = {**request.meta, UNCONDITIONAL_KEY: True}
    meta.pop(NOT_MODIFIED_KEY, None)
    return request.replace(headers=headers, meta=meta, dont_filter=True)
