"""A loopback HTTP server for replica sites: one canned reply per path, started on port 0."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass(frozen=True)
class Reply:
    """What the server sends for one path: status, headers as a list (repeats kept), body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    # A server dying mid-reply: Content-Length promises the whole body, only this many bytes
    # of it are sent before the connection is closed (None: all of it).
    cut_after: int | None = None


Routes = Mapping[str, Reply]
# A site is built once its base URL is known, since pages link to absolute URLs.
SiteBuilder = Callable[[str], Routes]


class ReplicaServer:
    """Serve a replica site on 127.0.0.1 in a background thread; usable as a context manager.

    `requests` lists the paths asked for, in order, so tests can check what was (not) fetched.
    """

    def __init__(
        self,
        build_site: SiteBuilder,
        not_found: Callable[[str], Reply] | None = None,
        port: int = 0,
    ):
        self._build_site = build_site
        self._port = port  # 0: any free port
        self._not_found = not_found or _plain_not_found
        self.routes: Routes = {}
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the replica server is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        self._server = _QuietServer(("127.0.0.1", self._port), self._handler_class())
        self._server.daemon_threads = True
        self.routes = self._build_site(self.base_url)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reply_for(self, path: str) -> Reply:
        self.requests.append(path)
        route = path.split("?", 1)[0]  # shared links carry ?n2m=1 and the like
        return self.routes.get(route) or self._not_found(route)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "replica/1.0"

            def do_GET(self) -> None:
                reply = server.reply_for(self.path)
                if not_modified(
                    reply, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
                ):
                    reply = Reply(304, _validators(reply), b"")
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if reply.cut_after is not None:
                    self.wfile.write(reply.body[: reply.cut_after])
                    self.close_connection = True
                    return
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # tests read `requests`; a request log on stderr is noise

        return Handler


class _QuietServer(ThreadingHTTPServer):
    """A crawler that hangs up mid-reply (a stopped crawl) is no error worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def not_modified(reply: Reply, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """Whether a conditional GET gets a 304, as RFC 9110 says: the ETag decides when sent."""
    if reply.status != 200:
        return False
    validators = dict((name.lower(), value) for name, value in reply.headers)
    if if_none_match is not None:
        etag = validators.get("etag")
        return etag is not None and etag in (tag.strip() for tag in if_none_match.split(","))
    if if_modified_since is not None and "last-modified" in validators:
        try:
            return parsedate_to_datetime(if_modified_since) >= parsedate_to_datetime(
                validators["last-modified"]
            )
        except (TypeError, ValueError):
            return False
    return False


def _validators(reply: Reply) -> tuple[tuple[str, str], ...]:
    keep = ("etag", "last-modified", "cache-control", "expires")
    return tuple((name, value) for name, value in reply.headers if name.lower() in keep)


def _plain_not_found(path: str) -> Reply:
    return Reply(404, (("Content-Type", "text/plain; charset=utf-8"),), b"not found\n")
