"""Stopping a crawl subprocess: one polite signal, then firmer ones, and at a deadline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from scheduler.stopping import CrawlStopper

STUBBORN = """
import signal, sys, time
def note(signum, frame):
    print(signal.Signals(signum).name, flush=True)
signal.signal(signal.SIGINT, note)
signal.signal(signal.SIGTERM, note)
print("ready", flush=True)
time.sleep(30)
"""


@pytest.fixture
def stubborn() -> Iterator[subprocess.Popen[bytes]]:
    with subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE) as child:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        yield child
        child.kill()


def next_signal(child: subprocess.Popen[bytes]) -> str:
    """The next signal the child says it caught (waits for it, however loaded the machine)."""
    assert child.stdout is not None
    return child.stdout.readline().decode().strip()


def signals_received(child: subprocess.Popen[bytes]) -> list[str]:
    child.wait(timeout=5)
    assert child.stdout is not None
    return child.stdout.read().decode().split()


def test_stopper_asks_politely_once_then_firmly_then_kills(
    stubborn: subprocess.Popen[bytes],
) -> None:
    stopper = CrawlStopper(grace=60)
    stopper.attach(stubborn)
    stopper.request("signal")  # one SIGINT: Scrapy's graceful stop
    assert next_signal(stubborn) == "SIGINT"
    stopper.tick()  # within the grace period: nothing more
    stopper.request("signal")  # asked again: SIGTERM, Scrapy's "stop now"
    assert next_signal(stubborn) == "SIGTERM"
    stopper.request("signal")  # and again: SIGKILL
    assert signals_received(stubborn) == []
    assert stubborn.returncode == -signal.SIGKILL
    assert stopper.reason == "signal"


def test_stopper_stops_at_the_deadline_and_escalates_after_the_grace_period(
    stubborn: subprocess.Popen[bytes],
) -> None:
    stopper = CrawlStopper(deadline=time.monotonic() + 0.2, grace=1.0)
    stopper.attach(stubborn)
    stopper.tick()  # before the deadline
    while stubborn.poll() is None:
        time.sleep(0.05)
        stopper.tick()
    assert signals_received(stubborn) == ["SIGINT", "SIGTERM"]
    assert stubborn.returncode == -signal.SIGKILL
    assert stopper.reason == "time_limit"


def test_signals_to_the_launcher_go_to_the_crawl_while_it_runs(
    stubborn: subprocess.Popen[bytes],
) -> None:
    stopper = CrawlStopper()
    stopper.attach(stubborn)
    before = signal.getsignal(signal.SIGTERM)
    with stopper.forwarding_signals():
        os.kill(os.getpid(), signal.SIGTERM)  # would end the launcher without the handler
        assert next_signal(stubborn) == "SIGINT"
    assert signal.getsignal(signal.SIGTERM) == before
    stubborn.kill()
    assert signals_received(stubborn) == []
    assert stopper.reason == "signal"
