"""A crawl's walk of a channel's list pages: where it goes next and what it may record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crawler.walk import ListPage, ListWalk
from pipelines.catalogue.recrawl import KnownPage
from pipelines.catalogue.walks import WalkState

LIST = "http://site/yw/index.shtml"
T0 = datetime(2026, 12, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=1)


def page_url(number: int) -> str:
    return LIST if number == 1 else f"http://site/yw/index_{number}.shtml"


def articles(number: int) -> list[str]:
    return [f"http://site/c/{number}-{i}.shtml" for i in range(3)]


def seen(urls: list[str], at: datetime) -> dict[str, KnownPage]:
    return {url: KnownPage(at, at) for url in urls}


def walk_page(
    walk: ListWalk, page: ListPage, known: dict[str, KnownPage], last: int = 30
) -> ListPage | None:
    """Walk `page` of a 30-page list; every unknown article of it is requested."""
    urls = articles(page.number)
    walk.requested(page, sum(url not in known for url in urls))
    following = page_url(page.number + 1) if page.number < last else None
    return walk.walked(page, urls, known, following, last_page=last)


def settle(walk: ListWalk, page: ListPage, known: dict[str, KnownPage]) -> None:
    for url in articles(page.number):
        if url not in known:
            walk.settled(page.number)


def test_a_channel_never_walked_is_walked_from_page_1_a_slice_at_a_time() -> None:
    walk = ListWalk(LIST, WalkState(), slice_pages=3)
    page = walk.first()
    assert page == ListPage(LIST, 1, "backlog")
    pages = []
    while page is not None:
        pages.append(page.number)
        next_page = walk_page(walk, page, {})
        settle(walk, page, {})
        page = next_page
    assert pages == [1, 2, 3] and walk.stopped == "slice"
    state = walk.progress(NOW)
    assert state == WalkState(
        settled_at=NOW, resume_url=page_url(3), resume_page=3, last_page=30, completed_at=None
    )
    assert state.describe() == "walked to page 3 of 30"
    assert walk.progress(NOW) is None  # nothing new to record


def test_only_list_pages_whose_articles_all_settled_are_recorded() -> None:
    walk = ListWalk(LIST, WalkState(), slice_pages=5)
    pages = [walk.first()]
    for _ in range(3):
        following = walk_page(walk, pages[-1], {})
        assert following is not None
        pages.append(following)
    settle(walk, pages[0], {})
    walk.settled(2)  # one article of page 2 is catalogued; two are still being fetched
    settle(walk, pages[2], {})  # page 3 is done, but page 2 before it is not
    state = walk.progress(NOW)
    assert state is not None and state.resume_page == 1
    # Killed now, the next crawl resumes at page 1: page 2's unfetched articles are not lost.
    walk.settled(2)
    walk.settled(2)
    state = walk.progress(NOW + timedelta(seconds=1))
    assert state is not None and state.resume_page == 3
    assert state.settled_at == NOW  # settled when page 1 was: the head of the walk


def test_the_head_stops_at_settled_articles_and_the_backlog_goes_on_where_it_was() -> None:
    state = WalkState(settled_at=T0, resume_url=page_url(12), resume_page=12, last_page=30)
    walk = ListWalk(LIST, state, slice_pages=2)
    first = walk.first()
    assert first.phase == "head"
    old = seen(articles(1), T0 - timedelta(hours=1))
    resume = walk_page(walk, first, old)
    assert resume == ListPage(page_url(12), 12, "backlog")
    # The resume page is walked again; the slice is the two pages after it.
    following = walk_page(walk, resume, {})
    assert following == ListPage(page_url(13), 13, "backlog")
    last = walk_page(walk, following, {})
    assert last == ListPage(page_url(14), 14, "backlog")
    assert walk_page(walk, last, {}) is None and walk.stopped == "slice"
    for page in (resume, following, last):
        settle(walk, page, {})
    recorded = walk.progress(NOW)
    assert recorded is not None
    assert (recorded.resume_page, recorded.settled_at) == (14, NOW)


def test_articles_an_interrupted_crawl_catalogued_do_not_stop_the_head() -> None:
    # Page 1 and 2 hold articles first seen after the last clean walk (an interrupted crawl's):
    # the head walks on past them, to page 3, whose articles were settled.
    state = WalkState(settled_at=T0, completed_at=T0 - timedelta(days=9), last_page=30)
    walk = ListWalk(LIST, state, slice_pages=2)
    islands = seen(articles(1) + articles(2), T0 + timedelta(minutes=5))
    settled = seen(articles(3), T0 - timedelta(days=1))
    page = walk.first()
    assert walk_page(walk, page, islands) == ListPage(page_url(2), 2, "head")
    assert walk_page(walk, ListPage(page_url(2), 2, "head"), islands) == ListPage(
        page_url(3), 3, "head"
    )
    assert walk_page(walk, ListPage(page_url(3), 3, "head"), settled) is None
    assert walk.stopped == "settled"
    recorded = walk.progress(NOW)
    assert recorded is not None and recorded.settled_at == NOW and recorded.complete


def test_the_head_of_a_complete_channel_is_not_settled_while_its_articles_are_fetched() -> None:
    state = WalkState(settled_at=T0, completed_at=T0, last_page=30)
    walk = ListWalk(LIST, state, slice_pages=2)
    first = walk.first()
    following = walk_page(walk, first, {})
    assert following is not None
    walk_page(walk, following, seen(articles(2), T0 - timedelta(days=1)))
    assert walk.stopped == "settled"
    # Page 1's articles are still being fetched: killed now, the next head walks page 1 again.
    assert walk.progress(NOW) is None
    settle(walk, first, {})
    recorded = walk.progress(NOW + timedelta(seconds=1))
    assert recorded is not None and recorded.settled_at == NOW + timedelta(seconds=1)


def test_the_last_list_page_completes_the_walk_once_its_articles_settle() -> None:
    walk = ListWalk(LIST, WalkState(settled_at=T0, resume_url=page_url(29), resume_page=29),
                    slice_pages=5)  # fmt: skip
    resume = walk_page(walk, walk.first(), seen(articles(1), T0 - timedelta(days=1)))
    assert resume is not None and resume.number == 29
    last = walk_page(walk, resume, {})
    assert last is not None and walk_page(walk, last, {}) is None
    assert walk.stopped == "end"
    settle(walk, resume, {})
    assert not walk.progress(NOW).complete  # type: ignore[union-attr]
    settle(walk, last, {})
    recorded = walk.progress(NOW)
    assert recorded is not None and recorded.complete and recorded.resume_url is None
    assert recorded.describe() == "complete"


def test_a_resume_page_that_is_gone_gives_way_to_the_page_after_the_head() -> None:
    walk = ListWalk(LIST, WalkState(settled_at=T0, resume_url=page_url(40), resume_page=40),
                    slice_pages=5)  # fmt: skip
    resume = walk_page(walk, walk.first(), seen(articles(1), T0 - timedelta(days=1)))
    assert resume == ListPage(page_url(40), 40, "backlog")
    assert walk.failed(resume, "answered 404", gone=True) == ListPage(page_url(2), 2, "backlog")
    assert walk.failure is None


def test_a_list_page_that_cannot_be_read_ends_the_walk_and_records_nothing_past_it() -> None:
    walk = ListWalk(LIST, WalkState(), slice_pages=5)
    first = walk.first()
    assert walk.failed(first, "answered 503") is None
    assert walk.stopped == "failed" and walk.failure is not None
    assert walk.failure.number == 1 and walk.failure.why == "answered 503"
    assert walk.progress(NOW) is None  # nothing settled: the state stays as it was


def test_max_list_pages_caps_the_head_and_leaves_it_unsettled() -> None:
    state = WalkState(settled_at=T0, completed_at=T0)
    walk = ListWalk(LIST, state, slice_pages=5, max_pages=1)
    first = walk.first()
    assert walk_page(walk, first, {}) is None and walk.stopped == "max-list-pages"
    settle(walk, first, {})
    # The walk did not reach settled articles: the head is not settled, settled_at stays.
    recorded = walk.progress(NOW)
    assert recorded is not None and recorded.settled_at == T0 and recorded.last_page == 30
