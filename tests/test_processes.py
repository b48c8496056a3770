"""Whether a process is alive: what locks and `.open` WARC files are judged by."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from pipelines.processes import pid_is_alive


def test_running_processes_are_alive() -> None:
    assert pid_is_alive(os.getpid())
    assert pid_is_alive(1)  # init: alive, whether or not we may signal it


def test_process_groups_are_not_processes() -> None:
    assert not pid_is_alive(0)
    assert not pid_is_alive(-1)


def test_a_reaped_process_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_is_alive(child.pid)


def test_a_zombie_is_dead() -> None:
    # Exited but not reaped: what a crawl killed with its service becomes in a container
    # whose first process does not reap orphans.
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while pid_is_alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert not pid_is_alive(child.pid)
        os.kill(child.pid, 0)  # it still exists, as a zombie
    finally:
        child.wait()
