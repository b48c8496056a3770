"""`cppcc-archive demo`: crawl the bundled replica of 人民政协网 on 127.0.0.1, the normal way."""

from __future__ import annotations

import argparse
import errno
import shlex
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from pipelines.errors import CrawlError
from scheduler.cli.output import print_table
from scheduler.cli.support import Config
from scheduler.timing import load_seeds

if TYPE_CHECKING:
    from replicas.server import ReplicaServer

SEEDS_NAME = "demo-seeds.toml"
SEEDS_HEADER = "# Written by `cppcc-archive demo`: the replica of 人民政协网 served on loopback.\n"


def run_demo(home: Path | None, database_url: str | None, out: TextIO, err: TextIO) -> int:
    """Serve the replica, crawl both its channels into `home` (a new folder when None)."""
    # The launcher loads SQLAlchemy and Alembic: imported when the demo runs, not for --help.
    from scheduler.launcher import launch_crawl
    from scheduler.progress import ProgressPrinter, describe_counts

    home = home or Path(tempfile.mkdtemp(prefix="cppcc-archive-demo-"))
    seeds_path = home / SEEDS_NAME
    try:
        home.mkdir(parents=True, exist_ok=True)
        server = _start_replica(_previous_port(seeds_path), err)
    except OSError as exc:
        raise CrawlError(f"cannot run the demo in {home}: {exc.strerror or exc}") from None
    database_url = database_url or f"sqlite:///{home / 'catalogue.sqlite3'}"
    try:
        seeds_path.write_text(_demo_seeds(server.base_url), encoding="utf-8")
        seeds = load_seeds(seeds_path)
        err.write(f"serving the replica of 人民政协网 at {server.base_url}\n")
        progress = ProgressPrinter(err)
        result = launch_crawl(
            seeds,
            seeds.channels(),
            home=home,
            database_url=database_url,
            on_progress=progress.update,
        )
        progress.close()
    finally:
        server.stop()
    _report(home, database_url, result.status, describe_counts(result.counts), result.error, out)
    return 0 if result.status == "finished" else 1


def _demo_seeds(base_url: str) -> str:
    """The demo's seeds file: the replica of 人民政协网 at `base_url`."""
    from replicas.sites import REPLICA_SITES

    return SEEDS_HEADER + REPLICA_SITES["rmzxb"].seeds.format(base_url=base_url)


def _start_replica(port: int, err: TextIO) -> ReplicaServer:
    """The replica on `port`, or on a free port when another program holds that one."""
    from replicas.rmzxb.site import build_site, not_found_page
    from replicas.server import ReplicaServer

    try:
        return _started(ReplicaServer(build_site, not_found_page, port=port))
    except OSError as exc:
        if not port or exc.errno != errno.EADDRINUSE:
            raise
    err.write(
        f"port {port} of the earlier demo in this home is taken: serving on a free port, "
        "so this crawl's articles are archived under new URLs\n"
    )
    return _started(ReplicaServer(build_site, not_found_page))


def _started(server: ReplicaServer) -> ReplicaServer:
    server.start()
    return server


def _previous_port(seeds_path: Path) -> int:
    """The port an earlier demo in this home used, so its article URLs stay the same."""
    if not seeds_path.exists():
        return 0
    base_url = load_seeds(seeds_path).site("rmzxb").base_url
    return urlsplit(base_url).port or 0


def _report(
    home: Path, database_url: str, status: str, counts: str, error: str | None, out: TextIO
) -> None:
    warcs = sorted((home / "warc").glob("*.warc.gz"))
    out.write(f"demo crawl {status}: {counts}" + (f" ({error})" if error else "") + "\n")
    out.write(f"archive home: {home}\nWARC files: {', '.join(w.name for w in warcs) or 'none'}\n")
    records = _newest_articles(database_url)
    if records:
        out.write("\nArticles archived (newest first):\n")
        print_table(records, ("id", "published_at", "channel", "title"), out)
    # The demo's seeds go with every command: without them `schedule` lists the real sites'
    # channels and `show` of an alias-host URL cannot find the replica's articles.
    options = f"--home {shlex.quote(str(home))} --seeds {shlex.quote(str(home / SEEDS_NAME))}"
    if not database_url.startswith(f"sqlite:///{home}"):
        options += f" --db {shlex.quote(database_url)}"
    first = records[0]["id"] if records else 1
    commands = ["articles", f"show {first} --format text", "runs", "schedule"]
    out.write("\nLook at what was archived:\n")
    out.writelines(f"  cppcc-archive {options} {command}\n" for command in commands)
    if warcs:
        out.write(f"  warcio index {warcs[0]}\n")


def _newest_articles(database_url: str) -> list[dict[str, object]]:
    from pipelines.catalogue.engine import make_engine, make_session_factory
    from pipelines.catalogue.queries import list_articles
    from pipelines.catalogue.views import article_summary

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return [
                article_summary(row)
                for row in list_articles(session, limit=None, summary_only=True)
            ]
    finally:
        engine.dispose()


NAME = "demo"
HELP = (
    "crawl the bundled replica of 人民政协网 on 127.0.0.1 into a new home, "
    "without touching the real sites"
)


def run(config: Config, args: argparse.Namespace) -> int:
    """Crawl the bundled replica site on loopback into a new (or the given) home."""
    # Without --home the demo makes a new temporary home rather than filling ./archive.
    return run_demo(config.home if args.home else None, config.database_url, sys.stdout, sys.stderr)
