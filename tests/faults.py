"""Faults for tests, made with real parts: a catalogue server that goes away, a crawl killed -9."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from warcio.archiveiterator import ArchiveIterator

from pipelines.catalogue.engine import make_engine
from pipelines.processes import pid_is_alive
from tests.conftest import CliResult, run_cli, start_cli


class TcpProxy:
    """A loopback TCP proxy to `target` that a test can cut (and restore) at any moment.

    Cut, it resets every connection through it and refuses new ones, as a server that stopped
    does; restored, it accepts again on the same port.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self._listener: socket.socket | None = None
        self.port = 0
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._accepting: threading.Thread | None = None

    def __enter__(self) -> TcpProxy:
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()

    def url_for(self, url: str) -> str:
        """`url` (a database URL on the target) with its host and port replaced by ours."""
        from sqlalchemy import make_url

        return (
            make_url(url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    def restore(self) -> None:
        """Accept connections (on the port we had, if we had one)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        # Set here, not in the accepting thread: a cut() right after restore() may close the
        # listener before that thread has run.
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._accepting.start()

    def cut(self) -> None:
        """Reset every connection and refuse new ones."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._accepting is not None:
            self._accepting.join(5)
        with self._lock:
            pairs, self._pairs = self._pairs, []
        reset = struct.pack("ii", 1, 0)  # linger on, 0 s: close() sends a reset
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):  # closed already by its pipe
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset)
                    sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, client: socket.socket, server: socket.socket) -> None:
        sockets = [client, server]
        try:
            while True:
                ready, _, _ = select.select(sockets, [], [], 0.5)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (server if sock is client else client).sendall(data)
        except (OSError, ValueError):  # cut: the sockets were closed under us
            return
        finally:
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.close()


def wait_for(check: Callable[[], object], *, what: str, timeout: float = 60) -> object:
    """The first truthy result of `check`, polled until `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def process_tree(pid: int) -> list[int]:
    """`pid` and every process descended from it (from /proc), parents first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, queue = [], [pid]
    while queue:
        current = queue.pop(0)
        tree.append(current)
        queue += children.get(current, [])
    return tree


def kill_9_all(pids: list[int]) -> None:
    """SIGKILL every one of `pids` at once, then wait until none is alive."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not any(pid_is_alive(pid) for pid in pids), what="the killed processes")


# -- kill -9 of a whole crawl, and the next ordinary crawl ----------------------------------


@dataclass
class KillTrial:
    """One kill -9 of a whole crawl and what the next ordinary crawl made of it.

    Recovery did its work when `lost` (articles of the channel not catalogued), `duplicates`
    (rows the catalogue holds twice) and `refetched` (article pages the dead crawl had
    archived whole that the next crawl asked the server for again) are empty, the next crawl
    and `verify` exit 0, and the dead run is `interrupted` with the pages its report gave.
    """

    moment: str  # when the crawl was killed, as the caller described it
    killed: list[int]  # the processes killed: the CLI, its crawl, the catalogue writer
    next_crawl: CliResult
    verify: CliResult
    catalogued: set[tuple[str, str]]  # (article path, channel)
    lost: set[str]  # article paths
    duplicates: dict[str, int]  # table: keys found twice
    refetched: list[str]
    dead_run: tuple[int, str, int] | None  # (id, status, pages fetched) after the next crawl
    reported_pages: int  # the pages the dead run's crawl had reported when it was killed


def kill_9_trial(
    home: Path,
    seeds: Path,
    channel: str,
    at: float | Callable[[], object],
    expected: set[tuple[str, str]],
    requests: Callable[[], list[str]],
    *,
    db: str | None = None,
) -> KillTrial:
    """Kill -9 `cppcc-archive crawl CHANNEL` (every process of it, at once) when `at` says
    (seconds after it started, or once a check returns something truthy), then run the next
    ordinary crawl and `verify`, and compare the catalogue with `expected`: (article path,
    channel) pairs. `requests` gives the paths the replica was asked for so far."""
    common = ["--home", str(home), "--seeds", str(seeds), *(["--db", db] if db else [])]
    url = db or f"sqlite:///{home / 'catalogue.sqlite3'}"
    moment, killed = _kill_crawl(common, channel, at)
    archived = {urlsplit(page).path for page in archived_article_pages(home)}
    dead = _last_run(url, home)
    reported = reported_count(home, dead, "pages_fetched") if dead is not None else 0
    asked_before = len(requests())
    next_crawl = run_cli(*common, "crawl", channel)
    asked = [path.split("?")[0] for path in requests()[asked_before:]]
    verify = run_cli(*common, "verify")
    catalogued = {(urlsplit(page).path, name) for page, name in catalogued_articles(url)}
    runs = {row[0]: row for row in _runs(url)} if dead is not None else {}
    return KillTrial(
        moment=moment,
        killed=killed,
        next_crawl=next_crawl,
        verify=verify,
        catalogued=catalogued,
        lost={path for path, _ in expected} - {path for path, _ in catalogued},
        duplicates=duplicate_rows(url),
        refetched=sorted(path for path in asked if path in archived),
        dead_run=runs.get(dead) if dead is not None else None,
        reported_pages=reported,
    )


def _kill_crawl(
    common: list[str], channel: str, at: float | Callable[[], object]
) -> tuple[str, list[int]]:
    crawl = start_cli(*common, "crawl", channel)
    try:
        if callable(at):
            wait_for(lambda: at() or crawl.poll() is not None, what="the moment to kill")
            moment = getattr(at, "__name__", "check")
        else:
            time.sleep(at)
            moment = f"{at:.2f} s"
        return moment, kill_9_tree(crawl.pid)
    finally:
        if crawl.poll() is None:
            crawl.kill()
        crawl.communicate()


def _last_run(url: str, home: Path) -> int | None:
    """The newest run of the catalogue (the killed one), if it got as far as making one."""
    if url.startswith("sqlite:") and not (home / "catalogue.sqlite3").exists():
        return None
    try:
        rows = _runs(url)
    except DBAPIError:  # killed before the catalogue had its tables
        return None
    return max((row[0] for row in rows), default=None)


def _runs(url: str) -> list[tuple[int, str, int]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            query = text("SELECT id, status, pages_fetched FROM runs")
            return [(row[0], row[1], row[2]) for row in connection.execute(query)]
    finally:
        engine.dispose()


def reported_count(home: Path, run: int, name: str) -> int:
    """The last value of count `name` that run `run`'s crawl (of any site) reported."""
    values = [0]
    for path in (home / "logs").glob(f"run-{run}-*.report.jsonl"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        events = [json.loads(line) for line in lines if line.endswith("\n")]
        values += [int(e["counts"][name]) for e in events if "counts" in e]
    return max(values)


def kill_9_tree(pid: int) -> list[int]:
    """Stop `pid` and every process under it (none can start another meanwhile), then kill
    them all with SIGKILL at once; returns their pids."""
    stopped: list[int] = []
    while True:
        tree = [p for p in process_tree(pid) if p not in stopped]
        if not tree:
            break
        for member in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGSTOP)
        stopped += tree
    kill_9_all(stopped)
    return stopped


def archived_article_pages(home: Path, part: str = "/c/") -> set[str]:
    """URLs of the article pages (those with `part` in them) that the WARC files of `home`
    hold a whole 200 response of, `.open` files included, read up to where they break."""
    found = set()
    for path in sorted((home / "warc").glob("*.warc.gz*")):
        with path.open("rb") as stream, contextlib.suppress(Exception):
            # A file a kill cut: what comes before the cut counts, the rest is not there.
            for record in ArchiveIterator(stream):
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                status = record.http_headers.get_statuscode() if record.http_headers else None
                record.content_stream().read()
                if record.rec_type == "response" and status == "200" and part in url:
                    found.add(url)
    return found


def catalogued_articles(url: str) -> set[tuple[str, str]]:
    """Every catalogued article, as (URL, channel)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT url, channel FROM articles"))
            return {(row[0], row[1]) for row in rows}
    finally:
        engine.dispose()


def duplicate_rows(url: str) -> dict[str, int]:
    """Rows the catalogue holds twice: WARC records, captures (by record id), articles."""
    queries = {
        "records": "SELECT record_id FROM records",
        "captures": "SELECT record_id FROM captures",
        "articles": "SELECT url FROM articles",
    }
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            found = {}
            for table, query in queries.items():
                keys = Counter(row[0] for row in connection.execute(text(query)))
                twice = sum(1 for count in keys.values() if count > 1)
                if twice:
                    found[table] = twice
            return found
    finally:
        engine.dispose()
