"""A static file server for a generated channel, run as its own process on 127.0.0.1.

`python -m benchmarks.static_server DIR` prints its port on stdout, then serves until killed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Handler(SimpleHTTPRequestHandler):
    """Keep-alive, `.shtml` as UTF-8 HTML, no request log; If-Modified-Since answered with 304."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, each reply would wait
    # for the client's delayed ACK (40 ms), and the server, not the crawler, would set the pace.
    disable_nagle_algorithm = True

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        if str(path).endswith(".shtml"):
            return "text/html; charset=utf-8"
        return super().guess_type(path)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would cost more than serving it


def main(root: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=root))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve `root` from a child process; yields its base URL, stops it on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.static_server", str(root)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main(sys.argv[1])
