"""Tests for pipelines/catalogue/locks.py: one run per channel, dead runs found and released."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.locks import (
    ChannelBusy,
    acquire_channel_locks,
    dead_reason,
    recover_dead_runs,
    release_channel_locks,
    touch_heartbeat,
)
from pipelines.catalogue.models import Run
from pipelines.catalogue.queries import get_run, held_locks
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writes import finish_run, start_run
from pipelines.processes import pid_is_alive

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
STALE_AFTER = timedelta(minutes=2)
HOST = "vm"  # the host the tests pretend to run on
OTHER = "other-vm"
ALIVE = os.getpid()


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The id of a process that has exited and been reaped: certainly not alive."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_is_alive(child.pid)
    return child.pid


def is_alive(host: str, pid: int) -> bool:
    # Liveness can only be checked on our own host; being asked about another is a bug.
    assert host == HOST, f"asked whether pid {pid} on {host} is alive"
    return pid_is_alive(pid)


def run(
    session: Session,
    *,
    host: str = HOST,
    pid: int = ALIVE,
    started_at: datetime = NOW,
    channels: Sequence[str] = ("rmzxb/yw",),
) -> int:
    return start_run(
        session, trigger="schedule", channels=channels, pid=pid, host=host, started_at=started_at
    )


def acquire(
    session: Session,
    run_id: int,
    channels: Sequence[str] = ("rmzxb/yw",),
    *,
    host: str = HOST,
    pid: int = ALIVE,
    now: datetime = NOW,
) -> None:
    acquire_channel_locks(
        session,
        channels,
        run_id=run_id,
        host=host,
        pid=pid,
        now=now,
        is_alive=is_alive,
        stale_after=STALE_AFTER,
    )


def holding(session: Session) -> list[tuple[str, int]]:
    return [(lock.key, lock.run_id) for lock in held_locks(session)]


def reloaded(session: Session, run_id: int) -> Run:
    session.expire_all()
    row = get_run(session, run_id)
    assert row is not None
    return row


def test_acquire_then_release(session: Session) -> None:
    run_id = run(session, channels=["rmzxb/yw", "rmzxb/xs"])
    acquire(session, run_id, ["rmzxb/yw", "rmzxb/xs"])
    session.commit()
    session.expunge_all()
    locks = held_locks(session)
    assert [(lock.key, lock.run_id, lock.host, lock.pid) for lock in locks] == [
        ("rmzxb/xs", run_id, HOST, ALIVE),
        ("rmzxb/yw", run_id, HOST, ALIVE),
    ]
    assert locks[0].started_at == NOW
    release_channel_locks(session, run_id)
    session.commit()
    assert held_locks(session) == []
    other = run(session)
    acquire(session, other)  # free again
    assert holding(session) == [("rmzxb/yw", other)]


def test_acquiring_again_for_the_same_run_keeps_its_locks(session: Session) -> None:
    run_id = run(session)
    acquire(session, run_id)
    acquire(session, run_id, ["rmzxb/yw", "rmzxb/xs"])
    assert holding(session) == [("rmzxb/xs", run_id), ("rmzxb/yw", run_id)]


def test_a_live_holder_makes_the_channel_busy(session: Session) -> None:
    holder = run(session, host=OTHER, pid=1234)
    acquire(session, holder, host=OTHER, pid=1234)
    session.commit()
    rival = run(session)
    with pytest.raises(ChannelBusy) as raised:
        acquire(session, rival, now=NOW + timedelta(seconds=30))
    busy = raised.value
    assert (busy.channel, busy.run_id, busy.host, busy.pid) == ("rmzxb/yw", holder, OTHER, 1234)
    assert busy.started_at == NOW
    assert str(busy) == (
        f"rmzxb/yw is being crawled by run {holder} (started 2026-11-25T18:00:00+08:00, "
        f"pid 1234 on host {OTHER}); wait for it to finish, or see `cppcc-archive runs`"
    )
    assert busy.exit_code == 1
    assert reloaded(session, holder).status == "running"
    assert holding(session) == [("rmzxb/yw", holder)]


def test_a_live_process_on_this_host_is_not_robbed(session: Session) -> None:
    holder = run(session)
    acquire(session, holder)
    with pytest.raises(ChannelBusy, match=f"run {holder} "):
        acquire(session, run(session), now=NOW + timedelta(seconds=90))
    assert holding(session) == [("rmzxb/yw", holder)]


def test_all_or_nothing(session: Session) -> None:
    holder = run(session, channels=["rmzxb/xs"])
    acquire(session, holder, ["rmzxb/xs"])
    rival = run(session, channels=["rmzxb/yw", "rmzxb/xs"])
    with pytest.raises(ChannelBusy, match="rmzxb/xs is being crawled"):
        acquire(session, rival, ["rmzxb/yw", "rmzxb/xs"])
    assert holding(session) == [("rmzxb/xs", holder)]  # yw was not left locked by the rival
    acquire(session, rival, ["rmzxb/yw"])
    assert holding(session) == [("rmzxb/xs", holder), ("rmzxb/yw", rival)]


def test_a_dead_process_on_this_host_loses_its_locks(session: Session, dead_pid: int) -> None:
    holder = run(session, pid=dead_pid, channels=["rmzxb/yw", "rmzxb/xs"])
    acquire(session, holder, ["rmzxb/yw", "rmzxb/xs"], pid=dead_pid)
    session.commit()
    later = NOW + timedelta(seconds=10)  # its heartbeat is fresh: the PID check decides
    rival = run(session)
    acquire(session, rival, now=later)
    session.commit()
    assert holding(session) == [("rmzxb/yw", rival)]  # and its other lock is released too
    dead = reloaded(session, holder)
    assert (dead.status, dead.finished_at) == ("interrupted", later)
    assert dead.error == (
        f"its process (pid {dead_pid} on {HOST}) is gone; marked interrupted by run {rival}"
    )


def test_a_silent_run_on_another_host_loses_its_locks(session: Session) -> None:
    holder = run(session, host=OTHER, pid=1234)
    acquire(session, holder, host=OTHER, pid=1234)
    touch_heartbeat(session, holder, NOW + timedelta(minutes=1))
    session.commit()
    rival = run(session)
    acquire(session, rival, now=NOW + timedelta(minutes=3, seconds=1))
    assert holding(session) == [("rmzxb/yw", rival)]
    dead = reloaded(session, holder)
    assert dead.status == "interrupted"
    assert dead.error is not None
    assert dead.error.startswith(
        f"its process (pid 1234 on {OTHER}) gave no heartbeat since 2026-11-25T18:01:00+08:00"
    )
    assert dead.error.endswith(f"marked interrupted by run {rival}")


def test_a_heartbeat_keeps_a_run_on_another_host_alive(session: Session) -> None:
    holder = run(session, host=OTHER, pid=1234)
    acquire(session, holder, host=OTHER, pid=1234)
    assert touch_heartbeat(session, holder, NOW + timedelta(minutes=5))
    with pytest.raises(ChannelBusy):
        acquire(session, run(session), now=NOW + timedelta(minutes=6))
    assert reloaded(session, holder).heartbeat_at == NOW + timedelta(minutes=5)


def test_a_run_with_a_lease_on_another_host_is_dead_once_it_passes(session: Session) -> None:
    # A queue worker's run promises a beat within its lease (seconds), not STALE_AFTER: any
    # host takes its channel once the lease passes without one, and not before.
    holder = start_run(session, trigger="schedule", channels=["rmzxb/yw"], pid=1234,
                       host=OTHER, started_at=NOW, lease_seconds=4.0)  # fmt: skip
    acquire(session, holder, host=OTHER, pid=1234)
    soon = NOW + timedelta(seconds=3)
    held = reloaded(session, holder)
    assert (
        dead_reason(held, host=HOST, is_alive=is_alive, now=soon, stale_after=STALE_AFTER) is None
    )
    rival = run(session)
    acquire(session, rival, now=NOW + timedelta(seconds=5))
    assert holding(session) == [("rmzxb/yw", rival)]
    assert "gave no heartbeat" in (reloaded(session, holder).error or "")


def test_a_silent_run_here_is_dead_even_if_its_pid_was_reused(session: Session) -> None:
    holder = run(session)  # ALIVE: as if another process now had the dead run's PID
    acquire(session, holder)
    rival = run(session)
    acquire(session, rival, now=NOW + timedelta(minutes=10))
    assert holding(session) == [("rmzxb/yw", rival)]
    assert reloaded(session, holder).status == "interrupted"


def test_a_lock_left_by_an_ended_run_is_taken(session: Session) -> None:
    holder = run(session, host=OTHER, pid=1234)
    acquire(session, holder, host=OTHER, pid=1234)
    end = NOW + timedelta(seconds=5)
    finish_run(session, holder, status="finished", finished_at=end, exit_code=0,
               finish_reason="finished")  # fmt: skip
    rival = run(session)
    acquire(session, rival, now=NOW + timedelta(seconds=10))
    assert holding(session) == [("rmzxb/yw", rival)]
    ended = reloaded(session, holder)
    assert (ended.status, ended.finished_at, ended.error) == ("finished", end, None)


def test_an_unknown_run_is_an_error_not_a_busy_channel(session: Session) -> None:
    with pytest.raises(IntegrityError):
        acquire(session, 999_999)


def test_touch_heartbeat_of_a_run_no_longer_running(session: Session, dead_pid: int) -> None:
    holder = run(session, pid=dead_pid)
    assert touch_heartbeat(session, holder, NOW + timedelta(seconds=30))
    recover_dead_runs(session, host=HOST, is_alive=is_alive, now=NOW, stale_after=STALE_AFTER)
    assert not touch_heartbeat(session, holder, NOW + timedelta(seconds=60))
    assert reloaded(session, holder).heartbeat_at == NOW + timedelta(seconds=30)
    assert not touch_heartbeat(session, 999_999, NOW)


def test_recover_dead_runs(session: Session, dead_pid: int) -> None:
    now = NOW + timedelta(minutes=1)
    gone_here = run(session, pid=dead_pid, channels=["rmzxb/a"])
    silent_elsewhere = run(session, host=OTHER, started_at=NOW - timedelta(hours=1),
                           channels=["rmzxb/b"])  # fmt: skip
    alive_here = run(session, channels=["rmzxb/c"])
    alive_elsewhere = run(session, host=OTHER, channels=["rmzxb/d"])
    ended = run(session, host=OTHER, channels=["rmzxb/e"])
    for run_id, key in [(gone_here, "a"), (silent_elsewhere, "b"), (alive_here, "c"),
                        (alive_elsewhere, "d"), (ended, "e")]:  # fmt: skip
        acquire(session, run_id, [f"rmzxb/{key}"], now=NOW - timedelta(hours=1))
    finish_run(session, ended, status="failed", finished_at=NOW, exit_code=1, finish_reason=None)
    session.commit()

    recovered = recover_dead_runs(
        session, host=HOST, is_alive=is_alive, now=now, stale_after=STALE_AFTER
    )
    session.commit()

    assert recovered == [gone_here, silent_elsewhere]
    statuses = {run_id: reloaded(session, run_id).status for run_id in
                (gone_here, silent_elsewhere, alive_here, alive_elsewhere, ended)}  # fmt: skip
    assert statuses == {
        gone_here: "interrupted",
        silent_elsewhere: "interrupted",
        alive_here: "running",
        alive_elsewhere: "running",
        ended: "failed",
    }
    gone = reloaded(session, gone_here)
    assert gone.finished_at == now
    assert gone.error == (
        f"its process (pid {dead_pid} on {HOST}) is gone; marked interrupted by recovery on "
        f"host {HOST}"
    )
    assert "gave no heartbeat since" in (reloaded(session, silent_elsewhere).error or "")
    # Locks of dead and ended runs are released; live runs keep theirs.
    assert holding(session) == [("rmzxb/c", alive_here), ("rmzxb/d", alive_elsewhere)]
    assert (
        recover_dead_runs(session, host=HOST, is_alive=is_alive, now=now, stale_after=STALE_AFTER)
        == []
    )


@pytest.mark.parametrize("left_by", ["nobody", "a dead run"])
def test_concurrent_acquisitions_have_one_winner(
    fresh_db_url: str, dead_pid: int, left_by: str
) -> None:
    engine = make_engine(fresh_db_url)
    ensure_schema(engine)
    sessions = make_session_factory(engine)
    rivals = 4
    with sessions.begin() as session:
        run_ids = [run(session) for _ in range(rivals)]
        if left_by == "a dead run":
            dead = run(session, pid=dead_pid)
            acquire(session, dead, pid=dead_pid)
    barrier = threading.Barrier(rivals, timeout=60)
    winners: list[int] = []
    busy_with: list[int] = []
    failures: list[BaseException] = []

    def take(run_id: int) -> None:
        try:
            with sessions() as session:
                barrier.wait()
                acquire(session, run_id, now=NOW + timedelta(seconds=1))
                time.sleep(0.1)  # hold the lock uncommitted: rivals must wait for us, or fail
                session.commit()
                winners.append(run_id)
        except ChannelBusy as busy:
            busy_with.append(busy.run_id)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=take, args=(run_id,)) for run_id in run_ids]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert failures == []
        assert len(winners) == 1
        assert busy_with == winners * (rivals - 1)
        with sessions() as session:
            assert holding(session) == [("rmzxb/yw", winners[0])]
            if left_by == "a dead run":
                interrupted = reloaded(session, dead)
                assert interrupted.status == "interrupted"
                assert interrupted.error is not None
                assert interrupted.error.endswith(f"marked interrupted by run {winners[0]}")
    finally:
        engine.dispose()
