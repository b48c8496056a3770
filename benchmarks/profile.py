"""Profile a crawl with py-spy and say where its time goes: top functions, self and inclusive."""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_LINE = re.compile(r":\d+\)$")
# Our code: what the inclusive ranking shows, so the table names our components.
_OURS = ("pipelines/", "crawler/")
# Leaves where a thread waits (an idle thread-pool worker): not where time goes.
_IDLE = (
    "Condition.wait (threading.py)",
    "Event.wait (threading.py)",
    "Queue.get (queue.py)",
    # The catalogue writer's sender waiting on its queue, its receiver on the pipe.
    "CatalogueWriter._send (pipelines/catalogue/writer.py)",
    "Connection._recv (multiprocessing/connection.py)",
)


@dataclass(frozen=True)
class Profile:
    """Samples of the crawl process: by leaf function (self) and by our functions on the stack."""

    samples: int
    self_time: Counter[str]
    inclusive: Counter[str]

    def top(self, counter: Counter[str], count: int) -> list[tuple[str, float]]:
        return [(name, 100 * n / self.samples) for name, n in counter.most_common(count)]


def py_spy() -> str | None:
    """The py-spy executable beside this Python (the `bench` extra), or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def record_command(py_spy_path: str, output: Path, rate: int = 100) -> list[str]:
    """The prefix that records a command and its subprocesses as collapsed stacks."""
    sampling = ["--subprocesses", "--nonblocking", "--rate", str(rate)]
    return [py_spy_path, "record", *sampling, "--format", "raw", "-o", str(output), "--"]


def read_profile(path: Path, process: str = "scrapy crawl") -> Profile:
    """Collapsed stacks of the process whose command line holds `process`, imports left out."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    samples = 0
    for line in path.read_text("utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        owners = [frame for frame in frames if frame.startswith("process ")]
        calls = [_LINE.sub(")", frame) for frame in frames if not frame.startswith("process ")]
        if not calls or calls[-1] in _IDLE or not owners or process not in owners[-1]:
            continue
        if any(call.startswith("_find_and_load ") for call in calls):
            # Start-up imports: paid once per crawl, not per page.
            continue
        n = int(count)
        samples += n
        self_time[calls[-1]] += n
        for name in set(calls):
            if any(f"({part}" in name for part in _OURS):
                inclusive[name] += n
    return Profile(samples, self_time, inclusive)
