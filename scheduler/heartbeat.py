"""A run's heartbeat in the catalogue, refreshed while it runs, so other hosts can tell it lives."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.locks import (
    touch_heartbeat,
)
from scheduler.stopping import CrawlStopper

ProgressCallback = Callable[[str, dict[str, int]], None]
Notice = Callable[[str], None]
logger = logging.getLogger(__name__)

# A running run refreshes its heartbeat this often (seconds); a run on another host whose
# heartbeat is older than STALE_AFTER is presumed dead (its host crashed or lost power).
HEARTBEAT = 30.0


class Heartbeat:
    """Refresh the run's heartbeat while it runs, so other hosts can tell it is alive."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        run_id: int,
        stopper: CrawlStopper,
        every: float = HEARTBEAT,
        notice: Notice | None = None,
    ):
        self.sessions = sessions
        self.run_id = run_id
        self.stopper = stopper
        self.every = every
        self.notice = notice or logger.warning
        self.missed = 0  # beats missed in a row
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                with self.sessions.begin() as session:
                    alive = touch_heartbeat(session, self.run_id, datetime.now(UTC))
            except SQLAlchemyError as exc:
                # A missed beat only makes the run look older; the crawl goes on. Said once
                # an outage: the catalogue being down is said where it matters, at the end.
                self.missed += 1
                if self.missed == 1:
                    self.notice(f"run {self.run_id}: cannot refresh its heartbeat: {one_line(exc)}")
                continue
            self.missed = 0
            if not alive:
                # Another process judged this run dead (its heartbeat was late) and took its
                # channels: stop, or two runs of one channel would overlap.
                logger.error("run %s was taken for dead by another process: stopping", self.run_id)
                self.stopper.request("signal")
                return


def one_line(exc: BaseException) -> str:
    """The error, or the database's own error inside it, on one line."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())
