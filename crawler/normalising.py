"""Pages normalised in a process of their own, so that Scrapy's thread downloads meanwhile.

Normalising an article page was 2.0 of the 6.7 ms of CPU Scrapy's thread spent a page
(issue 16), and Scrapy's thread is what bounds a crawl's speed: on a machine with a second
core, a process there normalises while Scrapy's thread downloads, archives and hands the
articles to the catalogue writer. The page goes over a pipe (a 26 KB body pickles in
7 µs) and what normalising found comes back (56 µs for an article and its links).

The process is `python -m pipelines.normalise.process`, started like the catalogue writer
(pipelines/catalogue/writer.py says why not multiprocessing). One that dies under a page (a
parser crash on a hostile page, the out-of-memory killer) is replaced, and each page that
was in it is normalised again in a process of its own: only a page that kills that one too
is rejected — archived as fetched, the reason recorded — and the crawl goes on.
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime
from functools import cache
from multiprocessing.connection import Connection
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.catalogue import settled
from pipelines.normalise import (
    NormalisedPage,
    NotNormalisable,
    PageLinks,
    SiteProfile,
    normalise_for_crawl,
)
from pipelines.normalise.page import Headers
from pipelines.stats import NORMALISER_LOST

logger = logging.getLogger(__name__)

# Whether a crawl normalises its pages in a process of its own (else in Scrapy's thread).
IN_PROCESS_SETTING = "CPPCC_NORMALISE_IN_PROCESS"
COMMAND = (sys.executable, "-m", "pipelines.normalise.process")
_STOP = b""  # sent by close(): answer what came before, then end


class NormaliserLost(Exception):
    """The normalising process ended before it answered for the page."""


class NormaliserCrashed(NotNormalisable):
    """Normalising the page killed the process doing it, twice."""

    reason = "normaliser-crashed"


def in_process_by_default() -> bool:
    """Where the crawl may run on more than one CPU; on one, the process would only add the
    trip over the pipe."""
    return len(os.sched_getaffinity(0)) > 1


class PageNormaliser:
    """Normalises pages in a process of its own (started on first use), or in the caller's
    thread when `in_process` is false. `on_lost` is called when the process dies."""

    def __init__(
        self,
        in_process: bool,
        on_lost: Callable[[], None] | None = None,
        command: Sequence[str] = COMMAND,
    ) -> None:
        self.in_process = in_process
        self.on_lost = on_lost
        self.command = command  # the process's program: tests run one that crashes on cue
        self._process: NormalisingProcess | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageNormaliser:
        """The crawl's normaliser, its process stopped when the crawl's engine stops."""
        settings = crawler.settings
        chosen = settings.get(IN_PROCESS_SETTING) not in (None, "")
        in_process = settings.getbool(IN_PROCESS_SETTING) if chosen else in_process_by_default()
        stats = crawler.stats
        assert stats is not None
        normaliser = cls(in_process, on_lost=lambda: stats.inc_value(NORMALISER_LOST))
        crawler.signals.connect(normaliser.close, signal=signals.engine_stopped, weak=False)
        return normaliser

    async def page(
        self,
        url: str,
        headers: Headers,
        body: bytes,
        *,
        profile: SiteProfile,
        fetched_at: datetime | None,
    ) -> NormalisedPage:
        """What normalising the page found."""
        if not self.in_process:
            return normalise_for_crawl(url, headers, body, profile=profile, fetched_at=fetched_at)
        page = (url, headers, body, _pickled(profile), fetched_at)
        process = self._running()
        try:
            return await settled(process.submit(*page))
        except NormaliserLost as lost:
            self._lost(process, lost)
        alone = NormalisingProcess(self.command)  # the page that killed it kills only this one
        try:
            return await settled(alone.submit(*page))
        except NormaliserLost as lost:
            logger.warning("Normalising %s kills the process doing it: %s", url, lost)
        finally:
            alone.close()
        crashed = NormaliserCrashed(url, "normalising this page killed the process doing it")
        return NormalisedPage(None, crashed, PageLinks())

    def close(self) -> None:
        """Stop the process once it has answered for the pages given; later calls do nothing."""
        process, self._process = self._process, None
        if process is not None:
            process.close()

    def _running(self) -> NormalisingProcess:
        if self._process is None:
            self._process = NormalisingProcess(self.command)
        return self._process

    def _lost(self, process: NormalisingProcess, lost: NormaliserLost) -> None:
        """The process died: replace it (once, whichever of its pages saw it first)."""
        if self._process is not process:
            return
        logger.warning("%s; starting another one", lost)
        self._process = None
        process.close()
        if self.on_lost is not None:
            self.on_lost()


class NormalisingProcess:
    """One normalising process, its pipe, and the pages sent to it not yet answered.

    Pages are sent from a thread of its own, so a submit never waits on a full pipe, and
    answered on another, which completes their Futures.
    """

    def __init__(self, command: Sequence[str] = COMMAND) -> None:
        ours, theirs = socket.socketpair()
        package_root = str(Path(__file__).resolve().parents[1])
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        self._popen = subprocess.Popen(
            [*command, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": path},
            # Out of the terminal's process group: a Ctrl-C is the crawl's to handle, and the
            # process ends when the crawl does (EOF), never with a page in it.
            start_new_session=True,
        )
        theirs.close()  # the process sees EOF once ours closes, or the crawl dies
        self._connection = Connection(ours.detach())
        self._ids = itertools.count(1)
        self._futures: dict[int, Future[NormalisedPage]] = {}
        self._lock = threading.Lock()  # submit() and the receiver share _futures and _gone
        self._gone = False
        self._outbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send, name="normaliser-sender", daemon=True)
        self._receiver = threading.Thread(
            target=self._receive, name="normaliser-receiver", daemon=True
        )
        self._sender.start()
        self._receiver.start()

    @property
    def pid(self) -> int:
        return self._popen.pid

    def submit(
        self,
        url: str,
        headers: Headers,
        body: bytes,
        pickled_profile: bytes,
        fetched_at: datetime | None,
    ) -> Future[NormalisedPage]:
        """Send the page; its Future holds what normalising it found, or NormaliserLost."""
        future: Future[NormalisedPage] = Future()
        with self._lock:
            if self._gone:
                future.set_exception(NormaliserLost("the normalising process has ended"))
                return future
            job = next(self._ids)
            self._futures[job] = future
        page = (job, url, headers, body, pickled_profile, fetched_at)
        self._outbox.put(pickle.dumps(page, protocol=pickle.HIGHEST_PROTOCOL))
        return future

    def close(self) -> None:
        """Let the process answer for what it was sent, then end it; waits for it."""
        self._outbox.put(_STOP)
        self._sender.join()
        self._receiver.join()
        self._popen.wait()
        self._connection.close()

    def _send(self) -> None:
        while True:
            message = self._outbox.get()
            try:
                self._connection.send_bytes(message)
            except OSError:  # the process is gone: the receiver fails what is left
                return
            if message == _STOP:
                return

    def _receive(self) -> None:
        try:
            while True:
                job, succeeded, value = pickle.loads(self._connection.recv_bytes())
                with self._lock:
                    future = self._futures.pop(job)
                if succeeded:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        except (EOFError, OSError):  # the end of the pipe: closed, or the process died
            pass
        except Exception:  # an answer that cannot be read: nothing after it can be
            logger.error("Cannot read the normalising process's answer", exc_info=True)
            self._popen.kill()
        with self._lock:
            self._gone = True
            lost, self._futures = self._futures, {}
        if lost:
            code = self._popen.wait()
            reason = f"the normalising process ended (exit code {code}) with pages in it"
            for future in lost.values():
                future.set_exception(NormaliserLost(reason))


@cache
def _pickled(profile: SiteProfile) -> bytes:
    # A crawl sends its site's profile with every page: pickled once.
    return pickle.dumps(profile, protocol=pickle.HIGHEST_PROTOCOL)
