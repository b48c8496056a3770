"""Downloader middleware at the downloader's edge: each response, as the server sent it, to WARC."""

from __future__ import annotations

import http
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro

from crawler.catalogue import CatalogueReads, catalogue_reads, catalogue_writer, settled
from crawler.items import ArticlePagesItem
from crawler.record_index import CrawlRecordIndex, original_of
from pipelines.catalogue.records import ArchivedResponse, original_with_digest
from pipelines.home import ArchiveHome
from pipelines.metadata import article_fields, rejection_fields
from pipelines.stats import DIGEST_LOOKUP_ERRORS, RECORDS_NOT_CATALOGUED, WARC_ERRORS
from pipelines.warc.cdxj import index_warc, write_index
from pipelines.warc.exchange import Headers, HttpExchange
from pipelines.warc.location import RecordLocation
from pipelines.warc.records import Original
from pipelines.warc.writer import (
    DEFAULT_COMPRESS_LEVEL,
    DEFAULT_MAX_SIZE,
    DEFAULT_PREFIX,
    WarcWriter,
)

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

META_KEY = "cppcc_capture"  # request.meta / response.meta: the RecordLocation of the response
# request.meta: the RecordLocation of the first response of a request and the redirects it
# followed: what the page's own URL answered (a 404, a 302), whatever it led to.
FIRST_CAPTURE_KEY = "cppcc_first_capture"
# request.meta: the RecordLocation a conditional request's validators came from; a 304 to it is
# archived as a revisit of that capture (set by crawler.conditional).
NOT_MODIFIED_KEY = "cppcc_not_modified_original"
CLOSE_REASON = "warc_write_error"


class WarcCaptureMiddleware:
    """Writes each response where it leaves the downloader, before any other middleware.

    Ordered closest to the downloader (after every other downloader middleware), it sees each
    response first: bodies still compressed, redirects (3xx) and 304s as their own exchanges.
    A payload archived before is written as a revisit of it; whether it was is asked of this
    crawl's memory, then of the catalogue in a reading thread, awaited, so the download goes
    on meanwhile. The response record's location goes into `request.meta["cppcc_capture"]`,
    which callbacks read as `response.meta["cppcc_capture"]`.

    Settings: CPPCC_WARC_DIR (required, else the extension is off), CPPCC_WARC_MAX_SIZE,
    CPPCC_WARC_PREFIX, CPPCC_WARC_COMPRESS_LEVEL, and for the warcinfo record
    CPPCC_WARC_OPERATOR, CPPCC_WARC_DESCRIPTION, CPPCC_WARC_IS_PART_OF.
    Stats: cppcc/warc/records, cppcc/warc/bytes, cppcc/warc/files, cppcc/warc/errors.
    """

    def __init__(
        self,
        writer: WarcWriter,
        stats: StatsCollector,
        close_spider: Callable[[str], Any],
        records: CrawlRecordIndex | None = None,
        reads: CatalogueReads | None = None,
        committed_only: bool = False,
    ) -> None:
        self.writer = writer
        self.stats = stats
        self.close_spider = close_spider
        self.records = records
        self.reads = reads
        # CPPCC_STORAGE set: a revisit refers only to a record of a file the object store
        # holds (committed), or of the very file it is written in (the two go together).
        self.committed_only = committed_only
        # One thread: compressing a page takes a fraction of what Scrapy's thread spends on it.
        self.compressing = ThreadPoolExecutor(1, thread_name_prefix="warc-compress")
        self._stopping = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        directory = warc_directory(settings)
        if not directory:
            raise NotConfigured("neither CPPCC_WARC_DIR nor CPPCC_HOME is set: no WARC is written")
        index_dir = ArchiveHome(Path(directory).parent).indexes

        def index_closed_file(path: Path, lines: list[str] | None) -> None:
            # pywb and ReplayWeb.page find captures through CDXJ: index each file once closed,
            # from the lines made as it was written (reading it back cost 0.4 ms of CPU a page).
            try:
                if lines is None:
                    index_warc(path, index_dir)
                else:
                    write_index(lines, path, index_dir)
            except Exception:  # the WARC file is fine; `cppcc-archive index` can redo this
                logger.error("Cannot index %s", path, exc_info=True)
                stats.inc_value("cppcc/warc/index_errors")

        writer = WarcWriter(
            directory,
            on_close=index_closed_file,
            prefix=settings.get("CPPCC_WARC_PREFIX") or DEFAULT_PREFIX,
            max_size=settings.getint("CPPCC_WARC_MAX_SIZE", DEFAULT_MAX_SIZE),
            compress_level=settings.getint("CPPCC_WARC_COMPRESS_LEVEL", DEFAULT_COMPRESS_LEVEL),
            warcinfo={
                "operator": settings.get("CPPCC_WARC_OPERATOR") or "",
                "description": settings.get("CPPCC_WARC_DESCRIPTION") or "",
                "isPartOf": settings.get("CPPCC_WARC_IS_PART_OF") or "",
                "robots": "classic" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "http-header-user-agent": settings.get("USER_AGENT") or "",
            },
        )

        def close_spider(reason: str) -> Any:
            assert crawler.engine is not None  # signals only fire while the engine runs
            return deferred_from_coro(crawler.engine.close_spider_async(reason=reason))

        assert crawler.stats is not None
        stats = crawler.stats
        records = CrawlRecordIndex(
            catalogue_writer(crawler),
            settings.getint("CPPCC_RUN_ID") or None,
            on_error=lambda: stats.inc_value(RECORDS_NOT_CATALOGUED),
        )
        committed_only = bool(settings.get("CPPCC_STORAGE"))
        extension = cls(
            writer, stats, close_spider, records, catalogue_reads(crawler), committed_only
        )
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(extension.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    async def process_response(self, request: Request, response: Response) -> Response:
        exchange = exchange_from(request, response, datetime.now(UTC))
        original, same_file = await self._original_for(exchange, request)
        await self.write(exchange, original, request, same_file)
        return response

    async def write(
        self,
        exchange: HttpExchange,
        original: Original | None,
        request: Request,
        same_file: bool = False,
    ) -> None:
        """Write the exchange (a revisit of `original`, if any); its place into the request.

        Its records are compressed in a thread of their own (zlib lets go of the GIL: it was
        7 % of Scrapy's thread's time), then placed in the file in Scrapy's thread.
        """
        try:
            before = self._counters()
            prepared = self.writer.prepare_exchange(exchange, original, same_file)
            self._count(None, before)  # the file it opened for them, if any: its warcinfo
            await settled(self.compressing.submit(prepared.compress))
        except Exception:  # any failure loses a page from the archive: count it, stop the crawl
            logger.error("Cannot archive %s; stopping the crawl", exchange.url, exc_info=True)
            self.stats.inc_value(WARC_ERRORS)
            self._stop()
            return
        before = self._counters()
        try:
            location = self.writer.append_prepared(prepared)
            request.meta[META_KEY] = location
            request.meta.setdefault(FIRST_CAPTURE_KEY, location)  # redirects copy the meta
        except Exception:  # any failure loses a page from the archive: count it, stop the crawl
            logger.error("Cannot archive %s; stopping the crawl", exchange.url, exc_info=True)
            self.stats.inc_value(WARC_ERRORS)
            self._stop()
            return
        if self.records is not None:
            self.records.add(_archived(location, exchange.response_headers))
        self._count(location, before)

    async def _original_for(
        self, exchange: HttpExchange, request: Request
    ) -> tuple[Original | None, bool]:
        """The earlier capture this response repeats, when it is to be written as a revisit,
        and whether it may be referred to only from the file being written now."""
        if exchange.status == 304:
            asked: RecordLocation | None = request.meta.get(NOT_MODIFIED_KEY)
            # A 304 we did not ask for is kept as it is.
            return (original_of(asked) if asked else None), False
        if not exchange.body or exchange.truncated or self.records is None:
            return None, False
        found = None
        if self.reads is not None:
            try:
                found = await self.reads.read(
                    _original_with_digest_of, exchange, self.committed_only
                )
            except Exception:  # a catalogue that cannot answer must not cost the page
                logger.error("Cannot look up %s in the catalogue", exchange.url, exc_info=True)
                self.stats.inc_value(DIGEST_LOOKUP_ERRORS)
                return None, False
        # This crawl's own captures first: the catalogue may not have them yet. With object
        # storage, only those of the file being written (its earlier ones are not committed).
        in_file = self.writer.current_file if self.committed_only else None
        remembered = self.records.remembered(exchange.body_digest, in_file)
        if remembered is not None:
            return remembered, self.committed_only
        return (original_of(found) if found else None), False

    def _counters(self) -> tuple[int, int, int]:
        return self.writer.records_written, self.writer.bytes_written, self.writer.files_opened

    def _count(self, location: RecordLocation | None, before: tuple[int, int, int]) -> None:
        """Add what the writer wrote since `before` to the stats (warcinfo records excepted)."""
        records, size, files = (
            now - then for now, then in zip(self._counters(), before, strict=True)
        )
        self.stats.inc_value("cppcc/warc/records", records - files)
        self.stats.inc_value("cppcc/warc/bytes", size)
        if files:
            self.stats.inc_value("cppcc/warc/files", files)
        if location is not None and location.record_type == "revisit":
            self.stats.inc_value("cppcc/warc/revisits")

    def write_metadata(
        self, target_uri: str, refers_to: str, info: list[tuple[str, str]]
    ) -> RecordLocation | None:
        """Write a metadata record beside the crawl's captures; None when that failed."""
        before = self._counters()
        try:
            location = self.writer.write_metadata(target_uri, refers_to, info)
        except Exception:  # the page itself is archived; only the normalised copy is lost
            logger.error("Cannot archive the metadata of %s", target_uri, exc_info=True)
            self.stats.inc_value(WARC_ERRORS)
            return None
        self._count(None, before)
        return location

    def item_scraped(self, item: Any) -> None:
        """Archive the normalised article beside its pages: the catalogue's copy in the WARC."""
        if isinstance(item, ArticlePagesItem) and item.article is not None:
            pages = _page_records(item)
            if pages:
                fields = article_fields(item.site, item.channel, pages, item.article)
                self.write_metadata(item.url, pages[0][1], fields)

    def item_dropped(self, item: Any, exception: BaseException) -> None:
        """Archive why a page did not become an article, beside the page."""
        if isinstance(item, ArticlePagesItem) and item.rejection is not None:
            pages = _page_records(item)[:1]
            if pages:
                reason, detail = item.rejection
                fields = rejection_fields(item.site, item.channel, pages, reason, detail)
                self.write_metadata(item.pages[0].url, pages[0][1], fields)

    def spider_closed(self) -> None:
        self.compressing.shutdown(wait=True)
        self._close_writer()
        if self.records is not None:
            self.records.close()

    def engine_stopped(self) -> None:
        # Reached even when the spider failed to open or close cleanly; closing is idempotent.
        self.compressing.shutdown(wait=True)
        self._close_writer()

    def _close_writer(self) -> None:
        try:
            self.writer.close()
        except Exception:  # the file stays `.open`; say so and count it, nothing else to do
            logger.error("Cannot close the WARC file", exc_info=True)
            self.stats.inc_value(WARC_ERRORS)

    def _stop(self) -> None:
        if not self._stopping:
            self._stopping = True
            self.close_spider(CLOSE_REASON)


def warc_directory(settings: BaseSettings) -> str:
    """The archive's WARC folder: CPPCC_WARC_DIR, else <CPPCC_HOME>/warc; "" when neither."""
    home = settings.get("CPPCC_HOME")
    return settings.get("CPPCC_WARC_DIR") or (str(ArchiveHome.at(home).warc) if home else "")


def exchange_from(request: Request, response: Response, fetched_at: datetime) -> HttpExchange:
    """The exchange as it went over the wire, rebuilt from Scrapy's request and response.

    Scrapy keeps headers grouped by name in Title-Case, so the original capitalisation and the
    interleaving of different names are lost; every value of a repeated header is kept.
    """
    status = response.status
    return HttpExchange(
        url=response.url,
        method=request.method,
        request_headers=_request_headers(request),
        request_body=request.body,
        protocol=response.protocol or "HTTP/1.1",
        status=status,
        # Scrapy drops the reason phrase the server sent; the standard one is the best guess.
        reason=_standard_reason(status),
        response_headers=_pairs(response.headers.items()),
        body=response.body,
        # When the body has arrived, not when the request left: Scrapy does not record that.
        fetched_at=fetched_at,
        ip_address=str(response.ip_address) if response.ip_address else None,
        truncated=_truncation(response.flags),
    )


def _original_with_digest_of(
    session: Session, exchange: HttpExchange, committed_only: bool
) -> RecordLocation | None:
    """The catalogue's capture of the exchange's payload (`committed_only`: in a committed
    file). Its SHA-1 (the response record's payload digest too) is made here, in the reading
    thread: hashing lets go of the GIL, so Scrapy's thread downloads meanwhile (it was 6 % of
    that thread's time)."""
    return original_with_digest(session, exchange.body_digest, committed_only)


def _page_records(item: ArticlePagesItem) -> list[tuple[int, str]]:
    return [(page.page, page.capture.record_id) for page in item.pages if page.capture]


def _archived(location: RecordLocation, headers: Headers) -> ArchivedResponse:
    """The record with the validators its response gave, for the next conditional request."""
    found = {name.lower(): value for name, value in headers}
    return ArchivedResponse(location, found.get("etag"), found.get("last-modified"))


def _request_headers(request: Request) -> Headers:
    """Request headers in the order Twisted writes them, with the ones Twisted adds itself."""
    headers = _pairs(request.headers.items())
    names = {name.lower() for name, _ in headers}
    if request.body and "content-length" not in names:
        headers.insert(0, ("Content-Length", str(len(request.body))))
    if "host" not in names:
        headers.append(("Host", _host(request.url)))
    return headers


def _host(url: str) -> str:
    """The Host value Twisted computes: the host, and the port unless it is the default."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    return host if parts.port in (None, default_port) else f"{host}:{parts.port}"


def _pairs(items: Iterable[tuple[bytes, list[bytes]]]) -> Headers:
    # latin-1 maps every byte to one character, so the values stay byte-exact.
    return [(name.decode("latin-1"), v.decode("latin-1")) for name, vs in items for v in vs]


def _truncation(flags: list[str]) -> str | None:
    """WARC-Truncated for a body Scrapy kept although it is incomplete."""
    if "dataloss" in flags:  # the connection closed early (DOWNLOAD_FAIL_ON_DATALOSS=False)
        return "disconnect"
    if "download_stopped" in flags:  # a handler raised StopDownload(fail=False)
        return "unspecified"
    return None


def _standard_reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:  # a status Python does not name, e.g. 599
        return ""
