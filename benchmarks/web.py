"""The web API and pages on a filled catalogue: server time of searches, lists and pages.

The app runs in uvicorn on loopback, in a thread of this process, and is asked over real
HTTP, one request at a time: what a client on the same host waits for.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.orm import Session, sessionmaker

from benchmarks.results import Row, Section, percentile
from benchmarks.synthetic import CHANNELS, COMMON, RARE_TWO, SITE
from pipelines.catalogue.queries import list_articles

API_TARGET_MS, PAGE_TARGET_MS = 100.0, 200.0
REPEAT = 20


def bench_web(label: str, url: str, sessions: sessionmaker[Session], articles: int) -> Section:
    """p50 of API searches and lists (target < 100 ms) and of pages (< 200 ms)."""
    try:
        import uvicorn  # noqa: F401 (only to say it is missing)
    except ImportError:
        return Section([Row(f"4 web {label}", "all", "not run (pip install '.[web]')")])
    with sessions() as session:
        some_id = list_articles(session, limit=1, offset=articles // 2)[0].id
    channel = CHANNELS[0]
    cases = [
        ("API", "list, newest 50, with total", "/api/articles", True),
        ("API", f"list of channel {channel}, page 21 of 50", f"/api/articles?channel={channel}"
         "&offset=1000", True),
        ("API", f"search '{RARE_TWO}' (< 1 %), top 20 with total",
         f"/api/articles?q={quote(RARE_TWO)}", True),
        ("API", f"search '{COMMON}' (most articles), top 20 with total",
         f"/api/articles?q={quote(COMMON)}", False),
        ("API", "one article", f"/api/articles/{some_id}", True),
        ("page", f"search '{RARE_TWO}'", f"/?q={quote(RARE_TWO)}", True),
        ("page", "one article", f"/articles/{some_id}", True),
        ("page", f"channel {channel}, newest month", f"/channels/{SITE}/{channel}", True),
    ]  # fmt: skip
    section = Section()
    with _served(url, sessions) as base:
        for kind, what, path, has_target in cases:
            times = [_get(base + path) for _ in range(REPEAT)]
            p50 = percentile(times, 0.5)
            target = API_TARGET_MS if kind == "API" else PAGE_TARGET_MS
            section.rows.append(
                Row(
                    f"4 web {label}",
                    f"{kind} {what}, p50",
                    f"{p50:.1f} ms",
                    target=f"< {target:.0f} ms" if has_target else "— (report)",
                    met=(p50 < target) if has_target else None,
                )
            )
            section.notes.append(
                f"Web {label} {path}: p95 {percentile(times, 0.95):.1f} ms over {len(times)}."
            )
    return section


def _get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status}")
    return (time.perf_counter() - started) * 1000


@contextmanager
def _served(url: str, sessions: sessionmaker[Session]) -> Iterator[str]:
    import uvicorn

    from scheduler.timing import load_seeds
    from web.app import create_app
    from web.settings import WebSettings

    with tempfile.TemporaryDirectory(prefix="cppcc-bench-web-") as home:
        settings = WebSettings(home=Path(home), database_url=url, seeds_path=None)
        app = create_app(settings, sessions, load_seeds(None))
        listening = socket.create_server(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]})
        thread.start()
        try:
            while not server.started:
                time.sleep(0.05)
            yield f"http://127.0.0.1:{listening.getsockname()[1]}"
        finally:
            server.should_exit = True
            thread.join()
            listening.close()
