"""Fixtures shared by the test files: the replica site on loopback, the command line."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import chdir, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from replicas.rmzxb.site import SEEDS_SITE, build_site, not_found_page
from replicas.server import ReplicaServer, Reply

pytest_plugins = ["tests.db_fixtures"]

REPO = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = REPO.parent / "shared" / "reference"
REPLICA_PAGES = REPO / "replicas" / "rmzxb" / "pages"


def reference_file(name: str) -> Path:
    """A reference file: from ../shared/reference beside the checkout (as in CI), else the
    replica's own copy (tests/test_replica_site.py checks the copies are the same)."""
    shared = SHARED_REFERENCE / name
    return shared if shared.exists() else REPLICA_PAGES / name


# The installed console script, beside the interpreter running the tests.
CLI = Path(sys.executable).parent / "cppcc-archive"


@pytest.fixture
def replica() -> Iterator[ReplicaServer]:
    """The replica of 人民政协网 served on 127.0.0.1 on a free port."""
    with ReplicaServer(build_site, not_found_page) as server:
        yield server


REPLICA_SEEDS = (
    SEEDS_SITE
    + """
[sites.rmzxb.channels.xs]
name = "协商"
list = "/xs/index.shtml"
schedule = "*/30 * * * *"

[sites.rmzxb.channels.yw]
name = "要闻"
list = "/yw_n/index.shtml"
"""
)


@pytest.fixture
def replica_seeds(replica: ReplicaServer, tmp_path: Path) -> Path:
    """A seeds file pointing 人民政协网 at the replica."""
    path = tmp_path / "seeds.toml"
    path.write_text(REPLICA_SEEDS.format(base_url=replica.base_url), encoding="utf-8")
    return path


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> CliResult:
    """Run `cppcc-archive ARGS` in a subprocess, as a user would."""
    completed = subprocess.run(
        [str(CLI), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def run_cli_in_process(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """`cppcc-archive ARGS` run by this process: the same `main`, its stdout, stderr and exit
    status, without the second of CPU a new interpreter takes to import it.

    For reading what a test's crawls and services left (articles, runs, the schedule) while
    the test is about something else. What is about the command as a process (signals, exit
    codes of a real process, what a user's shell sees) stays with run_cli and start_cli.
    """
    from scheduler.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)  # the command puts its configuration file's values there
    os.environ.update(env or {})
    try:
        with chdir(REPO), redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit:  # argparse: --help, --version, a usage error
                code = exit.code if isinstance(exit.code, int) else 1
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return CliResult(code, out.getvalue(), err.getvalue())


# Commands that run in the caller's process, start no process and set no signal handler: the
# reads, and the archive operations over files and catalogue. And the global options that take
# a value before the command.
IN_PROCESS_COMMANDS = frozenset(
    {"articles", "show", "runs", "schedule", "health", "verify", "reindex", "reextract", "export"}
)
_VALUED_OPTIONS = frozenset({"--home", "--seeds", "--db", "--config"})


def command_of(args: tuple[str, ...]) -> str | None:
    """The command `cppcc-archive ARGS` runs (`articles`), past the global options."""
    tokens = iter(args)
    for token in tokens:
        if token in _VALUED_OPTIONS:
            next(tokens, None)
        elif not token.startswith("-"):
            return token
    return None


def run_cli_reading(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """run_cli_in_process for a command that needs no process of its own (the reads, verify,
    reindex, reextract, export), run_cli for any other: crawls and the service stay processes.

    For test helpers that crawl and then look at what the crawl left: a command in a new
    process costs a second of CPU for its imports alone, and the suite runs hundreds.
    """
    if command_of(args) in IN_PROCESS_COMMANDS:
        return run_cli_in_process(*args, env=env)
    return run_cli(*args, env=env)


class SlowReplica(ReplicaServer):
    """The replica, with every article page answering after `delay` seconds."""

    def __init__(self, delay: float):
        super().__init__(build_site, not_found_page)
        self.delay = delay

    def reply_for(self, path: str) -> Reply:
        if path.startswith("/c/"):
            time.sleep(self.delay)
        return super().reply_for(path)


@pytest.fixture
def slow_replica(tmp_path: Path) -> Iterator[Path]:
    """A seeds file pointing at a replica slow enough that a crawl of it is caught mid-way."""
    with SlowReplica(delay=0.8) as server:
        seeds = tmp_path / "slow-seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        yield seeds


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`cppcc-archive ARGS` in the background, as the leader of its own process group."""
    return subprocess.Popen(
        [str(CLI), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )


def assert_clean_warc_files(home: Path, *, some: bool = True) -> None:
    """No file left `.open`, and every WARC file reads to its end with its digests right;
    `some`: and there is at least one."""
    assert not list((home / "warc").glob("*.open"))
    paths = list((home / "warc").glob("*.warc.gz"))
    assert paths or not some
    for path in paths:
        with path.open("rb") as stream:
            assert list(ArchiveIterator(stream, check_digests="raise"))


class GatedReplica(ReplicaServer):
    """The replica, with the pages under `gated` held back until the test opens the gate.

    A crawl of them stays mid-way for as long as the test needs, whatever the machine's load.
    """

    def __init__(self, gated: str = "/yw_n/", hold: float = 120):
        super().__init__(build_site, not_found_page)
        self.gated = gated
        self.hold = hold  # seconds a held page waits at most for the gate
        self.gate = threading.Event()

    def reply_for(self, path: str) -> Reply:
        if path.startswith(self.gated):
            self.gate.wait(timeout=self.hold)
        return super().reply_for(path)

    def stop(self) -> None:
        self.gate.set()  # let held requests finish, so the server can shut down
        super().stop()


def collected(outputs: Any) -> list[Any]:
    """What a spider callback yields, an async generator (it awaits catalogue look-ups) or
    not, driven to its end without a reactor."""
    if not hasattr(outputs, "__aiter__"):
        return list(outputs)

    async def drain() -> list[Any]:
        return [output async for output in outputs]

    return asyncio.run(drain())
