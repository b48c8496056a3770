"""A crawl's normalising process: pages in over a pipe, what normalising found back out.

Run as `python -m pipelines.normalise.process FD` by crawler/normalising.py, which says why.
Each message in is a pickled (job, url, headers, body, profile, fetched_at) — the profile as
pickled bytes, unpickled once for as long as it stays the same — and each message out a
pickled (job, succeeded, NormalisedPage or the error raised). The process ends on an empty
message, or at the end of the pipe: the crawl has died.
"""

from __future__ import annotations

import pickle
import signal
import sys
from multiprocessing.connection import Connection
from typing import Any

from pipelines.normalise.extract import normalise_for_crawl
from pipelines.profiles.model import SiteProfile

_CRAWL_GONE = (EOFError, ConnectionResetError)
_STOP = b""  # the crawl has sent its last page


def serve(connection: Connection) -> None:
    """Normalise the pages `connection` brings, in order, until it closes."""
    # The crawl decides when to stop: a Ctrl-C or SIGTERM meant for it must not lose a page.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    profiles = _Profiles()
    try:
        while True:
            try:
                message = connection.recv_bytes()
            except _CRAWL_GONE:
                return
            if message == _STOP:
                return
            job, url, headers, body, pickled_profile, fetched_at = pickle.loads(message)
            try:
                profile = profiles.of(pickled_profile)
                reply: tuple[int, bool, Any] = (
                    job,
                    True,
                    normalise_for_crawl(url, headers, body, profile=profile, fetched_at=fetched_at),
                )
            except Exception as error:  # a bug, not a rejection: the crawl logs it for the page
                reply = (job, False, _picklable(error))
            try:
                connection.send_bytes(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
            except (BrokenPipeError, ConnectionResetError):
                return
    finally:
        connection.close()


class _Profiles:
    """The site profile of the pages coming in: a crawl sends one site's, page after page."""

    def __init__(self) -> None:
        self._pickled = b""
        self._profile: SiteProfile | None = None

    def of(self, pickled: bytes) -> SiteProfile:
        if pickled != self._pickled or self._profile is None:
            self._profile, self._pickled = pickle.loads(pickled), pickled
        return self._profile


def _picklable(error: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


if __name__ == "__main__":
    # Run as `python -m`, this file is __main__; what it sends must be the package's classes.
    from pipelines.normalise import process

    process.serve(Connection(int(sys.argv[1])))
