"""What this crawl archived: originals revisit records refer to, until the catalogue has them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, wait

from pipelines.catalogue.records import ArchivedResponse
from pipelines.catalogue.writer import CatalogueWriter, CatalogueWriterClosed
from pipelines.warc.location import RecordLocation
from pipelines.warc.records import Original

logger = logging.getLogger(__name__)

FLUSH_EVERY = 50  # records kept in memory before they are written to the catalogue


def original_of(location: RecordLocation) -> Original:
    """The reference a revisit of `location` carries."""
    return Original(
        record_id=location.record_id,
        url=location.url,
        date=location.fetched_at,
        payload_digest=location.payload_digest,
    )


class CrawlRecordIndex:
    """This crawl's records, held in memory until the catalogue has them.

    Records are written to the catalogue in batches (a crawl writes hundreds a minute), by
    the crawl's catalogue writer process; the ones not yet written are found in memory, so a
    payload archived twice in one crawl is a revisit the second time too (and once written,
    they are forgotten: a crawl's memory does not grow with its size). If the process dies
    before a batch is written, the WARC files still hold the records and
    `cppcc-archive reindex` puts them back.

    Called from Scrapy's thread only, which is where `on_error` is called too.
    """

    def __init__(
        self,
        writer: CatalogueWriter,
        run_id: int | None,
        on_error: Callable[[], None],
        flush_every: int = FLUSH_EVERY,
    ) -> None:
        self.writer = writer  # writes the batches
        self.run_id = run_id
        self.on_error = on_error
        self.flush_every = flush_every
        self._pending: list[ArchivedResponse] = []
        # payload digest -> this crawl's response, and the file it is in
        self._originals: dict[str, tuple[Original, str]] = {}
        self._in_flight: list[tuple[list[ArchivedResponse], Future[None]]] = []

    def remembered(self, payload_digest: str, in_file: str | None = None) -> Original | None:
        """This crawl's full response with this payload, while the catalogue lacks it (with
        `in_file`, only one in that file)."""
        found = self._originals.get(payload_digest)
        if found is None or (in_file is not None and found[1] != in_file):
            return None
        return found[0]

    def add(self, record: ArchivedResponse) -> None:
        """Remember a record just written; the catalogue gets it with the next batch."""
        location = record.location
        if location.record_type == "response" and location.payload_digest:
            self._originals.setdefault(
                location.payload_digest, (original_of(location), location.filename)
            )
        self._pending.append(record)
        if len(self._pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Hand the pending records to the writer process, as one batch.

        A batch that failed (the writer tried it once more on its own) is logged and counted
        here, and its records are kept, to go with the next batch (not on every response).
        """
        self._reap()
        if not self._pending:
            return
        batch, run_id = list(self._pending), self.run_id
        try:
            future = self.writer.submit("save_records", records=batch, run_id=run_id)
        except CatalogueWriterClosed:
            # The writer died (the crawl is being stopped): the WARC files hold these records.
            logger.error("cannot catalogue %d WARC records: the writer is gone", len(batch))
            self.on_error()
            self._pending.clear()
            return
        self._pending.clear()
        self._in_flight.append((batch, future))

    def close(self) -> None:
        """Write the pending records and wait for every batch (the crawl is ending)."""
        self.flush()
        wait([future for _, future in self._in_flight])
        self._reap()
        if self._pending:  # failed again: the WARC files hold them, reindex restores them
            logger.error("%d WARC records are not in the catalogue", len(self._pending))

    def _reap(self) -> None:
        """Forget the batches written; take back the records of those that failed."""
        # Each future is asked once: the writer's thread completes them at any moment, and one
        # finishing between two looks would be neither done nor in flight, its batch lost.
        done: list[tuple[list[ArchivedResponse], Future[None]]] = []
        in_flight: list[tuple[list[ArchivedResponse], Future[None]]] = []
        for entry in self._in_flight:
            (done if entry[1].done() else in_flight).append(entry)
        self._in_flight = in_flight
        failed = [(batch, f) for batch, f in done if f.exception()]
        for batch in (batch for batch, f in done if not f.exception()):
            # The catalogue answers for these now.
            for record in batch:
                digest = record.location.payload_digest
                remembered = self._originals.get(digest)
                if remembered and remembered[0].record_id == record.location.record_id:
                    del self._originals[digest]
        for batch, future in failed:
            logger.error(
                "cannot catalogue %d WARC records", len(batch), exc_info=future.exception()
            )
            self.on_error()
            self._pending[:0] = batch
