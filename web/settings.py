"""What the web process is given: where the archive is, who may write, where replays live."""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from pathlib import Path

TOKEN_ENV = "CPPCC_WEB_TOKEN"
REPLAY_URL_ENV = "CPPCC_REPLAY_URL"


@dataclass(frozen=True)
class WebSettings:
    """The web process's settings; `token` None switches the write endpoints off."""

    home: Path
    database_url: str
    seeds_path: str | None
    host: str = "127.0.0.1"
    port: int = 8080
    replay_port: int = 8081
    token: str | None = None
    # Where browsers reach pywb when that is not this host's replay port (a reverse proxy's
    # https://replay.example.org); it must be another origin than the UI's.
    replay_url: str | None = None
    # POST /api/crawls queues crawl jobs for the workers (`crawl --queue`) instead of starting
    # a crawl on this host (`web --queue`, and `serve --dispatch --web`).
    queue: bool = False

    @property
    def replay_origin(self) -> str:
        """Where pywb replays captures: the same host, another port (another origin)."""
        if self.replay_url:
            return self.replay_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.replay_port}"

    @property
    def reads_need_token(self) -> bool:
        """Reads are open on loopback only; anywhere else every request needs the token."""
        return not is_loopback(self.host)

    def token_matches(self, given: str | None) -> bool:
        """Whether `given` is the configured token (compared in constant time)."""
        if self.token is None or given is None:
            return False
        return hmac.compare_digest(self.token.encode(), given.encode())


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost` are loopback; every other name or address is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
