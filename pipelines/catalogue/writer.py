"""Catalogue writes on a thread of their own, many to a transaction (group commit).

A crawl catalogues an article every few milliseconds. Written one transaction each on
Scrapy's thread, the commits and the SQLite work held up every download (issue 6: a quarter
of a crawl's time). Here they queue up for one writer thread, which commits whatever has
queued while the last batch was written: at a trickle that is one write a transaction, under
load up to `max_batch`. SQLite and PostgreSQL drivers release the GIL while the database
works, so that part runs beside the crawl on the second core.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

T = TypeVar("T")
Write = Callable[[Session], Any]
_STOP = object()  # queued by close(): write what came before, then end the thread

DEFAULT_MAX_BATCH = 100  # writes in one transaction at most: bounds how long a lock is held
DEFAULT_MAX_DELAY = 0.05  # seconds a write waits for others to share its transaction


class CatalogueWriterClosed(RuntimeError):
    """A write was submitted after the writer was closed."""


class CatalogueWriter:
    """Runs each submitted write, a function of a Session, in a transaction on one thread.

    Writes are run in the order submitted. A batch's writes share one transaction; when any
    of them raises, the batch is rolled back and each write is run again in a transaction of
    its own, so one bad write fails alone and the others still land. A write must therefore
    change nothing but the database (it may run twice). Its Future holds what it returned or
    what it raised.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_delay: float = DEFAULT_MAX_DELAY,
        name: str = "catalogue-writer",
    ) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self.max_delay = max_delay
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()  # submit() and close() from different threads
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, write: Callable[[Session], T]) -> Future[T]:
        """Queue `write`; the Future completes once its transaction has committed."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise CatalogueWriterClosed("the catalogue writer is closed")
            self._queue.put((write, future))
        return future

    def close(self, timeout: float | None = None) -> None:
        """Write everything queued so far, then stop the thread; later calls do nothing."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = [self._queue.get()]
            # Wait a little for more: a commit costs as much as several writes.
            deadline = time.monotonic() + self.max_delay
            while len(batch) < self.max_batch and batch[-1] is not _STOP:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            if _STOP in batch:
                stopping = True
                batch = [job for job in batch if job is not _STOP]
            if batch:
                self._write(batch)

    def _write(self, batch: list[tuple[Write, Future[Any]]]) -> None:
        jobs = [(write, future) for write, future in batch if future.set_running_or_notify_cancel()]
        try:
            with self.sessions.begin() as session:
                results = [write(session) for write, _ in jobs]
        except Exception as error:
            if len(jobs) == 1:
                jobs[0][1].set_exception(error)
                return
            # Which write failed is not known: run each alone, so only that one fails.
            for write, future in jobs:
                self._write_alone(write, future)
            return
        for (_, future), result in zip(jobs, results, strict=True):
            future.set_result(result)

    def _write_alone(self, write: Write, future: Future[Any]) -> None:
        try:
            with self.sessions.begin() as session:
                result = write(session)
        except Exception as error:
            future.set_exception(error)
            return
        future.set_result(result)
