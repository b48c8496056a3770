"""pywb's tools (`wayback`, `wb-manager`) for the replay tests, from a virtual environment of
their own.

pywb requires brotlipy, which installs a `brotli` module over the one Scrapy decodes `br`
bodies with (brotlipy's decompressor has no `process`): installed beside the crawler, pywb
made every br page of a crawl fail to download. So pywb is not in the test extra; the first
test that needs it makes `.venv-pywb` at the checkout's top (or where CPPCC_TEST_PYWB_VENV
says) and installs it there, once, whichever test worker comes first.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYWB_REQUIREMENT = "pywb>=2.8,<3"
INSTALL_TIMEOUT = 600  # seconds: gevent and pywb's other wheels from the package index


def pywb_tool(name: str) -> Path:
    """The path of pywb's command `name`, installing pywb in its environment first if needed."""
    venv = Path(os.environ.get("CPPCC_TEST_PYWB_VENV", REPO / ".venv-pywb"))
    tool = venv / "bin" / name
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two workers must not build one venv at once
        if not (venv / "bin" / "wayback").exists():
            _install(venv)
    return tool


def _install(venv: Path) -> None:
    steps = (
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(venv / "bin" / "pip"), "install", "--quiet", PYWB_REQUIREMENT],
    )
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        if done.returncode != 0:
            # A failure, not a skip: the replay tests are how we know pywb opens our archive.
            pytest.fail(f"could not install {PYWB_REQUIREMENT} in {venv}: {done.stderr[-2000:]}")
