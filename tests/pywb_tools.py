"""pywb's tools (`wayback`, `wb-manager`) for the replay tests, from a virtual environment of
their own.

pywb requires brotlipy, which installs a `brotli` module over the one Scrapy decodes `br`
bodies with (brotlipy's decompressor has no `process`): installed beside the crawler, pywb
made every br page of a crawl fail to download. So pywb is not in the test extra; the first
test that needs it makes `.venv-pywb` at the checkout's top (or where CPPCC_TEST_PYWB_VENV
says) and installs it there, once, whichever test worker comes first. boto3 goes beside it: pywb
reads `s3://` WARC files through it (pywb/utils/loaders.py, S3Loader), as a web host without
local files replays the stored ones. An environment made before a requirement was added gets
it installed on first use.
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
# AWS_ENDPOINT_URL_S3, which pywb's S3 client reaches its endpoint by, is read by boto3 1.28+;
# the bound is the project's own.
REQUIREMENTS = (PYWB_REQUIREMENT, "boto3>=1.35,<2")
STAMP = "cppcc-requirements.txt"  # in the environment: what was installed in it, one a line
INSTALL_TIMEOUT = 600  # seconds: gevent and pywb's other wheels from the package index


def pywb_tool(name: str) -> Path:
    """The path of pywb's command `name`, installing pywb in its environment first if needed."""
    venv = Path(os.environ.get("CPPCC_TEST_PYWB_VENV", REPO / ".venv-pywb"))
    tool = venv / "bin" / name
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two workers must not build one venv at once
        if not (venv / "bin" / "wayback").exists():
            _run([sys.executable, "-m", "venv", "--clear", str(venv)], venv)
        stamp, wanted = venv / STAMP, "\n".join(REQUIREMENTS) + "\n"
        if not stamp.exists() or stamp.read_text() != wanted:
            _run([str(venv / "bin" / "pip"), "install", "--quiet", *REQUIREMENTS], venv)
            stamp.write_text(wanted)
    return tool


def _run(step: list[str], venv: Path) -> None:
    done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    if done.returncode != 0:
        # A failure, not a skip: the replay tests are how we know pywb opens our archive.
        pytest.fail(f"could not install {' '.join(REQUIREMENTS)} in {venv}: {done.stderr[-2000:]}")
