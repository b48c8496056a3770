"""Each channel's walk state: how far back its list pages were walked, and whether to the end.

Read by a crawl when it starts and written once when it ends cleanly (crawler/walk.py decides
what); `schedule` and `runs` show it. Functions take a Session; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.catalogue.conflicts import dialect_of, insert_for
from pipelines.catalogue.models import ChannelWalk

_STATE_COLUMNS = ("settled_at", "resume_url", "resume_page", "last_page", "completed_at")


@dataclass(frozen=True)
class WalkState:
    """A channel's walk as the catalogue keeps it; the default is a channel never walked."""

    # Articles first seen before this were all reached by a walk from list page 1 that ended
    # cleanly: a list page holding only such articles is where a walk may stop.
    settled_at: datetime | None = None
    resume_url: str | None = None  # the deepest list page walked so far, until complete
    resume_page: int = 0  # its number, counted from list page 1 (0: none)
    last_page: int | None = None  # the channel's last list page, as its pager says
    completed_at: datetime | None = None  # when a walk first reached the last list page

    @property
    def complete(self) -> bool:
        """Whether a walk has reached the channel's last list page once."""
        return self.completed_at is not None

    def describe(self) -> str:
        """`complete`, `walked to page 12 of 30`, or `not walked yet`."""
        if self.complete:
            return "complete"
        if not self.resume_page:
            return "not walked yet"
        of = f" of {self.last_page}" if self.last_page else ""
        return f"walked to page {self.resume_page}{of}"


def walk_states(session: Session, site: str, channels: Iterable[str]) -> dict[str, WalkState]:
    """The walk state of each of the site's `channels`, by channel key (never walked: default)."""
    wanted = list(channels)
    query = select(ChannelWalk).where(ChannelWalk.site == site, ChannelWalk.channel.in_(wanted))
    found = {row.channel: _state(row) for row in session.scalars(query)}
    return {key: found.get(key, WalkState()) for key in wanted}


def all_walk_states(session: Session) -> dict[str, WalkState]:
    """Every channel's walk state that the catalogue holds, by "site/channel"."""
    rows = session.scalars(select(ChannelWalk))
    return {f"{row.site}/{row.channel}": _state(row) for row in rows}


def save_walk(
    session: Session,
    *,
    site: str,
    channel: str,
    state: WalkState,
    run_id: int | None,
    now: datetime,
) -> None:
    """Record `state` as the channel's walk state (insert or replace)."""
    row = {name: getattr(state, name) for name in _STATE_COLUMNS}
    values = {"site": site, "channel": channel, **row, "updated_at": now, "run_id": run_id}
    statement = insert_for(dialect_of(session), ChannelWalk).values(**values)
    changed = {name: statement.excluded[name] for name in (*_STATE_COLUMNS, "updated_at", "run_id")}
    session.execute(
        statement.on_conflict_do_update(index_elements=["site", "channel"], set_=changed)
    )


def _state(row: ChannelWalk) -> WalkState:
    return WalkState(**{name: getattr(row, name) for name in _STATE_COLUMNS})
