"""A crawl's channel walks, and their progress recorded in the catalogue as it is made."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future, wait
from datetime import UTC, datetime

from scrapy.crawler import Crawler

from crawler.catalogue import catalogue_writer
from crawler.walk import ListWalk
from pipelines.catalogue.writer import CatalogueWriterClosed

logger = logging.getLogger(__name__)

SAVE_TIMEOUT = 60.0  # seconds the crawl's end waits for its last walk states to be written


class WalkRecorder:
    """The walk of each channel a crawl walks, made on first use, recorded as it goes.

    Each time a walk has more to record (a list page whose articles are all settled, the
    head settled, the last page reached), the new state goes to the crawl's catalogue writer:
    whenever the crawl stops, killed or not, the catalogue holds where it really got to.
    Called from Scrapy's thread only.
    """

    def __init__(self, crawler: Crawler, site: str, new_walk: Callable[[str], ListWalk]):
        self.crawler = crawler
        self.site = site
        self.new_walk = new_walk  # channel key -> its walk, from the catalogue's state
        self.run_id = crawler.settings.getint("CPPCC_RUN_ID") or None
        self._walks: dict[str, ListWalk] = {}
        self._saves: list[tuple[str, Future[None]]] = []

    def load(self, channels: Iterable[str]) -> None:
        """Read the walks of `channels` now, before the crawl's first request."""
        for channel in channels:
            self.walk(channel)

    def walk(self, channel: str) -> ListWalk:
        """The walk of `channel` in this crawl."""
        if channel not in self._walks:
            self._walks[channel] = self.new_walk(channel)
        return self._walks[channel]

    def settled(self, channel: str, number: int) -> None:
        """An article listed on list page `number` of `channel` is settled."""
        walk = self._walks.get(channel)
        if walk is not None:
            walk.settled(number)
            self.record(channel)

    def record(self, channel: str) -> None:
        """Hand the walk's state to the catalogue writer when it says more than before."""
        state = self.walk(channel).progress(datetime.now(UTC))
        if state is None:
            return
        try:
            future = catalogue_writer(self.crawler).submit(
                "save_walk",
                site=self.site,
                channel=channel,
                state=state,
                run_id=self.run_id,
                now=datetime.now(UTC),
            )
        except CatalogueWriterClosed as error:  # the crawl is stopping: the next one redoes it
            self._failed(channel, error)
            return
        # Written ones are forgotten: a crawl's memory does not grow with its list pages.
        self._saves = [(c, f) for c, f in self._saves if not f.done() or f.exception()]
        self._saves.append((channel, future))

    def close(self) -> None:
        """Record every walk's last state and wait until the writer has it.

        The run's stats say, per channel, what state the walk left (`runs` shows it).
        """
        assert self.crawler.stats is not None
        for channel, walk in self._walks.items():
            self.record(channel)
            self.crawler.stats.set_value(f"cppcc/walk/{channel}/state", walk.recorded.describe())
        wait([future for _, future in self._saves], timeout=SAVE_TIMEOUT)
        for channel, future in self._saves:
            error = future.exception(timeout=0) if future.done() else TimeoutError()
            if error is not None:
                self._failed(channel, error)
        self._saves.clear()

    def _failed(self, channel: str, error: BaseException) -> None:
        # Not lost work: the articles are archived and catalogued; the next crawl walks again
        # from the state recorded last.
        logger.error("cannot record how far the walk of %s/%s got: %s", self.site, channel, error)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("cppcc/errors/walk_not_recorded")
