"""`cppcc-archive demo`: crawl the bundled replica of 人民政协网 on 127.0.0.1, the normal way."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TextIO

from crawler.seeds import load_seeds
from pipelines.catalogue.engine import default_sqlite_url
from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer
from scheduler.launcher import launch_crawl
from scheduler.progress import ProgressPrinter, describe_counts

DEMO_SEEDS = """\
# Written by `cppcc-archive demo`: the replica of 人民政协网 served on loopback.
[sites.rmzxb]
name = "人民政协网 (replica)"
base_url = "{base_url}"
aliases = ["www.rmzxw.com.cn"]
download_delay = 0
autothrottle = false

[sites.rmzxb.channels.xs]
name = "协商"
list = "/xs/index.shtml"

[sites.rmzxb.channels.yw]
name = "要闻"
list = "/yw_n/index.shtml"
"""


def run_demo(home: Path | None, out: TextIO, err: TextIO) -> int:
    """Serve the replica, crawl both its channels into `home` (a new folder when None)."""
    home = home or Path(tempfile.mkdtemp(prefix="cppcc-archive-demo-"))
    home.mkdir(parents=True, exist_ok=True)
    with ReplicaServer(build_site, not_found_page) as server:
        seeds_path = home / "demo-seeds.toml"
        seeds_path.write_text(DEMO_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        seeds = load_seeds(seeds_path)
        err.write(f"serving the replica of 人民政协网 at {server.base_url}\n")
        progress = ProgressPrinter(err)
        result = launch_crawl(
            seeds,
            seeds.channels(),
            home=home,
            database_url=default_sqlite_url(home),
            on_progress=progress.update,
        )
        progress.close()
    out.write(_report(home, result.status, describe_counts(result.counts), result.error))
    return 0 if result.status == "finished" else 1


def _report(home: Path, status: str, counts: str, error: str | None) -> str:
    warcs = sorted((home / "warc").glob("*.warc.gz"))
    lines = [
        f"demo crawl {status}: {counts}" + (f" ({error})" if error else ""),
        f"archive home: {home}",
        f"WARC files: {', '.join(w.name for w in warcs) or 'none'}",
        "",
        "Look at what was archived:",
        f"  cppcc-archive --home {home} articles",
        f"  cppcc-archive --home {home} show 1 --format text",
        f"  cppcc-archive --home {home} runs",
    ]
    if warcs:
        lines.append(f"  warcio index {warcs[0]}")
    return "\n".join(lines) + "\n"
