"""pywb beside the web interface: the replay origin, its configuration over the home, its process.

Replay runs in pywb (webrecorder's replay engine), as a process of its own on another port, so
that archived pages — their scripts included — live on an origin apart from the UI's: the
browser's same-origin policy, not our code, keeps an archived script from the UI's pages, its
cookies and its token. The UI frames replays from that origin and never serves archived bytes.

pywb is not a dependency of ours: it needs brotlipy, which replaces the `brotli` module Scrapy
decodes `br` pages with, so it lives in a virtual environment of its own and we run its
`wayback` command. With object storage, it reads the files this host has not got from the
store (boto3 beside it in its environment), by the indexes `cppcc-archive index --storage`
makes of them.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.errors import UsageError
from pipelines.home import ArchiveHome
from pipelines.storage.url import ENDPOINT_ENV, StorageUrl

PYWB_ENV = "CPPCC_PYWB"
COLLECTION = "archive"  # the pywb collection that replay links point into
PR_SET_PDEATHSIG = 1  # prctl(2)
START_TIMEOUT = 60.0  # seconds: pywb loads gevent and its templates before it answers


def replay_path(fetched_at: str, url: str, mode: str = "") -> str:
    """The capture's path in pywb: /COLLECTION/YYYYmmddHHMMSS{mode}/URL. `mode` "" is pywb's
    framed replay (its own banner), "mp_" the page alone, for our frame; "im_" an image."""
    stamp = datetime.fromisoformat(fetched_at).astimezone(UTC)  # pywb's timestamps are UTC
    return f"/{COLLECTION}/{stamp:%Y%m%d%H%M%S}{mode}/{url}"


def find_wayback(given: str | None) -> Path | None:
    """pywb's `wayback`: `given` (a path to it, or to its virtual environment), else the one
    on PATH; None when there is none."""
    if given:
        path = Path(given).expanduser()
        for candidate in (path, path / "bin" / "wayback"):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        raise UsageError(
            f"--pywb {given}: no pywb `wayback` program there; give the path of pywb's "
            "`wayback` (or of the virtual environment pywb is installed in)"
        )
    found = shutil.which("wayback")
    return Path(found) if found else None


def pywb_config(home: ArchiveHome, storage: StorageUrl | None = None) -> str:
    """pywb's config.yaml: one collection over the home's CDXJ indexes and WARC files, and
    with `storage` the stored WARC files too.

    pywb finds a record's file by trying each archive path in turn as a prefix of the index's
    `filename` (pywb/warcserver/resource/pathresolvers.py, PrefixResolver; resolvingloader.py
    goes on to the next when a load fails): HOME/warc/NAME first, then the stored object, so a
    file this host has is read from its disk and one it has not from the store. JSON is YAML,
    so paths are written as JSON strings (any character in them is safe)."""
    archive_paths = [str(home.warc.resolve()) + "/"]
    if storage is not None:
        archive_paths.append(archive_prefix(storage))
    return (
        "collections:\n"
        f"  {COLLECTION}:\n"
        f"    index_paths: {json.dumps(str(home.indexes.resolve()) + '/')}\n"
        f"    archive_paths: {json.dumps(archive_paths, ensure_ascii=False)}\n"
    )


def archive_prefix(storage: StorageUrl) -> str:
    """What pywb puts before a WARC file's name to read it from the store: `s3://BUCKET/PREFIX/`
    (pywb/utils/loaders.py, S3Loader), or a folder's path ending in `/`."""
    if storage.scheme == "file":
        return str(Path(storage.prefix).resolve()) + "/"
    return storage.object_url("")


def pywb_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """pywb's environment: ours, and the S3 endpoint where pywb's boto3 looks for it.

    pywb's S3Loader makes its client with `boto3.client("s3")` and no endpoint: boto3 takes
    one from AWS_ENDPOINT_URL_S3 (botocore/configprovider.py, read since boto3 1.28), so
    CPPCC_S3_ENDPOINT goes there. Credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, a
    profile, an instance role) reach pywb's boto3 by the same chain as ours, from the
    environment it inherits."""
    env = dict(environ)
    endpoint = environ.get(ENDPOINT_ENV)
    if endpoint:
        env["AWS_ENDPOINT_URL_S3"] = endpoint
    return env


@dataclass(frozen=True)
class RunningReplay:
    """pywb, started: where it answers and where it logs."""

    origin: str
    log: Path


@contextmanager
def pywb_process(
    wayback: Path, home: ArchiveHome, host: str, port: int, storage: StorageUrl | None = None
) -> Iterator[RunningReplay]:
    """pywb serving the home (and `storage`'s files) on host:port until the block ends;
    UsageError if it cannot start."""
    with tempfile.TemporaryDirectory(prefix="cppcc-replay-") as folder:
        workdir = Path(folder)
        (workdir / "config.yaml").write_text(pywb_config(home, storage), encoding="utf-8")
        log = workdir / "pywb.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [str(wayback), "--bind", host, "--port", str(port)],
                cwd=workdir,  # wayback reads ./config.yaml
                stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                env=pywb_environment(os.environ), preexec_fn=_die_with_parent,
            )  # fmt: skip
        origin = f"http://{_shown(host)}:{port}"
        try:
            _wait_until_answering(origin, process, log)
            yield RunningReplay(origin, log)
        finally:
            _stop(process)


def _wait_until_answering(origin: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until pywb's collection answers (its 404 for a URL never archived counts as an answer)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    probe = f"{origin}/{COLLECTION}/"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UsageError(
                f"replay: pywb exited with status {process.returncode} before answering "
                f"({_last_line(log)}); is its port taken? --replay-port chooses another"
            )
        try:
            with opener.open(probe, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # pywb answered, if only to say no
        except OSError:
            time.sleep(0.2)
    _stop(process)
    raise UsageError(f"replay: pywb did not answer on {origin} within {START_TIMEOUT:.0f} s")


def _die_with_parent() -> None:
    """In pywb's process before it starts (Linux): be sent SIGTERM when the web process dies,
    even by SIGKILL, so no orphaned pywb keeps the replay port from the next start."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _last_line(log: Path) -> str:
    said = log.read_text(encoding="utf-8", errors="replace").splitlines()
    lines = [line for line in said if line.strip()]
    return lines[-1] if lines else "it said nothing"


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host
