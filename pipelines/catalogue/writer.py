"""Catalogue writes in a process of their own, many to a transaction (group commit).

A crawl catalogues an article every few milliseconds. Written one transaction each on
Scrapy's thread, the commits held up every download; on a thread of their own, their Python
work still took the GIL from Scrapy's thread, which then normalised a page in twice the time
(issue 6, measured). So a crawl hands its writes to a writer process, on the second core:
it commits whatever has queued while its last batch was written — one write a transaction at
a trickle, up to `max_batch` under load.

The writes are the functions named in WRITES, sent with their keyword arguments (pickled).
The writer stops when told to, or when the crawl is gone (its end of the pipe closes): it
never outlives the crawl, and a write it has started is committed or rolled back, never cut.
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.article_batches import ArticleSave, save_articles
from pipelines.catalogue.engine import (
    is_unreachable,
    make_engine,
    make_session_factory,
    masked,
)
from pipelines.catalogue.lifecycle import save_withdrawals
from pipelines.catalogue.records import save_records
from pipelines.catalogue.walks import save_walk
from pipelines.catalogue.writes import save_article, save_rejection
from pipelines.errors import CatalogueUnreachable, CppccArchiveError

logger = logging.getLogger(__name__)

# What a crawl may ask the writer to do: each takes a Session first, then keyword arguments.
WRITES: dict[str, Callable[..., Any]] = {
    "save_article": save_article,
    "save_rejection": save_rejection,
    "save_records": save_records,
    "save_walk": save_walk,
    "save_withdrawals": save_withdrawals,
}
DEFAULT_MAX_BATCH = 100  # writes in one transaction at most: bounds how long a lock is held
DEFAULT_MAX_DELAY = 0.05  # seconds a write waits for others to share its transaction
_STOP = None  # sent by close(): write what came before, then end

Job = tuple[int, str, dict[str, Any]]  # (job id, name in WRITES, keyword arguments), pickled
Outcome = tuple[int, bool, Any]  # (job id, whether it succeeded, its result or its error)


class CatalogueWriterClosed(CppccArchiveError):
    """A write was submitted after the writer was closed, or the writer process died."""


class CatalogueWriteFailed(CppccArchiveError):
    """A write raised an error that could not be sent back as itself (not picklable)."""


class CatalogueWriter:
    """Runs each submitted write in a transaction, in a writer process, in the order given.

    A batch's writes share one transaction; when any of them raises, the batch is rolled back
    and each write is run again in a transaction of its own, so one bad write fails alone and
    the others still land (a write therefore must change nothing but the database). Each
    write's Future holds what it returned, or what it raised.
    """

    def __init__(
        self,
        database_url: str,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_delay: float = DEFAULT_MAX_DELAY,
        on_lost: Callable[[str], None] | None = None,
        on_unreachable: Callable[[str], None] | None = None,
    ) -> None:
        self.database_url = database_url
        self.max_batch = max_batch
        self.max_delay = max_delay
        # Called (from a thread of the writer's) with the reason when the writer process ends
        # without being closed: a crawl must not go on archiving with nothing catalogued.
        self.on_lost = on_lost
        # Called (from the same thread) with the error's message for each write that failed
        # because the database could not be reached (CatalogueUnreachable).
        self.on_unreachable = on_unreachable
        self._ids = itertools.count(1)
        self._futures: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()  # submit(), close() and the receiver share _futures
        self._closed = False
        self._started = False
        # Sending happens on a thread of its own, so a submit never waits on a full pipe;
        # results come back on another, which completes the Futures.
        self._outbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()

    def submit(self, write: str, **arguments: Any) -> Future[Any]:
        """Queue WRITES[write](session, **arguments); its Future completes once committed.

        The writer process starts with the first write: a crawl that writes nothing (or a
        component made and never used) starts none.
        """
        if write not in WRITES:
            raise ValueError(f"no catalogue write named {write!r}")
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise CatalogueWriterClosed("the catalogue writer is closed")
            if not self._started:
                self._start()
            job = next(self._ids)
            # Pickled here, so arguments that cannot cross to the writer fail this call.
            message = pickle.dumps((job, write, arguments), protocol=pickle.HIGHEST_PROTOCOL)
            self._futures[job] = future
        self._outbox.put(message)
        return future

    def close(self, timeout: float | None = None) -> None:
        """Write everything submitted so far, then stop the writer; later calls do nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if not self._started:
                return
        self._outbox.put(pickle.dumps(_STOP))
        self._sender.join(timeout)
        self._receiver.join(timeout)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.error("the catalogue writer did not stop within %s s", timeout)
        self._connection.close()

    def _start(self) -> None:
        # A process of its own (`python -m pipelines.catalogue.writer`), not a fork of one
        # running a reactor and threads, nor multiprocessing's spawn, which would import the
        # crawl's __main__ again. The pipe is a socket pair; the settings go over it, so a
        # database password is never on a command line.
        ours, theirs = socket.socketpair()
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.catalogue.writer", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": path},
            # Out of the terminal's process group: a Ctrl-C is the crawl's to handle, and the
            # writer ends when the crawl does (EOF), never halfway through a batch.
            start_new_session=True,
        )
        theirs.close()  # the writer sees EOF once ours closes, or this process dies
        self._connection = Connection(ours.detach())
        self._connection.send((self.database_url, self.max_batch, self.max_delay))
        self._sender = threading.Thread(target=self._send, name="catalogue-sender", daemon=True)
        self._receiver = threading.Thread(
            target=self._receive, name="catalogue-receiver", daemon=True
        )
        self._sender.start()
        self._receiver.start()
        self._started = True

    def _send(self) -> None:
        stop = pickle.dumps(_STOP)
        while True:
            message = self._outbox.get()
            try:
                self._connection.send_bytes(message)
            except Exception:  # the writer is gone: the receiver fails what is left
                return
            if message == stop:
                return

    def _receive(self) -> None:
        try:
            while True:
                job, succeeded, value = self._connection.recv()
                with self._lock:
                    future = self._futures.pop(job)
                if succeeded:
                    future.set_result(value)
                else:
                    future.set_exception(value)
                    if isinstance(value, CatalogueUnreachable) and self.on_unreachable:
                        self.on_unreachable(str(value))
        except (EOFError, ConnectionResetError):  # reset: it died with jobs of ours unread
            reason = "the catalogue writer process ended"
        except Exception as error:  # a reply that cannot be read: nothing after it can be
            reason = f"the catalogue writer's reply cannot be read ({error})"
            self._process.kill()
        with self._lock:
            expected = self._closed  # close() asked it to stop: it wrote everything first
            self._closed = True
            lost, self._futures = self._futures, {}
        if expected and not lost:
            return
        code = self._process.wait()
        reason = f"{reason} (exit code {code})"
        logger.error("%s; %d writes not catalogued", reason, len(lost))
        for future in lost.values():
            future.set_exception(CatalogueWriterClosed(reason))
        if self.on_lost is not None:
            self.on_lost(reason)


# What reading from the crawl raises once it has gone: EOF, or ECONNRESET when it died with
# replies of ours unread (the jobs it sent before are still read first, and written).
_CRAWL_GONE = (EOFError, ConnectionResetError)


def serve(connection: Connection) -> None:
    """The writer process: run batches of jobs from `connection` until told to stop or EOF.

    The first message is the settings: (database URL, max batch, max delay).
    """
    # The crawl decides when to stop: a Ctrl-C or SIGTERM meant for it must not cut a batch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        database_url, max_batch, max_delay = connection.recv()
    except _CRAWL_GONE:
        return
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    replying = True
    try:
        stopping = False
        while not stopping:
            batch, stopping = _next_batch(connection, max_batch, max_delay)
            for outcome in _write(sessions, batch):
                if replying:
                    try:
                        connection.send(_sendable(_said_unreachable(outcome, database_url)))
                    except (BrokenPipeError, ConnectionResetError):
                        # The crawl is gone: what it sent before it went is written all the
                        # same, up to the end of the pipe.
                        replying = False
    finally:
        engine.dispose()
        connection.close()


def _next_batch(connection: Connection, max_batch: int, max_delay: float) -> tuple[list[Job], bool]:
    """The jobs to write together, and whether the crawl asked to stop (or went away)."""
    try:
        first = connection.recv()
    except _CRAWL_GONE:
        return [], True
    if first is _STOP:
        return [], True
    batch: list[Job] = [first]
    # Wait a little for more: a commit costs as much as several writes.
    deadline = time.monotonic() + max_delay
    while len(batch) < max_batch and connection.poll(max(0.0, deadline - time.monotonic())):
        try:
            job = connection.recv()
        except _CRAWL_GONE:
            return batch, True
        if job is _STOP:
            return batch, True
        batch.append(job)
    return batch, False


def _write(sessions: sessionmaker[Session], batch: list[Job], retries: int = 1) -> list[Outcome]:
    """Run the batch in one transaction; if anything fails, each job in one of its own."""
    if not batch:
        return []
    try:
        with sessions.begin() as session:
            results = _run(session, batch)
    except Exception as error:
        if retries and _undone_for_another(error):
            # PostgreSQL undid this transaction to break a deadlock with another writer (two
            # crawls saving the same articles in other orders); nothing in it was wrong. Each
            # job alone, once more, locks one article at a time.
            return [outcome for job in batch for outcome in _write(sessions, [job], retries - 1)]
        if len(batch) == 1 or isinstance(error, OperationalError | DisconnectionError):
            # One write, or the database itself failing (unreachable, locked past the busy
            # timeout): running each write alone would only wait that long once per write.
            return [(job, False, error) for job, _, _ in batch]
        # Which write failed is not known: run each alone, so only that one fails.
        return [outcome for job in batch for outcome in _write(sessions, [job])]
    return [(job, True, result) for (job, _, _), result in zip(batch, results, strict=True)]


def _run(session: Session, batch: list[Job]) -> list[Any]:
    """Each job's result, in order. A run of save_article jobs is saved by save_articles:
    the rows and outcomes of one by one, for a fraction of the CPU (issue 16)."""
    results: list[Any] = []
    for name, jobs in itertools.groupby(batch, key=lambda job: job[1]):
        arguments = [each for _, _, each in jobs]
        if name == "save_article":
            results += save_articles(session, [ArticleSave(**each) for each in arguments])
        else:
            results += [WRITES[name](session, **each) for each in arguments]
    return results


def _undone_for_another(error: Exception) -> bool:
    """Whether the database rolled the transaction back because of another one: a deadlock or
    a serialization failure (SQLSTATE class 40), which the same writes may pass on a retry."""
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    return isinstance(error, OperationalError) and str(sqlstate or "").startswith("40")


def _said_unreachable(outcome: Outcome, database_url: str) -> Outcome:
    """The outcome, its error replaced by CatalogueUnreachable if it says the database could
    not be reached: the crawl stops on that one, not on a write that failed alone."""
    job, succeeded, value = outcome
    if succeeded or not is_unreachable(value):
        return outcome
    why = " ".join(str(getattr(value, "orig", None) or value).split())
    message = f"the catalogue database {masked(database_url)} cannot be reached ({why})"
    return job, False, CatalogueUnreachable(message)


def _sendable(outcome: Outcome) -> Outcome:
    """The outcome, its error replaced by a picklable one if it is not picklable itself."""
    job, succeeded, value = outcome
    if succeeded:
        return outcome
    try:
        pickle.loads(pickle.dumps(value))
    except Exception:
        value = CatalogueWriteFailed(f"{type(value).__name__}: {value}")
    return job, False, value


if __name__ == "__main__":
    # Run as `python -m`, this file is __main__; its classes must be the package's, so that
    # the crawl can unpickle the errors it sends back.
    from pipelines.catalogue import writer

    writer.serve(Connection(int(sys.argv[1])))
