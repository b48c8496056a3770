"""`cppcc-archive replica serve`: the bundled replica sites on 127.0.0.1, to try crawl and serve."""

from __future__ import annotations

import argparse
import errno
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import UsageError
from replicas.sites import REPLICA_SITES
from scheduler.cli.support import CliParser, Config, add_command, non_negative_int

if TYPE_CHECKING:
    from replicas.server import ReplicaServer

SERVE_HELP = (
    "serve the bundled replicas of the sites on 127.0.0.1 until Ctrl-C, and print a seeds "
    "file pointing the spiders at them (for trying `crawl` and `serve` without the real sites)"
)


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = commands.add_parser(
        "replica",
        help="the bundled replica sites, served on loopback",
        description="the bundled replica sites, served on loopback",
    )
    actions = sub.add_subparsers(
        dest="replica_command", required=True, metavar="ACTION", parser_class=CliParser
    )
    serve = add_command(actions, common, "serve", SERVE_HELP, cmd_replica_serve)
    serve.add_argument(
        "sites",
        nargs="*",
        metavar="SITE",
        help=f"which replicas ({', '.join(REPLICA_SITES)}; default all of them)",
    )
    serve.add_argument(
        "--port",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="port of the first site, the next sites on N+1, N+2 (default: free ports)",
    )
    serve.add_argument(
        "--write-seeds",
        metavar="FILE",
        help="write the seeds file to FILE instead of stdout",
    )


def cmd_replica_serve(config: Config, args: argparse.Namespace) -> int:
    """Serve the chosen replicas until interrupted; their seeds on stdout or in a file."""
    sites = _chosen(args.sites)
    servers: list[ReplicaServer] = []
    try:
        for number, key in enumerate(sites):
            port = args.port + number if args.port else 0
            servers.append(_start(REPLICA_SITES[key].server(port), port))
        seeds = "\n".join(
            REPLICA_SITES[key].seeds.format(base_url=server.base_url)
            for key, server in zip(sites, servers, strict=True)
        )
        _publish(seeds, args.write_seeds)
        for key, server in zip(sites, servers, strict=True):
            print(f"serving {REPLICA_SITES[key].name} ({key}) at {server.base_url}",
                  file=sys.stderr)  # fmt: skip
        print("press Ctrl-C to stop", file=sys.stderr, flush=True)
        while True:  # the servers run in threads; Ctrl-C (KeyboardInterrupt) ends this
            signal.pause()
    finally:
        for server in servers:
            server.stop()


def _chosen(given: list[str]) -> list[str]:
    unknown = [key for key in given if key not in REPLICA_SITES]
    if unknown:
        raise UsageError(
            f"no replica of a site {unknown[0]!r} (replicas: {', '.join(REPLICA_SITES)})"
        )
    return list(dict.fromkeys(given)) or list(REPLICA_SITES)


def _start(server: ReplicaServer, port: int) -> ReplicaServer:
    try:
        server.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} on 127.0.0.1 is taken: give another --port, or none for free ports"
            ) from None
        raise UsageError(f"cannot serve on port {port}: {exc.strerror or exc}") from None
    return server


def _publish(seeds: str, path: str | None) -> None:
    if path is None:
        sys.stdout.write(seeds)
        sys.stdout.flush()
        return
    target = Path(path)
    # Written aside and renamed, so whoever waits for the file never reads half of it.
    temp = target.with_name(f".{target.name}.tmp")
    try:
        temp.write_text(seeds, encoding="utf-8")
        temp.replace(target)
    except OSError as exc:
        raise UsageError(f"cannot write the seeds file {target}: {exc.strerror or exc}") from None
