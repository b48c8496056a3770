"""This crawl's re-checks of catalogued articles: what each found, and the withdrawals to record.

Withdrawals are held in memory until the crawl closes, then recorded per channel in one write,
or not at all. The outage guard needs the whole crawl's answers of a channel to judge any of
them: a site whose every page answers 404 for an hour shows it only once most re-checks are
in, and by then the first withdrawals would have been written already. Holding them costs
nothing if the crawl dies: what it did not record, the next crawl's re-checks find again
(a withdrawn article's `last_seen_at` does not move, so it stays due).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from scrapy.statscollectors import StatsCollector

from pipelines.catalogue.lifecycle import Withdrawal
from pipelines.catalogue.writer import CatalogueWriter, CatalogueWriterClosed
from pipelines.stats import LIFECYCLE
from pipelines.withdrawal import OutageGuard

logger = logging.getLogger(__name__)

# request.meta: the request re-checks a catalogued article; LIVE or WITHDRAWN, as it was.
RECHECK_KEY = "cppcc_recheck"
LIVE, WITHDRAWN = "live", "withdrawn"


@dataclass
class _Channel:
    rechecked: int = 0  # live articles whose re-check was answered, in any way
    withdrawals: list[Withdrawal] = field(default_factory=list)
    down: str | None = None  # why the channel's first list page could not be read


class Rechecks:
    """The crawl's re-checks per channel, and at its close the withdrawals it records."""

    def __init__(self, stats: StatsCollector, guard: OutageGuard) -> None:
        self.stats = stats
        self.guard = guard
        self._channels: dict[str, _Channel] = defaultdict(_Channel)

    def answered(self, channel: str, state: str) -> None:
        """A re-check found the article's page (or an error that says nothing of it)."""
        if state == LIVE:
            self._channels[channel].rechecked += 1

    def withdrawn(self, channel: str, state: str, withdrawal: Withdrawal) -> None:
        """A re-check found the article withdrawn: held until the crawl closes."""
        if state == WITHDRAWN:  # withdrawn before, and still: nothing new to record
            self.stats.inc_value(f"{LIFECYCLE}{channel}/still_withdrawn")
            return
        logger.info("article %s looks withdrawn: %s", withdrawal.url, withdrawal.reason)
        found = self._channels[channel]
        found.rechecked += 1
        found.withdrawals.append(withdrawal)

    def channel_down(self, channel: str, why: str) -> None:
        """The channel's first list page could not be read: its 404s prove nothing."""
        self._channels[channel].down = why

    def close(self, writer: CatalogueWriter, site: str, run_id: int | None) -> None:
        """Record each channel's withdrawals, unless the guard takes them for an outage."""
        for channel, found in self._channels.items():
            prefix = f"{LIFECYCLE}{channel}"
            self.stats.set_value(f"{prefix}/rechecked", found.rechecked)
            if not found.withdrawals:
                continue
            held = self._held_back(channel, found)
            if held is not None:
                self.stats.set_value(f"{prefix}/held_back", len(found.withdrawals))
                self.stats.set_value(f"{prefix}/held_back_why", held)
                logger.warning("%s/%s: %s", site, channel, held)
                continue
            self.stats.set_value(f"{prefix}/withdrawn", len(found.withdrawals))
            self._write(writer, site, channel, found.withdrawals, run_id)

    def _held_back(self, channel: str, found: _Channel) -> str | None:
        """Why the channel's withdrawals are not recorded; None when they are."""
        count, of = len(found.withdrawals), found.rechecked
        if found.down is not None:
            return (
                f"{count} re-checked article(s) looked withdrawn, but the channel's list page "
                f"{found.down}: taken for an outage, none recorded withdrawn"
            )
        if self.guard.holds_back(count, of):
            return (
                f"{count} of {of} re-checked articles looked withdrawn at once (more than "
                f"{self.guard.max_percent:g}%): taken for an outage of the site, none recorded "
                "withdrawn (CPPCC_WITHDRAWN_MAX_PERCENT)"
            )
        return None

    def _write(
        self,
        writer: CatalogueWriter,
        site: str,
        channel: str,
        withdrawals: list[Withdrawal],
        run_id: int | None,
    ) -> None:
        # Not awaited: the crawl is closing, and the writer writes all it was given before it
        # stops (the engine stops after the spider closes).
        try:
            future = writer.submit("save_withdrawals", site=site, channel=channel,
                                   withdrawals=withdrawals, run_id=run_id)  # fmt: skip
        except CatalogueWriterClosed:
            logger.error("%s/%s: %d withdrawal(s) not recorded: the catalogue writer is gone; "
                         "the next crawl's re-checks find them again", site, channel,
                         len(withdrawals))  # fmt: skip
            return
        future.add_done_callback(lambda done: _said(done, f"{site}/{channel}", len(withdrawals)))


def _said(done: Future[Any], ref: str, count: int) -> None:
    error = done.exception()
    if error is not None:
        logger.error("%s: %d withdrawal(s) not recorded (%s); the next crawl's re-checks find "
                     "them again", ref, count, error)  # fmt: skip
