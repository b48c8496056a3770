"""What the spiders hand to the item pipelines: an article's fetched pages, not yet normalised."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipelines.normalise import (
    NotNormalisable,
    PageLinks,
    SiteProfile,
    normalise_page,
    page_links,
)
from pipelines.normalise.article import Article
from pipelines.warc.location import RecordLocation


@dataclass
class FetchedPage:
    """One page as the server sent it (body after content decoding) and where it was archived."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    capture: RecordLocation | None
    page: int = 1  # the page of the article this is, 1 for the first
    # What normalising the page gave: the spider needs its pictures, the pipeline its
    # fields, and parsing a page twice costs a crawl more than anything else it does.
    _normalised: Article | NotNormalisable | None = field(default=None, repr=False)
    _links: PageLinks | None = field(default=None, repr=False)  # of a page rejected

    def normalised(self, profile: SiteProfile) -> Article:
        """The page normalised with `profile` (once); raises its NotNormalisable each time."""
        if self._normalised is None:
            try:
                self._normalised = normalise_page(
                    self.url, self.headers, self.body, profile=profile, fetched_at=self.fetched_at
                )
            except NotNormalisable as exc:
                self._normalised = exc
        if isinstance(self._normalised, NotNormalisable):
            raise self._normalised
        return self._normalised

    @property
    def fetched_at(self) -> datetime:
        """When the page was fetched: its capture's WARC-Date; now when it was not archived."""
        return self.capture.fetched_at if self.capture is not None else datetime.now(UTC)

    def links(self, profile: SiteProfile) -> PageLinks:
        """The pictures, attached files and pager links normalising the page found.

        A page rejected (no date, say) is parsed once more for them, and a page that is no
        HTML at all has none.
        """
        try:
            return PageLinks.of(self.normalised(profile))
        except NotNormalisable:
            pass
        if self._links is None:
            try:
                self._links = page_links(self.url, self.headers, self.body, profile=profile)
            except NotNormalisable:
                self._links = PageLinks()
        return self._links


@dataclass
class ArticlePagesItem:
    """All fetched pages of one article, page 1 first, found on a channel's list page.

    The normalise pipeline fills `article` or `rejection` (a reason slug and a message).
    """

    site: str
    channel: str
    url: str  # canonical page-1 URL
    pages: list[FetchedPage]
    missing_pages: list[str] = field(default_factory=list)  # pages that could not be fetched
    walk_page: int | None = None  # the channel's list page that listed it (None: a re-check)
    article: Article | None = None
    rejection: tuple[str, str] | None = None
