"""Write HTTP exchanges into rotating WARC/1.1 files, one gzip member per record."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from pipelines.errors import CppccArchiveError
from pipelines.warc.cdxj import IndexedRecord, index_line
from pipelines.warc.exchange import HttpExchange
from pipelines.warc.location import RecordLocation
from pipelines.warc.naming import OPEN_SUFFIX, software_name, warc_filename
from pipelines.warc.records import (
    Original,
    WarcRecord,
    metadata_record,
    not_modified_record,
    request_record,
    response_record,
    revisit_record,
    warcinfo_record,
)

DEFAULT_PREFIX = "CPPCC"
DEFAULT_MAX_SIZE = 1_000_000_000  # bytes; the IIPC-recommended size of a WARC file
# warcio compresses at level 9, zlib's default is 6. Level 1 takes half level 6's CPU on the
# benchmark channel's 26 KB pages (0.27 against 0.55 ms a page) for files 8 % larger (0.374
# against 0.345 of the HTML's size): a crawl's CPU a page is what bounds its speed (issue 16).
DEFAULT_COMPRESS_LEVEL = 1
CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"


class WarcWriteError(CppccArchiveError):
    """A WARC file could not be opened or written (disk full, no permission, name taken)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def gzip_member(data: bytes, level: int) -> bytes:
    """`data` as one complete gzip member, so a reader can seek straight to it."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@dataclass
class PreparedExchange:
    """An exchange's records made for one file of a writer (`warcinfo_id` names it), and once
    compressed, their gzip members (WarcWriter.prepare_exchange)."""

    exchange: HttpExchange
    original: Original | None
    records: list[WarcRecord]
    warcinfo_id: str
    level: int
    members: list[bytes] | None = None
    # The original is a record of this very file, and may be referred to from it alone (with
    # object storage, a revisit refers only to a committed file's record, or its own file's:
    # the two are stored together). Made again for a later file, the response is kept whole.
    same_file_original: bool = False

    def compress(self) -> list[bytes]:
        """The records' gzip members, made once: safe in a thread of its own."""
        if self.members is None:
            self.members = [gzip_member(record.to_bytes(), self.level) for record in self.records]
        return self.members


class WarcWriter:
    """Appends exchanges to `<name>.open` in `directory`, renamed to `<name>` when closed.

    Each file starts with a `warcinfo` record; a file that reaches `max_size` bytes is closed
    after the exchange that crossed the limit, so a request/response pair is never split.
    Files are opened on first write: a writer that writes nothing leaves nothing behind.

    Not thread-safe: a writer belongs to the one thread that calls it (in a crawl, the
    reactor thread). Use one writer per process; file names carry the pid and a serial.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        prefix: str = DEFAULT_PREFIX,
        max_size: int = DEFAULT_MAX_SIZE,
        compress_level: int = DEFAULT_COMPRESS_LEVEL,
        warcinfo: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = utc_now,
        new_record_id: Callable[[], str] = new_record_id,
        hostname: str | None = None,
        pid: int | None = None,
        software: str | None = None,
        on_close: Callable[[Path, list[str] | None], None] | None = None,
    ) -> None:
        self.directory = Path(directory)
        # Called with each file's path once it is closed and renamed, and its CDXJ lines
        # (pipelines.warc.cdxj.index_line), made as its records were written; None for the
        # lines when one of them needs the file read back.
        self.on_close = on_close
        self.prefix = prefix
        self.max_size = max_size
        self.compress_level = compress_level
        self.clock = clock
        self.new_record_id = new_record_id
        self.hostname = hostname or socket.gethostname()
        self.pid = os.getpid() if pid is None else pid
        self.warcinfo = {
            "software": software or software_name(),
            "format": "WARC File Format 1.1",
            "conformsTo": CONFORMS_TO,
            "hostname": self.hostname,
            **(warcinfo or {}),
        }
        self.files_opened = 0
        self.records_written = 0  # warcinfo records included
        self.bytes_written = 0  # compressed bytes, warcinfo records included, over all files
        self._serial = 0
        self._file: BinaryIO | None = None
        self._filename = ""
        self._warcinfo_id = ""
        self._index_lines: list[str] | None = []
        self._closed = False

    def write_exchange(
        self, exchange: HttpExchange, original: Original | None = None
    ) -> RecordLocation:
        """Write the response and request records of `exchange`; return where the response is.

        With `original`, the response is written as a `revisit` record standing for that
        earlier capture (a 304, or a payload identical to it); a 304's own status line and
        headers follow in a `metadata` record.
        """
        prepared = self.prepare_exchange(exchange, original)
        prepared.compress()
        return self.append_prepared(prepared)

    @property
    def current_file(self) -> str:
        """The name (without `.open`) of the file being written; "" between files."""
        return self._filename if self._file is not None else ""

    def prepare_exchange(
        self,
        exchange: HttpExchange,
        original: Original | None = None,
        same_file_original: bool = False,
    ) -> PreparedExchange:
        """write_exchange in three steps, so that a crawl compresses in another thread (zlib
        lets go of the GIL): the records made here, `compress()` anywhere, then
        append_prepared in this writer's thread, which places them in the file.

        `same_file_original`: `original` is a record of the file being written, and the
        revisit may stand for it only in that file (see PreparedExchange)."""
        file_fields = [("WARC-Warcinfo-ID", self._ensure_file())]
        response_id, request_id = self.new_record_id(), self.new_record_id()
        if original is None:
            response = response_record(exchange, response_id, file_fields)
        else:
            response = revisit_record(exchange, response_id, original, file_fields)
        request = request_record(
            exchange, request_id, [("WARC-Concurrent-To", response_id), *file_fields]
        )
        # Response first, as warcio's write_request_response_pair and Heritrix do.
        records = [response, request]
        if original is not None and exchange.status == 304:
            records.append(
                not_modified_record(exchange, self.new_record_id(), response_id, file_fields)
            )
        return PreparedExchange(
            exchange, original, records, self._warcinfo_id, self.compress_level,
            same_file_original=same_file_original,
        )  # fmt: skip

    def append_prepared(self, prepared: PreparedExchange) -> RecordLocation:
        """Append the prepared, compressed records; where the response is."""
        if prepared.warcinfo_id != self._ensure_file():
            # The file it was made for was closed meanwhile (full): made again for this one.
            original = None if prepared.same_file_original else prepared.original
            prepared = self.prepare_exchange(prepared.exchange, original)
        members = prepared.members or prepared.compress()
        (offset, length), *_ = self._append_members(members)
        exchange, response = prepared.exchange, prepared.records[0]
        if self.on_close is not None:
            self._index(exchange, response, offset, length)
        location = RecordLocation(
            filename=self._filename,
            offset=offset,
            length=length,
            record_id=response.record_id,
            payload_digest=response.payload_digest or "",
            fetched_at=exchange.fetched_at,
            status=exchange.status,
            url=exchange.url,
            record_type=response.record_type,
            refers_to=prepared.original.record_id if prepared.original else None,
        )
        self._rotate_if_full()
        return location

    def _index(
        self, exchange: HttpExchange, response: WarcRecord, offset: int, length: int
    ) -> None:
        """Keep the CDXJ line of a response or revisit just written (request records and
        warc-fields metadata have none)."""
        if self._index_lines is None:
            return
        headed = response.record_type == "response" or bool(response.head)
        content_type = next(
            (value for name, value in exchange.response_headers if name.lower() == "content-type"),
            None,
        )
        record = IndexedRecord(
            url=exchange.url,
            date=response.date,
            revisit=response.record_type == "revisit",
            status=exchange.status if headed else None,
            content_type=content_type,
            payload_digest=response.payload_digest or "",
            offset=offset,
            length=length,
        )
        line = index_line(record, self._filename)
        if line is None:
            self._index_lines = None
        else:
            self._index_lines.append(line)

    def write_metadata(
        self, target_uri: str, refers_to: str, info: Sequence[tuple[str, str]]
    ) -> RecordLocation:
        """Write a `metadata` record (warc-fields `info`) about the record `refers_to`."""
        file_fields = [("WARC-Warcinfo-ID", self._ensure_file())]
        record_id, date = self.new_record_id(), self.clock()
        fields = [("WARC-Refers-To", refers_to), *file_fields]
        record = metadata_record(target_uri, record_id, date, info, fields)
        ((offset, length),) = self._append([record])
        location = RecordLocation(
            filename=self._filename,
            offset=offset,
            length=length,
            record_id=record_id,
            payload_digest="",
            fetched_at=date,
            status=0,
            url=target_uri,
            record_type="metadata",
            refers_to=refers_to,
        )
        self._rotate_if_full()
        return location

    def _rotate_if_full(self) -> None:
        if self._size >= self.max_size:
            self._close_file()

    def close(self) -> None:
        """Close and rename the current file; later calls do nothing."""
        self._closed = True
        self._close_file()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def _size(self) -> int:
        return self._file.tell() if self._file else 0

    def _ensure_file(self) -> str:
        """Open a new file unless one is open; return its warcinfo record id."""
        if self._closed:
            raise WarcWriteError("this WARC writer is closed; create a new one to write more")
        if self._file is None:
            self._open_file()
        return self._warcinfo_id

    def _open_file(self) -> None:
        opened_at = self.clock()
        name = warc_filename(self.prefix, opened_at, self._serial, self.pid, self.hostname)
        path = self.directory / name
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if path.exists():
                raise FileExistsError(f"{path} exists")
            self._file = open(path.with_name(name + OPEN_SUFFIX), "xb")  # noqa: SIM115 (kept open across calls)
        except OSError as error:
            raise WarcWriteError(
                f"cannot create WARC file {path}{OPEN_SUFFIX}: {error}; check that "
                "CPPCC_WARC_DIR is a writable folder and no other crawl writes the same names"
            ) from error
        self._serial += 1
        self._filename = name
        self._index_lines = []
        self._warcinfo_id = self.new_record_id()
        self.files_opened += 1
        self._append([warcinfo_record(self._warcinfo_id, opened_at, name, self.warcinfo.items())])

    def _append(self, records: Sequence[WarcRecord]) -> list[tuple[int, int]]:
        """Write `records` as one block of gzip members; return each one's (offset, length)."""
        level = self.compress_level
        return self._append_members([gzip_member(record.to_bytes(), level) for record in records])

    def _append_members(self, members: Sequence[bytes]) -> list[tuple[int, int]]:
        """Write compressed records as one block; return each one's (offset, length)."""
        assert self._file is not None
        start = offset = self._file.tell()
        spans = []
        for member in members:
            spans.append((offset, len(member)))
            offset += len(member)
        try:
            self._file.write(b"".join(members))
            self._file.flush()
        except OSError as error:
            # Leave no half-written record for a reader to trip on; if even that fails, the
            # write error is still the one to report.
            with contextlib.suppress(OSError):
                self._file.truncate(start)
            raise WarcWriteError(
                f"cannot write to WARC file {self._filename}{OPEN_SUFFIX}: {error}; "
                "free disk space in CPPCC_WARC_DIR and restart the crawl"
            ) from error
        self.bytes_written += offset - start
        self.records_written += len(members)
        return spans

    def _close_file(self) -> None:
        file, self._file = self._file, None
        if file is None:
            return
        path = Path(file.name)
        try:
            try:
                os.fsync(file.fileno())  # the rename promises a complete file: make it so
            finally:
                file.close()
            path.rename(path.with_name(self._filename))
        except OSError as error:
            raise WarcWriteError(
                f"cannot close WARC file {path}: {error}; rename it without `{OPEN_SUFFIX}` "
                "once you have checked it with `warcio check`"
            ) from error
        if self.on_close is not None:
            self.on_close(path.with_name(self._filename), self._index_lines)
