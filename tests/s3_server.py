"""A real S3 endpoint on loopback for the storage tests: moto's server, as a process of its own.

moto's server speaks S3's HTTP API (conditional puts included: If-None-Match: * answers 412
when the key exists); the tests reach it through boto3 as the archive does, by endpoint URL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class S3Server:
    endpoint: str
    env: dict[str, str]  # what a process needs to reach it: endpoint, credentials, region

    def client(self) -> Any:
        import boto3

        session = boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        )
        return session.client("s3", endpoint_url=self.endpoint)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_answering(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto's server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto's server did not answer on port {port} in {timeout} s")


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port, for the tests of one module."""
    port = _free_port()
    log = tmp_path_factory.mktemp("s3") / "moto.log"
    nowhere = str(Path(log).parent / "no-aws-config")  # never the machine's own ~/.aws
    env = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": nowhere,
        "AWS_SHARED_CREDENTIALS_FILE": nowhere,
        "CPPCC_S3_ENDPOINT": f"http://127.0.0.1:{port}",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    try:
        _wait_answering(port, process)
        yield S3Server(f"http://127.0.0.1:{port}", env)
    finally:
        process.terminate()
        process.wait(timeout=30)
