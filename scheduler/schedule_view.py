"""Each channel's schedule, last run, next run and backlog: what `schedule` and the web show.

Apart from the service (scheduler/serve.py), so that reading the schedule loads no more than
it needs: the catalogue and the cron triggers, not the scheduler nor what its jobs run.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pipelines.catalogue.queries import last_runs_by_channel
from pipelines.catalogue.walks import WalkState, all_walk_states
from pipelines.display import display_time
from pipelines.seeds import Seeds
from scheduler.timing import cron_trigger, next_slot

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def schedule_rows(seeds: Seeds, session: Session | None, now: datetime) -> list[dict[str, Any]]:
    """Each channel's schedule, its last run, its next scheduled time and its walk state;
    without a catalogue (`session` None: nothing has run yet), from the seeds alone."""
    last = last_runs_by_channel(session) if session is not None else {}
    walks = all_walk_states(session) if session is not None else {}
    return [
        _schedule_row(channel, last.get(channel.ref), walks.get(channel.ref), now)
        for channel in seeds.channels()
    ]


def _schedule_row(channel: Any, run: Any, walk: WalkState | None, now: datetime) -> dict[str, Any]:
    upcoming = next_slot(cron_trigger(channel.schedule), now) if channel.enabled else None
    return {
        "channel": channel.ref,
        "name": channel.name,
        "schedule": channel.schedule,
        "enabled": channel.enabled,
        "last_run": run.id if run else None,
        "last_status": run.status if run else None,
        "last_started_at": display_time(run.started_at if run else None, timespec="seconds"),
        "next_run_at": display_time(upcoming, timespec="seconds"),
        # How far back its list pages have been walked: `complete` once a walk reached the end.
        "backlog": (walk or WalkState()).describe(),
    }
