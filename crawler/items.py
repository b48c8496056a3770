"""What the spiders hand to the item pipelines: an article's pages, each normalised."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipelines.normalise import NotNormalisable, PageLinks
from pipelines.normalise.article import Article
from pipelines.warc.location import RecordLocation


@dataclass
class FetchedPage:
    """One page as the server sent it (body after content decoding), where it was archived,
    and what the spider's normalising of it gave: its article, or why it is none."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    capture: RecordLocation | None
    page: int = 1  # the page of the article this is, 1 for the first
    article: Article | None = None  # the page normalised
    rejected: NotNormalisable | None = None  # why it did not normalise
    links: PageLinks = field(default_factory=PageLinks)  # pictures, attached files, pager

    @property
    def fetched_at(self) -> datetime:
        """When the page was fetched: its capture's WARC-Date; now when it was not archived."""
        return self.capture.fetched_at if self.capture is not None else datetime.now(UTC)


@dataclass
class ArticlePagesItem:
    """All fetched pages of one article, page 1 first, found on a channel's list page.

    The article pipeline fills `article` (the pages merged) or `rejection` (a reason slug and
    a message).
    """

    site: str
    channel: str
    url: str  # canonical page-1 URL
    pages: list[FetchedPage]
    missing_pages: list[str] = field(default_factory=list)  # pages that could not be fetched
    walk_page: int | None = None  # the channel's list page that listed it (None: a re-check)
    withdrawn: bool = False  # a re-check of an article the catalogue holds withdrawn
    article: Article | None = None
    rejection: tuple[str, str] | None = None
