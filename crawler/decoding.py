"""Scrapy's HttpCompressionMiddleware, passing a body that does not decode on as it came."""

from __future__ import annotations

import logging

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.http import Response

from pipelines.normalise.decoding import content_codings, decoded_body
from pipelines.normalise.errors import DecodedTooLarge, Undecodable

logger = logging.getLogger(__name__)


class StrictDecodingMiddleware(HttpCompressionMiddleware):
    """Decode gzip, deflate, br and zstd bodies as Scrapy does, but only whole ones.

    Scrapy's middleware turns a corrupt gzip body into a download error (the spider never
    sees the page), and quietly keeps what it could decode of one cut short or failing its
    CRC (a truncated article is catalogued as whole). Here such a body goes on as the server
    sent it, Content-Encoding and all: the capture extension has archived it already, and the
    normaliser rejects it as `undecodable`, so it is counted and named in the run's summary.
    A body that decodes past DOWNLOAD_MAXSIZE is left to Scrapy's own rule (ignored).

    Registered in place of Scrapy's (same order, 590). Stats: cppcc/undecodable.
    """

    def process_response(
        self,
        request: Request,
        response: Response,
        spider: Spider | None = None,  # kept for the signature Scrapy's declares; never passed
    ) -> Request | Response:
        headers = _headers(response)
        if request.method != "HEAD" and content_codings(headers):
            # Scrapy's own limit (0: none), read as its middleware reads it (2.13–2.19).
            max_size = request.meta.get("download_maxsize", self._max_size)
            try:
                decoded_body(response.url, headers, response.body, max_size=max_size)
            except DecodedTooLarge:
                pass
            except Undecodable as exc:
                if self.stats is not None:
                    self.stats.inc_value("cppcc/undecodable")
                logger.warning("%s; passed on as received", exc)
                return response
        return super().process_response(request, response)


def _headers(response: Response) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in response.headers.items()
        for value in values
    ]
