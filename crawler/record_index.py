"""What this crawl and earlier ones archived: the originals revisit records refer to."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.records import ArchivedResponse, original_with_digest, save_records
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
    """The catalogue's records table, with this crawl's records held in memory in front of it.

    Records are written to the catalogue in batches (a crawl writes hundreds a minute); the
    ones not yet written are found in memory, so a payload archived twice in one crawl is a
    revisit the second time too. If the process dies before a batch is written, the WARC files
    still hold the records and `cppcc-archive reindex` puts them back.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        readers: sessionmaker[Session],
        run_id: int | None,
        on_error: Callable[[], None],
        flush_every: int = FLUSH_EVERY,
    ) -> None:
        self.sessions = sessions  # for writing batches
        self.readers = readers  # for look-ups: no write lock taken
        self.run_id = run_id
        self.on_error = on_error
        self.flush_every = flush_every
        self._pending: list[ArchivedResponse] = []
        self._flush_at = flush_every  # pending records that trigger the next flush
        self._originals: dict[str, Original] = {}  # payload digest -> this crawl's response

    def original_for(self, payload_digest: str) -> Original | None:
        """An earlier full response with this payload: this crawl's, else the catalogue's."""
        if payload_digest in self._originals:
            return self._originals[payload_digest]
        with self.readers() as session:
            found = original_with_digest(session, payload_digest)
        return original_of(found) if found else None

    def add(self, record: ArchivedResponse) -> None:
        """Remember a record just written; the catalogue gets it with the next batch."""
        location = record.location
        if location.record_type == "response" and location.payload_digest:
            self._originals.setdefault(location.payload_digest, original_of(location))
        self._pending.append(record)
        if len(self._pending) >= self._flush_at:
            self.flush()

    def flush(self) -> None:
        """Write the pending records to the catalogue (on failure: logged, counted, kept)."""
        if not self._pending:
            return
        try:
            with self.sessions.begin() as session:
                save_records(session, self._pending, self.run_id)
        except Exception:  # the WARC files hold them; reindex restores what is lost here
            logger.error("cannot catalogue %d WARC records", len(self._pending), exc_info=True)
            self.on_error()
            # Kept, and tried again a batch later, not on every response from now on.
            self._flush_at = len(self._pending) + self.flush_every
            return
        self._pending.clear()
        self._flush_at = self.flush_every
