"""One run per channel at a time: channel locks, heartbeats, and recovery from dead runs.

A lock is a `channel_locks` row, one per channel, inserted by the run that crawls it: the
primary key makes taking it atomic on every back end, whoever starts the crawl (the service,
the command line, a second service by mistake). A run whose process is gone leaves its locks
and its `running` status behind; the next start finds it dead and marks it `interrupted`.

A run is presumed dead when its process is gone from this host, or when its heartbeat is
older than `stale_after`. The heartbeat guards against what the process check cannot see:
runs on other hosts, and a PID reused by another process after a reboot. Heartbeats are
compared with `now` of the caller, so hosts sharing a catalogue need clocks roughly in step
(well within `stale_after`).

Every function takes a Session and only flushes: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipelines.catalogue.models import ChannelLock, Run, split_channel_key
from pipelines.display import display_time
from pipelines.errors import CatalogueError, CppccArchiveError

# (host, pid) -> is that process alive? Only ever asked about the caller's own host.
IsAlive = Callable[[str, int], bool]
# A run on another host whose heartbeat is older than this is presumed dead (its host crashed
# or lost power); running runs refresh theirs every 30 s (scheduler/heartbeat.py).
STALE_AFTER = timedelta(minutes=5)

# Each failed attempt clears at least one stale holder (or finds a lock just released), so a
# few more attempts than channels always suffice unless other processes keep racing us.
_EXTRA_ATTEMPTS = 5


class ChannelBusy(CppccArchiveError):
    """A channel is being crawled by a live run: it cannot be crawled again until that ends."""

    def __init__(
        self, channel: str, *, run_id: int, host: str, pid: int, started_at: datetime
    ) -> None:
        super().__init__(
            f"{channel} is being crawled by run {run_id} (started {display_time(started_at)}, "
            f"pid {pid} on host {host}); wait for it to finish, or see `cppcc-archive runs`"
        )
        self.channel = channel
        self.run_id = run_id
        self.host = host
        self.pid = pid
        self.started_at = started_at


def acquire_channel_locks(
    session: Session,
    channels: Sequence[str],
    *,
    run_id: int,
    host: str,
    pid: int,
    now: datetime,
    is_alive: IsAlive,
    stale_after: timedelta,
) -> list[int]:
    """Lock every one of `channels` ("site/channel" keys) for run `run_id`, or none of them.

    A lock held by a dead run (see `dead_reason`) is taken over: that run is marked
    `interrupted` and its locks are released; returns the ids of the runs taken over. A lock
    held by a live run raises ChannelBusy naming it, and leaves none of `channels` locked.
    Locks this run already holds are kept. Race-safe: when several processes acquire one
    channel at once, exactly one wins.
    """
    wanted = sorted(dict.fromkeys(split_channel_key(channel) for channel in channels))
    taken_over: list[int] = []
    for _ in range(len(wanted) + _EXTRA_ATTEMPTS):
        if _insert_locks(session, wanted, run_id=run_id, host=host, pid=pid, now=now):
            return taken_over
        holders = _holders(session, wanted)
        wanted = [key for key in wanted if _owner(holders, key) != run_id]
        others = sorted({lock.run_id for lock in holders if lock.run_id != run_id})
        taken_over += others
        for holder_run_id in others:  # in id order, so that rival processes never deadlock
            _take_over(
                session,
                holders,
                holder_run_id,
                by_run=run_id,
                host=host,
                now=now,
                is_alive=is_alive,
                stale_after=stale_after,
            )
    raise CatalogueError(
        f"could not lock {', '.join('/'.join(key) for key in wanted)} for run {run_id}: other "
        "processes kept taking and releasing them; try again"
    )


def release_channel_locks(session: Session, run_id: int) -> None:
    """Release every lock held by run `run_id` (none held is fine)."""
    session.execute(delete(ChannelLock).where(ChannelLock.run_id == run_id))
    session.flush()


def touch_heartbeat(session: Session, run_id: int, now: datetime) -> bool:
    """Record that run `run_id` is alive at `now`; call it every ~30 s while the crawl runs.

    Returns False when the run is no longer `running` (another process presumed it dead and
    marked it interrupted, or it is unknown): its locks may then belong to another run.
    """
    statement = update(Run).where(Run.id == run_id, Run.status == "running")
    result = session.execute(
        statement.values(heartbeat_at=now), execution_options={"synchronize_session": "fetch"}
    )
    return cast(CursorResult[Any], result).rowcount == 1


def dead_runs(
    session: Session,
    *,
    host: str,
    is_alive: IsAlive,
    now: datetime,
    stale_after: timedelta,
    channels: Collection[str] | None = None,
) -> list[Run]:
    """The `running` runs whose process is gone (see `dead_reason`), oldest first; with
    `channels` ("site/channel" keys), only those holding the lock of one of them. Reads only."""
    query = select(Run).where(Run.status == "running").order_by(Run.id)
    if channels is not None:
        keys = [split_channel_key(channel) for channel in channels]
        held = select(ChannelLock.run_id).where(
            ChannelLock.site.in_({site for site, _ in keys}),
            ChannelLock.channel.in_({channel for _, channel in keys}),
        )
        query = query.where(Run.id.in_(held))
    return [
        run
        for run in session.scalars(query)
        if dead_reason(run, host=host, is_alive=is_alive, now=now, stale_after=stale_after)
    ]


def recover_dead_runs(
    session: Session,
    *,
    host: str,
    is_alive: IsAlive,
    now: datetime,
    stale_after: timedelta,
    run_ids: Collection[int] | None = None,
) -> list[int]:
    """Mark every `running` run whose process is gone as `interrupted`; returns their ids.

    A run is dead when it ran on `host` and its process is not alive, or when its heartbeat
    is older than `stale_after`; `run_ids` limits the marking to these runs. Its locks are
    released, and so are locks left by runs that are no longer running.
    """
    query = select(Run).where(Run.status == "running").order_by(Run.id).with_for_update()
    if run_ids is not None:
        query = query.where(Run.id.in_(list(run_ids)))
    recovered = []
    for run in session.scalars(query):
        reason = dead_reason(run, host=host, is_alive=is_alive, now=now, stale_after=stale_after)
        if reason is not None:
            _interrupt(run, f"{reason}; marked interrupted by recovery on host {host}", now)
            recovered.append(run.id)
    session.flush()
    ended = select(Run.id).where(Run.status != "running")
    session.execute(delete(ChannelLock).where(ChannelLock.run_id.in_(ended)))
    session.flush()
    return recovered


def running_locks(session: Session) -> list[tuple[ChannelLock, Run]]:
    """Each lock held by a run recorded `running`, with its run, by run id."""
    found = []
    for lock in session.scalars(select(ChannelLock).order_by(ChannelLock.run_id)):
        run = session.get(Run, lock.run_id)
        if run is not None and run.status == "running":
            found.append((lock, run))
    return found


def dead_reason(
    run: Run, *, host: str, is_alive: IsAlive, now: datetime, stale_after: timedelta
) -> str | None:
    """Why `running` run `run` is presumed dead, seen from `host` at `now`; None if alive.

    A run recorded before heartbeats existed counts from its start time. A run that recorded
    its own lease (a queue worker's) is judged by it, not by `stale_after`.
    """
    if run.host == host and run.pid is not None and not is_alive(host, run.pid):
        return f"its process (pid {run.pid} on {run.host}) is gone"
    last_sign = run.heartbeat_at or run.started_at
    if run.lease_seconds is not None:
        stale_after = timedelta(seconds=run.lease_seconds)
    if last_sign < now - stale_after:
        return (
            f"its process (pid {run.pid} on {run.host}) gave no heartbeat since "
            f"{display_time(last_sign)}, more than {stale_after} before {display_time(now)}"
        )
    return None


def _insert_locks(
    session: Session,
    keys: Sequence[tuple[str, str]],
    *,
    run_id: int,
    host: str,
    pid: int,
    now: datetime,
) -> bool:
    """Insert the lock rows in one savepoint; False when one of them is already held."""
    locks = [
        ChannelLock(site=site, channel=channel, run_id=run_id, host=host, pid=pid, started_at=now)
        for site, channel in keys  # sorted: rivals insert in one order, so they never deadlock
    ]
    try:
        with session.begin_nested():
            session.add_all(locks)
    except IntegrityError:
        if session.get(Run, run_id) is None:  # not a held lock: the run itself is unknown
            raise
        return False
    return True


def _holders(session: Session, keys: Sequence[tuple[str, str]]) -> list[ChannelLock]:
    query = select(ChannelLock).where(
        ChannelLock.site.in_({site for site, _ in keys}),
        ChannelLock.channel.in_({channel for _, channel in keys}),
    )
    wanted = set(keys)
    # populate_existing: a lock read before (and since replaced) must not hide the new holder.
    rows = session.scalars(query.execution_options(populate_existing=True))
    return [lock for lock in rows if (lock.site, lock.channel) in wanted]


def _owner(holders: Sequence[ChannelLock], key: tuple[str, str]) -> int | None:
    return next((lock.run_id for lock in holders if (lock.site, lock.channel) == key), None)


def _take_over(
    session: Session,
    holders: Sequence[ChannelLock],
    holder_run_id: int,
    *,
    by_run: int,
    host: str,
    now: datetime,
    is_alive: IsAlive,
    stale_after: timedelta,
) -> None:
    """Release the locks of a dead holder, marking its run interrupted; ChannelBusy if alive."""
    # FOR UPDATE: rivals taking over the same holder do it one after the other (no-op on
    # SQLite, whose transactions all hold the write lock from BEGIN IMMEDIATE on).
    run = session.get(Run, holder_run_id, with_for_update=True, populate_existing=True)
    if run is not None and run.status == "running":
        reason = dead_reason(run, host=host, is_alive=is_alive, now=now, stale_after=stale_after)
        if reason is None:
            lock = next(lock for lock in holders if lock.run_id == holder_run_id)
            raise ChannelBusy(
                lock.key, run_id=run.id, host=lock.host, pid=lock.pid, started_at=lock.started_at
            )
        _interrupt(run, f"{reason}; marked interrupted by run {by_run}", now)
    session.execute(delete(ChannelLock).where(ChannelLock.run_id == holder_run_id))
    session.flush()


def _interrupt(run: Run, error: str, now: datetime) -> None:
    run.status, run.finished_at, run.error = "interrupted", now, error
