"""What a page says besides its fields: attachments, pager links, and doubts about its date."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlsplit

from pipelines.normalise.article import Article
from pipelines.normalise.dates import SHANGHAI
from pipelines.normalise.errors import FutureDate
from pipelines.normalise.page import Page, selector
from pipelines.profiles.model import SiteProfile

DATE_DISAGREES_WITH_URL = "date-disagrees-with-url"
_FILE_SUFFIX = re.compile(r"\.(?:pdf|docx?|xlsx?|pptx?|wps|et|zip|rar|7z|txt|csv)\Z", re.I)
# A page is published after the CMS creates it, sometimes the next morning; more is a mistake.
_DATE_TOLERANCE = timedelta(days=1)
# A page cannot be published after it was fetched, yet its date may run ahead of the fetch a
# little: an editor dates the article of tomorrow's print edition, a CMS clock is wrong by
# hours. A day allows for those; more is a wrong date (a mistyped year), and an article
# catalogued with it would stand as the channel's newest for as long as it is wrong.
FUTURE_TOLERANCE = timedelta(days=1)


def attachment_urls(page: Page) -> tuple[str, ...]:
    """Links to files inside the profile's attachment containers, absolute, each once."""
    return _links_inside(page, page.profile.attachments, _FILE_SUFFIX)


def pager_urls(page: Page) -> tuple[str, ...]:
    """Links inside the profile's pager (a multi-page article's), absolute, each once."""
    return _links_inside(page, page.profile.pager)


def _links_inside(
    page: Page, containers: Sequence[str], path: re.Pattern[str] | None = None
) -> tuple[str, ...]:
    """Absolute links in the elements `containers` select, each once; whose path matches."""
    found: list[str] = []
    for css in containers:
        for container in selector(css)(page.root):
            for link in container.iter("a"):
                href = (link.get("href") or "").strip()
                url = urljoin(page.url, href) if href else ""
                wanted = url and (path is None or path.search(urlsplit(url).path))
                if wanted and url not in found:
                    found.append(url)
    return tuple(found)


def id_time(content_id: str | None, profile: SiteProfile) -> datetime | None:
    """The creation time a content id carries (中国政协网's ARTI + 13-digit milliseconds)."""
    if profile.id_time is None or content_id is None:
        return None
    match = profile.id_time.fullmatch(content_id)
    if match is None:
        return None
    return datetime.fromtimestamp(int(match["ms"]) / 1000, tz=SHANGHAI)


def date_warnings(article: Article, profile: SiteProfile) -> tuple[str, ...]:
    """`date-disagrees-with-url` when the page date and the id's time differ by over a day."""
    created = id_time(article.content_id, profile)
    if created is not None and abs(article.published_at - created) > _DATE_TOLERANCE:
        return (DATE_DISAGREES_WITH_URL,)
    return ()


def check_not_future(article: Article, fetched_at: datetime) -> None:
    """Raise FutureDate when the page is dated more than FUTURE_TOLERANCE after `fetched_at`."""
    if article.published_at > fetched_at + FUTURE_TOLERANCE:
        raise FutureDate(
            article.url,
            f"the page is dated {article.published_at.isoformat()}, more than a day after it "
            f"was fetched ({fetched_at.astimezone(SHANGHAI).isoformat()})",
        )
