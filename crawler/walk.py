"""One crawl's walk of one channel's list pages: which page next, and what it may record.

A channel's list pages run from the newest articles (page 1) to the oldest. A crawl walks them
in two phases:

- the **head**, from page 1 on, until a list page holds only *settled* articles (first seen
  before the channel's `settled_at`: reached by an earlier walk from page 1 that ended
  cleanly). Articles an interrupted crawl left catalogued are not settled, so a walk never
  stops at them with older articles still unfetched behind them;
- the **backlog**, until the walk has once reached the channel's last list page: a slice of
  `slice_pages` list pages a crawl, from the deepest page an earlier crawl reached.

The state to record only counts list pages all of whose articles are *settled* in this crawl:
catalogued (or rejected, or failed for good). So a crawl stopped at any moment — killed, out of
time, its catalogue gone — records no page whose articles it did not finish, and the next crawl
resumes where this one really got to.

Pure: no Scrapy and no database; the spider feeds it what it met.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from pipelines.catalogue.recrawl import KnownPage
from pipelines.catalogue.walks import WalkState

Phase = Literal["head", "backlog"]
# Why a walk ended: a page of settled articles, the channel's last page, the slice spent,
# --max-list-pages, a list page that could not be read.
Stop = Literal["settled", "end", "slice", "max-list-pages", "failed"]


@dataclass(frozen=True)
class ListPage:
    """A list page to fetch: its URL, its number counted from page 1, and the walk's phase."""

    url: str
    number: int
    phase: Phase


@dataclass(frozen=True)
class WalkFailure:
    """The list page the walk could not read, and why."""

    number: int
    url: str
    why: str


class ListWalk:
    """The walk of one channel in one crawl (see the module's docstring)."""

    def __init__(
        self,
        list_url: str,
        state: WalkState,
        *,
        slice_pages: int,
        walk_known_pages: int = 0,
        max_pages: int = 0,
    ) -> None:
        self.list_url = list_url
        self.state = state  # as the catalogue held it when the crawl started
        self.slice_pages = slice_pages
        self.walk_known_pages = walk_known_pages  # settled pages walked past before stopping
        self.max_pages = max_pages  # list pages this crawl walks at most (0: no limit)
        self.pages_walked = 0
        self.last_page = state.last_page
        self.stopped: Stop | None = None
        self.failure: WalkFailure | None = None
        self._settled_in_a_row = 0
        # A walk with nothing settled yet starts its backlog at page 1: it is its own head.
        self._head_done = state.settled_at is None
        self._head_pages: list[int] = []
        self._backlog_pages: list[tuple[int, str]] = []  # (number, url) in walk order
        self._reached_end = False
        self._after_head: ListPage | None = None  # where to go on if the resume page is gone
        self._outstanding: Counter[int] = Counter()  # article requests unsettled, by page
        self._walked_at: datetime | None = None  # when settled_at may move to (head settled)
        self._recorded = state

    # -- where to go ------------------------------------------------------------------------

    def first(self) -> ListPage:
        """The first list page to fetch: page 1, in the head phase unless nothing is settled."""
        return ListPage(self.list_url, 1, "backlog" if self._head_done else "head")

    def walked(
        self,
        page: ListPage,
        urls: Sequence[str],
        known: Mapping[str, KnownPage],
        next_url: str | None,
        last_page: int | None = None,
    ) -> ListPage | None:
        """The page after `page`, which linked `urls` (`known` of them) and `next_url`."""
        self.pages_walked += 1
        if last_page:
            self.last_page = max(self.last_page or 0, last_page)
        if page.phase == "head":
            self._head_pages.append(page.number)
            return self._after_head_page(page, urls, known, next_url)
        self._backlog_pages.append((page.number, page.url))
        if next_url is None:
            return self._stop("end")
        # The resume page is walked again (the articles it listed may have moved on to the
        # next page meanwhile): it belongs to the last crawl's slice, not to this one's.
        new_pages = len(self._backlog_pages) - (self._backlog_pages[0][1] == self.state.resume_url)
        if new_pages >= self.slice_pages:
            return self._stop("slice")
        return self._unless_capped(ListPage(next_url, page.number + 1, "backlog"))

    def failed(self, page: ListPage, why: str, *, gone: bool = False) -> ListPage | None:
        """`page` could not be read: where the walk goes on, if anywhere.

        A resume page that is `gone` (404, 410: the channel has fewer pages than it had) is
        skipped: the backlog goes on after the page where the head stopped.
        """
        if gone and page.url == self.state.resume_url and self._after_head is not None:
            following, self._after_head = self._after_head, None
            return following
        self.failure = WalkFailure(page.number, page.url, why)
        self._stop("failed")
        return None

    def _after_head_page(
        self,
        page: ListPage,
        urls: Sequence[str],
        known: Mapping[str, KnownPage],
        next_url: str | None,
    ) -> ListPage | None:
        settled_at = self.state.settled_at
        assert settled_at is not None  # a head phase only runs once something is settled
        if any(url not in known or known[url].first_seen >= settled_at for url in urls):
            self._settled_in_a_row = 0
        elif urls:
            self._settled_in_a_row += 1
            if self._settled_in_a_row > self.walk_known_pages:
                self._head_done = True
                return self._into_backlog(page, next_url)
        if next_url is None:
            self._head_done = True
            return self._stop("end")
        return self._unless_capped(ListPage(next_url, page.number + 1, "head"))

    def _into_backlog(self, page: ListPage, next_url: str | None) -> ListPage | None:
        """The head stopped at `page`, settled: the backlog's first page, unless complete."""
        if self.state.complete:
            return self._stop("settled")
        following = ListPage(next_url, page.number + 1, "backlog") if next_url else None
        resume = self.state.resume_url
        if resume and self.state.resume_page > page.number:
            self._after_head = following
            return self._unless_capped(ListPage(resume, self.state.resume_page, "backlog"))
        if following is None:
            return self._stop("end")
        return self._unless_capped(following)

    def _unless_capped(self, page: ListPage) -> ListPage | None:
        if self.max_pages and self.pages_walked >= self.max_pages:
            return self._stop("max-list-pages")
        return page

    def _stop(self, why: Stop) -> ListPage | None:
        """End the walk for `why`: no page follows."""
        self.stopped = why
        if why == "end":
            self._reached_end = True
        return None

    # -- what the crawl finished --------------------------------------------------------------

    def requested(self, page: ListPage, count: int) -> None:
        """`count` article requests went out for the articles `page` listed."""
        self._outstanding[page.number] += count

    def settled(self, number: int) -> None:
        """One article of list page `number` is settled: catalogued, rejected or failed."""
        if self._outstanding[number] > 0:
            self._outstanding[number] -= 1

    def progress(self, now: datetime) -> WalkState | None:
        """The state to record now, when it says more than the last one recorded."""
        deepest = self._deepest_settled_backlog_page()
        if self.state.settled_at is None:
            head_settled = deepest is not None  # the backlog from page 1 is the head
        else:
            head_settled = self._head_done and self._all_settled(self._head_pages)
        if head_settled and self._walked_at is None:
            # Every article first seen before now is on a page walked from page 1 on.
            self._walked_at = now
        state = replace(self._recorded, last_page=self.last_page)
        if deepest is not None:
            state = replace(state, resume_page=deepest[0], resume_url=deepest[1])
        if self._walked_at is not None:
            state = replace(state, settled_at=self._walked_at)
        if self._reached_end and head_settled and self._all_settled(self._backlog_numbers()):
            completed = state.completed_at or now
            state = replace(state, completed_at=completed, resume_url=None, resume_page=0)
        if state == self._recorded:
            return None
        self._recorded = state
        return state

    @property
    def recorded(self) -> WalkState:
        """The state last returned by `progress` (at first, the catalogue's)."""
        return self._recorded

    def _deepest_settled_backlog_page(self) -> tuple[int, str] | None:
        deepest = None
        for number, url in self._backlog_pages:
            if self._outstanding[number]:
                break
            deepest = (number, url)
        return deepest

    def _backlog_numbers(self) -> list[int]:
        return [number for number, _ in self._backlog_pages]

    def _all_settled(self, numbers: Sequence[int]) -> bool:
        return not any(self._outstanding[number] for number in numbers)
