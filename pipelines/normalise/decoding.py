"""Undoing a body's content codings (gzip, deflate, br, zstd): the whole body, or none of it."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence

from pipelines.normalise.errors import DecodedTooLarge, Undecodable

Headers = Mapping[str, str] | Sequence[tuple[str, str]]
GZIP_MAGIC = b"\x1f\x8b\x08"
# A decoded article page is well under a megabyte; past this a body is a bomb, not a page.
MAX_DECODED = 64 << 20


def content_codings(headers: Headers) -> list[str]:
    """The codings the `Content-Encoding` headers name, in the order they were applied."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    values = (value for name, value in pairs if name.lower() == "content-encoding")
    codings = (coding.strip().lower() for value in values for coding in value.split(","))
    return [coding for coding in codings if coding and coding != "identity"]


def decoded_body(url: str, headers: Headers, body: bytes, *, max_size: int = MAX_DECODED) -> bytes:
    """`body` with its content codings undone; Undecodable when it does not decode to its end.

    DecodedTooLarge (an Undecodable) when it decodes to more than `max_size` bytes (0: no limit).

    Stricter than Scrapy's HttpCompressionMiddleware, which keeps what it could decode of a
    gzip stream cut short or failing its CRC: a page missing its end is no page to catalogue.
    Bytes after a complete gzip stream are ignored, as browsers do.
    """
    for coding in reversed(content_codings(headers)):
        decode = _DECODERS.get(coding)
        if decode is None:
            detail = f"the body is {coding}-encoded, a coding the archive cannot undo"
            raise Undecodable(url, detail)
        try:
            body = decode(body, max_size)
        except _Overflow:
            raise DecodedTooLarge(
                url, f"its {coding} body decodes to more than {max_size} bytes"
            ) from None
        except _Broken as error:
            raise Undecodable(url, f"its {coding} body does not decode: {error}") from None
    return body


class _Overflow(Exception):
    """A body decodes past the size allowed."""


class _Broken(Exception):
    """A body is not what its coding says: each library's own error, in one class."""

    @classmethod
    def of(cls, error: BaseException) -> _Broken:
        return cls(" ".join(str(error).split())[:160] or type(error).__name__)


def _gunzip(body: bytes, max_size: int) -> bytes:
    try:
        return _gunzip_members(body, max_size)
    except zlib.error as error:
        raise _Broken.of(error) from None


def _gunzip_members(body: bytes, max_size: int) -> bytes:
    out = bytearray()
    data = body
    while True:  # a gzip body may be several members, one after the other
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out += decompressor.decompress(data, max_size - len(out) + 1 if max_size else 0)
        _check_end(decompressor, out, max_size)
        data = decompressor.unused_data
        if not data.startswith(GZIP_MAGIC):
            return bytes(out)


def _inflate(body: bytes, max_size: int) -> bytes:
    try:
        return _inflate_with(body, zlib.MAX_WBITS, max_size)
    except zlib.error:
        pass
    try:
        # Raw deflate without the zlib wrapper, as some servers send it (Scrapy reads it too).
        return _inflate_with(body, -zlib.MAX_WBITS, max_size)
    except zlib.error as error:
        raise _Broken.of(error) from None


def _inflate_with(body: bytes, wbits: int, max_size: int) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    out = decompressor.decompress(body, max_size + 1 if max_size else 0)
    _check_end(decompressor, out, max_size)
    return out


def _check_end(decompressor: zlib._Decompress, out: bytes | bytearray, max_size: int) -> None:
    if max_size and len(out) > max_size:
        raise _Overflow
    if not decompressor.eof:
        raise zlib.error("the compressed stream is cut short")


def _unbrotli(body: bytes, max_size: int) -> bytes:
    import brotli  # Scrapy's own dependency for `br`; only loaded for a br body

    try:
        return _within(brotli.decompress(body), max_size)
    except brotli.error as error:
        raise _Broken.of(error) from None


def _unzstd(body: bytes, max_size: int) -> bytes:
    try:
        from compression import zstd  # Python 3.14+
    except ImportError:
        from backports import zstd  # Scrapy's own dependency before 3.14

    try:
        return _within(zstd.decompress(body), max_size)
    except zstd.ZstdError as error:
        raise _Broken.of(error) from None


def _within(out: bytes, max_size: int) -> bytes:
    if max_size and len(out) > max_size:
        raise _Overflow
    return out


_DECODERS: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _inflate,
    "br": _unbrotli,
    "zstd": _unzstd,
}
