"""Workers on two "hosts" (two homes), one PostgreSQL catalogue, WARC files in S3 (moto's
server on loopback): what each worker wrote is stored, committed, and readable from a third
home that holds no WARC file at all (verify, export).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
from pathlib import Path

from replicas.server import ReplicaServer
from tests.conftest import CLI, REPO, run_cli, run_cli_reading
from tests.s3_server import S3Server, s3_server  # noqa: F401 (the fixture, used by name)
from tests.test_export import WACZ
from tests.test_queue import LoggedReplica, jobs_left, rows, seeds_for, wait_for

BUCKET = "cppcc-archive-queue"
STORAGE = f"s3://{BUCKET}/warc"


def start_worker(home: Path, seeds: Path, db: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    home.mkdir(parents=True)
    with (home.parent / f"{home.name}.log").open("w") as log:
        return subprocess.Popen(
            [str(CLI), "--home", str(home), "--seeds", str(seeds), "--db", db, "worker",
             "--lease", "4", "--storage", STORAGE],
            stdout=subprocess.DEVNULL, stderr=log, cwd=REPO, env={**os.environ, **env},
        )  # fmt: skip


def test_workers_store_their_warc_files_and_a_home_without_files_reads_them(
    postgres_url: str,
    s3_server: S3Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    client = s3_server.client()
    client.create_bucket(Bucket=BUCKET)
    with LoggedReplica("rmzxb") as rmzxb, LoggedReplica("cppcc") as cppcc:
        replicas: dict[str, ReplicaServer] = {"rmzxb": rmzxb, "cppcc": cppcc}
        seeds = seeds_for(replicas, tmp_path / "seeds.toml")
        queued = run_cli("--seeds", str(seeds), "--db", postgres_url, "crawl", "--queue",
                         "rmzxb", "cppcc")  # fmt: skip
        assert queued.returncode == 0, queued.stderr
        homes = [tmp_path / "host1", tmp_path / "host2"]
        workers = [start_worker(home, seeds, postgres_url, s3_server.env) for home in homes]
        try:
            wait_for(lambda: jobs_left(postgres_url) == 0, 120, "every job done")
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            exits = [worker.wait(timeout=90) for worker in workers]
    logs = [(home.parent / f"{home.name}.log").read_text() for home in homes]
    assert exits == [0, 0], logs
    assert {status for (status,) in rows(postgres_url, "SELECT status FROM runs")} == {"finished"}

    # Every file each worker closed is in the bucket, committed with its size and SHA-256.
    local = {p.name: p for home in homes for p in (home / "warc").glob("*.warc.gz")}
    assert all(list((home / "warc").glob("*.warc.gz")) for home in homes), logs
    stored = {
        name: (size, sha256, committed is not None)
        for name, size, sha256, committed in rows(
            postgres_url, "SELECT name, size, sha256, committed_at FROM warc_files"
        )
    }
    assert sorted(stored) == sorted(local)
    for name, path in local.items():
        body = client.get_object(Bucket=BUCKET, Key=f"warc/{name}")["Body"].read()
        assert body == path.read_bytes()
        assert stored[name] == (len(body), hashlib.sha256(body).hexdigest(), True)

    # A third home with no WARC file: verify reads the stored objects and finds them whole,
    # and a WACZ exported from them alone validates.
    reader = tmp_path / "reader"
    where = ("--home", str(reader), "--seeds", str(seeds), "--db", postgres_url)
    checked = run_cli_reading(*where, "verify", "--storage", STORAGE, "--format", "json",
                              env=s3_server.env)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["problems"] == []
    out = tmp_path / "all.wacz"
    exported = run_cli_reading(*where, "export", "wacz", str(out), "--storage", STORAGE,
                               env=s3_server.env)  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert WACZ.exists(), f"{WACZ}: the test extra's `wacz` is not installed"
    check = subprocess.run(
        [str(WACZ), "validate", "-f", str(out)], capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0 and "Validation succeeded" in check.stdout, check.stdout
