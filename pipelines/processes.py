"""Whether a process on this host is still running (for locks and `.open` WARC files)."""

from __future__ import annotations

import os
from pathlib import Path


def pid_is_alive(pid: int) -> bool:
    """Whether process `pid` runs on this host.

    A process that died but was never reaped (a zombie: its parent died too, and the
    container's first process does not reap orphans) is dead: it holds no file and no lock.
    A PID can also be reused by an unrelated process after its owner died; callers keep a
    second guard for that (a run's heartbeat age).
    """
    if pid <= 0:  # 0 and negative ids address process groups, not one process
        return False
    try:
        os.kill(pid, 0)  # signal 0: asks without sending anything
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by another user
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (not Linux), or it just went away
        return False
    # The state follows the command name, which is in parentheses and may hold spaces.
    return stat[stat.rfind(")") + 2 :].startswith("Z")
