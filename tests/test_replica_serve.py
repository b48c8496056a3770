"""`cppcc-archive replica serve`: the bundled replicas on loopback, crawled with its seeds."""

from __future__ import annotations

import json
import signal
import socket
import time
import urllib.request
from pathlib import Path

from pipelines.seeds import load_seeds
from tests.conftest import run_cli, start_cli


def _wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was not written"
        time.sleep(0.1)


def test_replica_serve_is_crawled_with_its_seeds_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    seeds = tmp_path / "replica-seeds.toml"
    server = start_cli("replica", "serve", "rmzxb", "cppcc", "--write-seeds", str(seeds))
    try:
        _wait_for(seeds)
        loaded = load_seeds(seeds)
        assert {site.key for site in loaded.sites} == {"rmzxb", "cppcc"}
        base = loaded.site("rmzxb").base_url
        assert base.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(base + "/yw_n/index.shtml", timeout=10) as reply:
            assert reply.status == 200 and "要闻" in reply.read().decode("utf-8")
        home = ("--home", str(tmp_path / "home"), "--seeds", str(seeds))
        crawl = run_cli(*home, "crawl", "rmzxb/yw")
        assert crawl.returncode == 0, crawl.stderr
        listed = json.loads(run_cli(*home, "articles", "--format", "json").stdout)
        assert listed and all(article["url"].startswith(base) for article in listed)
    finally:
        server.send_signal(signal.SIGINT)
        stdout, stderr = server.communicate(timeout=30)
    assert server.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "cppcc-archive: interrupted"
    assert "Traceback" not in stderr and stdout == ""


def test_replica_serve_prints_the_seeds_on_stdout(tmp_path: Path) -> None:
    with start_cli("replica", "serve", "hnzx") as server:  # closes its pipes
        assert server.stdout is not None and server.stderr is not None
        try:
            first = server.stdout.readline()  # the seeds are written once the server answers
        finally:
            server.send_signal(signal.SIGINT)
            # Read through the text wrappers: communicate() would skip what readline buffered.
            rest = server.stdout.read()
            server.stderr.read()
            server.wait(timeout=30)
    seeds = tmp_path / "seeds.toml"
    seeds.write_text(first + rest, encoding="utf-8")
    assert [site.key for site in load_seeds(seeds).sites] == ["hnzx"]
    assert server.returncode == 130


def test_an_unknown_site_or_a_taken_port_is_one_line_and_exit_2() -> None:
    unknown = run_cli("replica", "serve", "rmzxb", "nosuch")
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines() == [
        "cppcc-archive: error: no replica of a site 'nosuch' "
        "(replicas: rmzxb, cppcc, hnzx, shszx, gdszx)"
    ]
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        taken = run_cli("replica", "serve", "--port", str(port))
    assert taken.returncode == 2
    [line] = taken.stderr.splitlines()
    assert line.startswith("cppcc-archive: error: ") and f"port {port}" in line
