"""The gzip members of a WARC file, read one at a time, and where the next record starts."""

from __future__ import annotations

import zlib
from typing import BinaryIO

from zlib_ng import zlib_ng

GZIP_MAGIC = b"\x1f\x8b\x08"  # ID1, ID2 and CM 8 (deflate): how every gzip member starts
RECORD_START = b"WARC/"  # what a member holding a WARC record decompresses to first
READ_SIZE = 1 << 20  # file bytes read at a time
# Compressed bytes given to zlib at a time. zlib stops at a member's end and copies what it
# was given beyond it; members are a few KB, so a small feed keeps that copy small.
FEED_SIZE = 1 << 14
PROBE_SIZE = 1 << 16  # compressed bytes a candidate member may take to show its first bytes
HEAD_SIZE = 4096  # decompressed bytes of a damaged member kept to say whose it was


class MemberDamaged(Exception):
    """A gzip member stops making sense: its data is corrupt, or (`cut`) the file ends in it.

    Raised by MemberReader and caught by the scanner: it never leaves pipelines/warc.
    """

    def __init__(self, message: str, *, cut: bool) -> None:
        super().__init__(message)
        self.cut = cut


class MemberReader:
    """The decompressed bytes of consecutive gzip members of a file, one member at a time.

    `read` gives the current member's bytes, then b"" at its end; `next_member` moves on to
    the member after it. Raises MemberDamaged where a member is corrupt or cut short.
    """

    def __init__(self, file: BinaryIO, start: int = 0) -> None:
        self.file = file
        self.restart(start)

    def restart(self, start: int) -> None:
        """Read on from the member at `start`, forgetting whatever was read before."""
        self.file.seek(start)
        self.start = start
        self._pending = b""  # bytes read from the file, from `_at` on not yet given to zlib
        self._at = 0
        self._begin_member()

    def next_member(self) -> int:
        """Move on to the member after the current one, which has ended; where it starts."""
        self.start = self.end
        self._begin_member()
        return self.start

    @property
    def end(self) -> int:
        """Where the current member ends, once `ended`; how far it has been read until then."""
        return self.start + self._fed

    def peek(self, size: int) -> bytes:
        """The next `size` bytes `read` would give (fewer at the member's end), not consumed."""
        while not self.ended and len(self._out) < size:
            self._feed()
        return bytes(self._out[:size])

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` decompressed bytes of the current member (all that is left if None/-1)."""
        while not self.ended and (size is None or size < 0 or len(self._out) < size):
            self._feed()
        if size is None or size < 0:
            size = len(self._out)
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    def read_member(self, limit: int) -> bytes | None:
        """All that is left of the current member when that is at most `limit` bytes; None when
        it is more (the member is then partly read: `restart` reads it again)."""
        while not self.ended and len(self._out) <= limit:
            self._feed()
        if len(self._out) > limit:
            return None
        data = bytes(self._out)
        self._out.clear()
        return data

    def _begin_member(self) -> None:
        # zlib-ng: twice zlib's speed, and its very words for damaged data (3,000 random
        # byte flips alike); the scan spends half its time here. Probes below keep zlib.
        self._zlib = zlib_ng.decompressobj(16 + zlib_ng.MAX_WBITS)
        self._fed = 0  # compressed bytes of this member given to zlib and used by it
        self._out = bytearray()  # decompressed, not yet read
        self.ended = False

    def _feed(self) -> None:
        if self._at >= len(self._pending):
            self._pending, self._at = self.file.read(READ_SIZE), 0
            if not self._pending:
                raise MemberDamaged(f"the file ends {self._fed} bytes into it", cut=True)
        view = memoryview(self._pending)[self._at : self._at + FEED_SIZE]
        try:
            self._out += self._zlib.decompress(view)
        except zlib_ng.error as error:  # type: ignore[misc]  # its stub types the class an instance
            raise MemberDamaged(str(error), cut=False) from None
        used = len(view) - len(self._zlib.unused_data)
        self._at += used
        self._fed += used
        self.ended = self._zlib.eof


def next_record_start(file: BinaryIO, start: int) -> int | None:
    """The offset of the first gzip member from `start` on that begins a WARC record, if any."""
    position = start
    while True:
        file.seek(position)
        chunk = file.read(READ_SIZE)
        found = chunk.find(GZIP_MAGIC)
        while found != -1:
            if starts_record(file, position + found):
                return position + found
            found = chunk.find(GZIP_MAGIC, found + 1)
        if len(chunk) < READ_SIZE:
            return None
        position += len(chunk) - (len(GZIP_MAGIC) - 1)  # a magic may straddle two chunks


def starts_record(file: BinaryIO, offset: int) -> bool:
    """Whether a gzip member starts at `offset` and decompresses to the start of a WARC record."""
    file.seek(offset)
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        head = decompressor.decompress(file.read(PROBE_SIZE), len(RECORD_START))
    except zlib.error:
        return False
    return head == RECORD_START


def member_head(file: BinaryIO, offset: int) -> bytes:
    """What a damaged member at `offset` decompresses to before its damage (up to HEAD_SIZE)."""
    file.seek(offset)
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    head = bytearray()
    # Small feeds: zlib gives nothing back from a call that fails, so each loses little.
    while len(head) < HEAD_SIZE and not decompressor.eof and (data := file.read(64)):
        try:
            head += decompressor.decompress(data)
        except zlib.error:
            break
    return bytes(head[:HEAD_SIZE])
