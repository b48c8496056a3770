"""WARC files cut into spans at record starts, and work over the spans on several processes.

`reindex` and `verify` read whole archives, which `pack` makes of files up to a gigabyte: a
file is cut where a gzip member starts a WARC record, so each process reads its own span with
the one scanner (pipelines/warc/scan.py) and the spans' results, put back in file order, are
what reading each file from start to end gives.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from pipelines.processes import pid_is_alive
from pipelines.warc.members import next_record_start
from pipelines.warc.scan import Damage, ScannedRecord

SPAN_SIZE = 2 << 20  # bytes at least: a span's start-up cost (opening, pickling) is lost in it
SPANS_PER_JOB = 4  # spans per process at least, so that a slow one does not hold the rest up

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Span:
    """The records of `path` starting from `start` (a record's start) up to `stop`."""

    path: Path
    start: int
    stop: int  # where the next span starts; the file's size for its last span


def default_jobs() -> int:
    """Processes to use when not told: one per CPU."""
    return os.cpu_count() or 1


def jobs_for(jobs: int | None, work: int, enough: int) -> int:
    """`jobs` when asked for; when not (None), one per CPU for `work` of `enough` or more, and
    one below it: a small archive is read before worker processes would have started."""
    if jobs is not None:
        return jobs
    return default_jobs() if work >= enough else 1


def bytes_of(paths: Sequence[Path]) -> int:
    return sum(path.stat().st_size for path in paths)


def enough_bytes() -> int:
    """Bytes of WARC files worth reading on several processes (read when called: tests set
    SPAN_SIZE)."""
    return 2 * SPAN_SIZE


def file_spans(paths: Sequence[Path], jobs: int) -> list[Span]:
    """The files cut into spans, in file order: whole files with one job or when small."""
    total = sum(path.stat().st_size for path in paths)
    size = max(SPAN_SIZE, total // max(1, jobs * SPANS_PER_JOB))  # read when called: tests set it
    spans = []
    for path in paths:
        spans += _cut(path, path.stat().st_size, size if jobs > 1 else 0)
    return spans


def _cut(path: Path, length: int, size: int) -> list[Span]:
    if size <= 0 or length <= size:
        return [Span(path, 0, length)]
    starts = [0]
    with path.open("rb") as file:
        while (wanted := starts[-1] + size) < length:
            found = next_record_start(file, wanted)
            if found is None:
                break
            starts.append(found)
    stops = [*starts[1:], length]
    return [Span(path, start, stop) for start, stop in zip(starts, stops, strict=True)]


def item_end(item: ScannedRecord | Damage, size: int) -> int:
    """Where the scan goes on after `item`: the end of its bytes."""
    if isinstance(item, ScannedRecord):
        return item.location.offset + item.location.length
    return size if item.end is None else item.end


def read_by_file(
    paths: Sequence[Path],
    read: Callable[[Span], R],
    jobs: int | None,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[object, ...] = (),
) -> Iterator[tuple[Path, list[tuple[Span, R]]]]:
    """`read` over the files' spans on `jobs` processes (None: as jobs_for decides for their
    size), given back file by file, in order, once each file's last span is read."""
    jobs = jobs_for(jobs, bytes_of(paths), enough_bytes())
    spans = file_spans(paths, jobs)
    done: list[tuple[Span, R]] = []
    for span, result in zip(spans, parallel_map(read, spans, jobs, initializer, initargs),
                            strict=True):  # fmt: skip
        done.append((span, result))
        if span.stop == span.path.stat().st_size:  # the file's last span
            yield span.path, done
            done = []


def parallel_map(
    function: Callable[[T], R],
    items: Sequence[T],
    jobs: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[object, ...] = (),
) -> Iterator[R]:
    """`function` over `items`, in their order, on `jobs` processes (in this one for 1)."""
    with worker_pool(min(jobs, len(items)), initializer, initargs) as pool:
        results = [pool.submit(function, item) for item in items]
        for result in results:
            yield result()


class WorkerPool:
    """Work handed to worker processes, or done in this process when there is one job."""

    def __init__(self, executor: ProcessPoolExecutor | None) -> None:
        self.executor = executor
        self.futures: list[Future[Any]] = []

    def submit(self, function: Callable[[T], R], item: T) -> Callable[[], R]:
        """Start `function(item)`; returns what gives its result (or raises its exception)."""
        if self.executor is None:
            return functools.cache(lambda: function(item))  # done when first asked, once
        future = self.executor.submit(function, item)
        self.futures.append(future)
        return future.result


@contextmanager
def worker_pool(
    jobs: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[object, ...] = (),
) -> Iterator[WorkerPool]:
    """A pool of `jobs` worker processes, each set up by `initializer(*initargs)`.

    The workers ignore SIGINT and SIGTERM: the command's own process is the one that stops
    (KeyboardInterrupt, see `sigterm_interrupts`), and it ends them then; none outlives it.
    """
    if jobs <= 1:
        if initializer is not None:
            initializer(*initargs)
        yield WorkerPool(None)
        return
    executor = ProcessPoolExecutor(
        jobs, mp_context=_context(), initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )  # fmt: skip
    pool = WorkerPool(executor)
    finished = False
    try:
        with _signals_held():
            # The workers are started now, all at once: a stop arriving meanwhile waits until
            # they are, then stops this process, which ends them (see _start_worker).
            pool.submit(_started, None)
        yield pool
        finished = True
    finally:
        if not finished:  # stopped, or some work failed: what the rest does is not wanted
            for future in pool.futures:
                future.cancel()
            _end_workers(executor)
        executor.shutdown(wait=True, cancel_futures=True)


def _context() -> multiprocessing.context.BaseContext:
    """fork: the workers start at once with every module loaded (forkserver's re-import the
    command's modules: 0.3 s each); but a process holding other threads (a test runner, a
    server) is not forked, for one of them may hold a lock the child would inherit taken."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver")


def _end_workers(pool: ProcessPoolExecutor) -> None:
    # The pool has no public way to stop a task under way (Python 3.14 adds
    # terminate_workers); its workers read files and write nothing, so they are killed.
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
    # A worker killed while writing its result leaves half a message in the result pipe, and
    # the pool's manager thread would wait for the rest for ever: shutdown, and the exit, hang
    # with it (seen: 1 stop in 4 under load, py-spy showing the thread in recv()). With this
    # process's own write end closed, the dead workers' ends were the last: the read ends in
    # EOF, which the manager takes for a broken pool, and it finishes.
    result_queue = getattr(pool, "_result_queue", None)
    if result_queue is not None:
        result_queue._writer.close()


STOPS = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held back: while forking, a KeyboardInterrupt would be lost in the
    fork's own bookkeeping (logging's at-fork hooks swallow it) or raised in a new worker
    before it ignores it; held, it comes once they are started."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _started(_: None) -> None:
    """Nothing: the first task, handed to the pool to start its workers."""


def _start_worker(
    parent: int, initializer: Callable[..., None] | None, initargs: tuple[object, ...]
) -> None:
    # Forked with the stops held (_signals_held): ignored from now on, and a stop sent to the
    # whole process group meanwhile (Ctrl-C in a terminal) is dropped with them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _exit_with(parent: int) -> None:
    """End this worker when the command's process is gone (killed with SIGKILL): a worker
    waiting for work would otherwise wait for ever."""
    while True:
        time.sleep(1)
        if not pid_is_alive(parent):
            os._exit(1)


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the command as Ctrl-C does (KeyboardInterrupt): the transaction under way
    is rolled back, the workers ended, and the command exits 130."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set a handler; a caller in another keeps its own
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
