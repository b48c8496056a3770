"""Fixtures shared by the test files: the replica site on loopback, the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer

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


REPLICA_SEEDS = """\
[sites.rmzxb]
name = "人民政协网 (replica)"
base_url = "{base_url}"
aliases = ["www.rmzxw.com.cn"]
download_delay = 0
autothrottle = false

[sites.rmzxb.channels.xs]
name = "协商"
list = "/xs/index.shtml"
schedule = "*/30 * * * *"

[sites.rmzxb.channels.yw]
name = "要闻"
list = "/yw_n/index.shtml"
"""


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
