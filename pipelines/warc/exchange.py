"""One HTTP request and its response as they crossed the wire: the writer's input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from pipelines.warc.digest import sha1_digest

# Header names and values are `str` holding the wire bytes decoded as latin-1, so every byte
# survives the round trip (`value.encode("latin-1")` gives back what was sent).
Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class HttpExchange:
    """A request and the response it got, before any content decoding or redirect following.

    Headers are lists of pairs in wire order: a repeated header (two `Set-Cookie`) is two pairs.
    `body` is the response body as sent, still compressed when the response has a
    `Content-Encoding`; a `Transfer-Encoding: chunked` body is already de-chunked by the client.
    """

    url: str
    method: str
    request_headers: Headers
    request_body: bytes
    protocol: str  # of the response's status line, e.g. "HTTP/1.1"
    status: int
    reason: str
    response_headers: Headers
    body: bytes
    fetched_at: datetime  # timezone-aware UTC; becomes WARC-Date
    ip_address: str | None = None
    request_protocol: str = "HTTP/1.1"  # of the request line; Twisted always sends HTTP/1.1
    truncated: str | None = None  # WARC-Truncated reason when the body is incomplete

    @cached_property
    def body_digest(self) -> str:
        """The body's `sha1:` digest: the response record's WARC-Payload-Digest, computed once
        for both the revisit look-up and the record."""
        return sha1_digest(self.body)

    def __post_init__(self) -> None:
        if self.fetched_at.tzinfo is None:
            raise ValueError(f"fetched_at must be timezone-aware, got {self.fetched_at!r}")
