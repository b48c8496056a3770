"""Stop a crawl subprocess on a signal or at its time limit: politely first, then firmly."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# After a polite stop, how long a crawl may take to finish its pages in flight, close its WARC
# file and write its report before it is stopped firmly.
GRACE_SECONDS = 30.0
# Scrapy reads a first SIGINT as "stop gracefully" and any second signal as "stop now" (its
# WARC file is then left `.open`); SIGKILL is for a crawl that ignores both.
_ESCALATION = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class CrawlStopper:
    """Stops the crawl subprocess when asked or at a deadline: politely first, then firmly.

    One SIGINT per request to stop: Scrapy then finishes the pages in flight, closes its WARC
    file and writes its report. A further request, or a signal left unheeded for `grace`
    seconds, sends the next, firmer signal (SIGTERM, then SIGKILL).
    """

    def __init__(
        self,
        deadline: float | None = None,
        grace: float = GRACE_SECONDS,
        on_stop: Callable[[str], None] | None = None,
    ):
        self.deadline = deadline  # the time.monotonic() at which the time limit is hit
        self.grace = grace
        # Told, a line at a time, what each stop does (the command line acknowledges Ctrl-C).
        # Lines wait for the next tick: a signal handler must not write to a stream the main
        # thread may be writing (a reentrant write raises).
        self.on_stop = on_stop
        self._untold: list[str] = []
        self.reason: str | None = None  # "signal" or "time_limit", once a stop was asked for
        self.process: subprocess.Popen[bytes] | None = None
        self._sent = 0
        self._sent_at = 0.0
        # The crawl's thread ticks while another (the service, a signal handler in the same
        # thread) asks to stop: re-entrant, so a handler interrupting a tick cannot deadlock.
        self._lock = threading.RLock()

    def attach(self, process: subprocess.Popen[bytes] | None) -> None:
        """Make `process` the crawl to stop (None: no crawl is running).

        A stop asked for before the crawl started is passed on to it at once.
        """
        with self._lock:
            self.process, self._sent = process, 0
            if process is not None and self.reason is not None:
                self._escalate()

    def request(self, reason: str) -> None:
        """Ask the crawl to stop; each request after the first is firmer."""
        with self._lock:
            self.reason = self.reason or reason
            self._escalate()

    def tick(self) -> None:
        """Stop at the deadline; escalate when the last signal went unheeded for too long;
        say what a stop did."""
        self._tell()
        with self._lock:
            now = time.monotonic()
            if self.reason is None and self.deadline is not None and now >= self.deadline:
                self.request("time_limit")
            elif self._sent and now - self._sent_at >= self.grace:
                self._escalate()

    def time_left(self) -> float | None:
        """Seconds until the deadline; None without one."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    @contextmanager
    def forwarding_signals(self) -> Iterator[None]:
        """Inside, SIGINT and SIGTERM to this process stop the crawl instead of this process.

        Only the main thread may install signal handlers; in any other thread (a scheduler's
        worker) the process's owner handles signals and calls `request` itself.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, signal.SIG_DFL if handler is None else handler)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.request("signal")

    def _escalate(self) -> None:
        if self.process is None or self._sent >= len(_ESCALATION):
            return
        self._sent_at = time.monotonic()
        self.process.send_signal(_ESCALATION[self._sent])  # a no-op once it has exited
        self._sent += 1
        if self.on_stop is not None and self.process.poll() is None:
            self._untold.append(self._what_it_does())

    def _what_it_does(self) -> str:
        if self._sent == 1:
            why = "time limit reached" if self.reason == "time_limit" else "stopping"
            again = "; Ctrl-C again to stop at once" if self.reason == "signal" else ""
            return (
                f"{why}: finishing the pages in flight and closing the WARC file; nothing new "
                f"is fetched{again}"
            )
        if self._sent == 2:
            return (
                "stopping at once: the WARC file may be left .open (the next crawl, or "
                "`cppcc-archive verify --repair`, closes it)"
            )
        return "the crawl did not stop: killed"

    def _tell(self) -> None:
        with self._lock:
            untold, self._untold = self._untold, []
        for line in untold:
            assert self.on_stop is not None
            self.on_stop(line)
