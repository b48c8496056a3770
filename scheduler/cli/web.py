"""`cppcc-archive web`: the web interface and JSON API of the catalogue, in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from pipelines.errors import UsageError
from pipelines.storage.url import storage_url_from
from scheduler.cli.storage import add_storage, apply_storage
from scheduler.cli.support import EXIT_OK, Config, catalogue_sessions, non_negative_int

NAME = "web"
HELP = "serve the web interface and the JSON API of the catalogue, and replay through pywb"
# Here as well as in web.settings: this module must load (for --help) without the web extra.
TOKEN_ENV = "CPPCC_WEB_TOKEN"
PYWB_ENV = "CPPCC_PYWB"
REPLAY_URL_ENV = "CPPCC_REPLAY_URL"


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `web`."""
    sub.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sub.add_argument(
        "--port", type=_port, default=8080, help="port to listen on (default 8080; 0: any free)"
    )
    sub.add_argument(
        "--replay-port",
        type=_port,
        default=8081,
        help="port of the pywb replay on the same host, which replay links point to "
        "(default 8081; 0: any free)",
    )
    sub.add_argument(
        "--pywb",
        metavar="PATH",
        help=f"pywb's `wayback` program, or the virtual environment pywb is installed in "
        f"(default: ${PYWB_ENV}, [web] pywb, else `wayback` on PATH; without it, no replay)",
    )
    sub.add_argument(
        "--queue",
        action="store_true",
        help="POST /api/crawls queues crawl jobs for `cppcc-archive worker` on any host (a "
        "PostgreSQL catalogue) instead of crawling on this host",
    )
    sub.add_argument(
        "--replay-url",
        metavar="URL",
        help="where browsers reach the replay, behind a reverse proxy (default: "
        f"${REPLAY_URL_ENV}, [web] replay_url, else http://HOST:REPLAY_PORT); another origin "
        "than the UI's",
    )
    add_storage(
        sub,
        "pywb reads the WARC files HOME/warc lacks from there, by the indexes `index --storage` "
        "makes of them",
    )


def run(config: Config, args: argparse.Namespace) -> int:
    """Serve the pages and the API, and pywb beside them, until Ctrl-C or SIGTERM."""
    try:
        import uvicorn

        from web.app import create_app
        from web.replay import find_wayback, pywb_process
        from web.settings import WebSettings, is_loopback
    except ImportError as exc:
        raise UsageError(
            f"the web interface needs its packages ({exc.name} is missing): "
            "pip install 'cppcc-archive[web]'"
        ) from None
    token = os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host) and token is None:
        raise UsageError(
            f"--host {args.host} is not loopback: set {TOKEN_ENV} (every request will need "
            "it), or serve on 127.0.0.1 behind a reverse proxy"
        )
    replay_url = args.replay_url or os.environ.get(REPLAY_URL_ENV) or None
    _check_replay_url(replay_url)
    if args.queue:
        from scheduler.queue.database import queue_conninfo

        queue_conninfo(config.catalogue_url())  # a catalogue without the queue: one line now
    wayback = find_wayback(args.pywb or os.environ.get(PYWB_ENV) or None)
    apply_storage(args)
    storage = storage_url_from(os.environ)
    seeds = config.seeds()
    with catalogue_sessions(config) as sessions, ExitStack() as beside:
        listening = _bind(args.host, args.port)
        port = listening.getsockname()[1]
        replay_port = args.replay_port
        if wayback is not None:
            replay_port = replay_port or _free_port(args.host)
            running = beside.enter_context(
                pywb_process(wayback, config.archive, args.host, replay_port, storage)
            )
            replay = f"replay {running.origin}/ by pywb"
            if storage is not None:
                replay += f", of HOME/warc and {storage}"
        else:
            replay = (
                "replay off: no pywb (install it in a virtual environment of its own and give "
                "--pywb PATH)"
            )
        settings = WebSettings(
            home=config.home, database_url=config.catalogue_url(),
            seeds_path=config.seeds_path, host=args.host, port=port, replay_port=replay_port,
            token=token, replay_url=replay_url, queue=args.queue,
        )  # fmt: skip
        app = create_app(settings, sessions, seeds)
        server = _server_class()(uvicorn.Config(app, log_level="warning", access_log=False))
        writes = "on" if token else f"off (set {TOKEN_ENV})"
        print(
            f"cppcc-archive: serving http://{_shown(args.host)}:{port}/ (API /api/, "
            f"/openapi.json; writes {writes}; {replay}); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        server.run(sockets=[listening])
    print("cppcc-archive: web: stopped", file=sys.stderr)
    return EXIT_OK


def _check_replay_url(url: str | None) -> None:
    from urllib.parse import urlsplit

    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"--replay-url {url}: not an http(s) URL; give where browsers reach pywb, "
            "like https://replay.example.org"
        )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def add_beside_options(sub: argparse.ArgumentParser) -> None:
    """`serve --web [--web-host H] [--web-port P] [--replay-port R]`: the web interface beside
    the service."""
    sub.add_argument(
        "--web", action="store_true", help="serve the web interface too (as `web`, beside it)"
    )
    sub.add_argument("--web-host", default="127.0.0.1", help="with --web: its address")
    sub.add_argument("--web-port", type=_port, default=8080, help="with --web: its port")
    sub.add_argument("--replay-port", type=_port, default=8081, help="with --web: pywb's port")
    sub.add_argument("--pywb", metavar="PATH", help="with --web: pywb's `wayback` (see `web`)")


@contextmanager
def web_beside(config: Config, args: argparse.Namespace) -> Iterator[None]:
    """With `--web`: `cppcc-archive web` in a process of its own while the service runs.

    Its own process keeps uvicorn apart from APScheduler and the crawls; it is stopped when
    the service stops. One that cannot start (its port taken) stops the service from starting.
    """
    if not getattr(args, "web", False):
        yield
        return
    _ensure_catalogue(config.catalogue_url())  # the service would make it; `web` needs it now
    argv = [sys.executable, "-c", "import sys; from scheduler.cli import main; sys.exit(main())",
            "--home", str(config.home), "--db", config.catalogue_url()]  # fmt: skip
    if config.seeds_path:
        argv += ["--seeds", config.seeds_path]
    argv += ["web", "--host", args.web_host, "--port", str(args.web_port),
             "--replay-port", str(args.replay_port)]  # fmt: skip
    if args.pywb:
        argv += ["--pywb", args.pywb]
    if getattr(args, "dispatch", False):
        argv += ["--queue"]  # crawls asked for over the API go to the workers too
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL)  # its lines go to our stderr
    try:
        _wait_until_listening(process, args.web_host, args.web_port)
        yield
    finally:
        _stop(process)


def _ensure_catalogue(url: str) -> None:
    from pipelines.catalogue.engine import make_engine
    from pipelines.catalogue.schema import ensure_schema

    engine = make_engine(url)
    try:
        ensure_schema(engine)
    finally:
        engine.dispose()


def _wait_until_listening(process: subprocess.Popen[bytes], host: str, port: int) -> None:
    """Until our web process answers on host:port (not any program that holds the port)."""
    import json
    import urllib.request

    url = f"http://{_shown(host)}:{port}/openapi.json"
    token = os.environ.get(TOKEN_ENV)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UsageError(f"the web interface did not start (exit {process.returncode})")
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=2) as answer:
                if json.loads(answer.read())["info"]["title"] == "cppcc-archive":
                    return
        except (OSError, ValueError, KeyError, TypeError):
            pass  # not up yet (or another program's): ask again until it exits or answers
        time.sleep(0.1)
    raise UsageError(f"the web interface did not answer on {host}:{port} within 30 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a port taken is one line, not a traceback."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        listening = socket.socket(info[0], socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(info[4])
        listening.listen(128)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return listening


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _port(text: str) -> int:
    value = non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return value


def _server_class() -> Any:
    import uvicorn

    class QuietStop(uvicorn.Server):
        """uvicorn, stopping on SIGINT/SIGTERM without raising the signal again afterwards:
        a stop asked for is a clean exit (status 0), as `serve` does."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    return QuietStop
