"""Article URLs: recognise an article and its page number, and build canonical page URLs.

An article is recognised by the tail of its path: a site's pattern must match the path from
some `/` to its end, so a site served under a path prefix (a mirror at http://host/mirror)
keeps its article URLs. The normaliser reads URLs this way, since it sees no seeds; the
spider, which knows the site's base_url, passes it and gets the strict rule: the path must
lie under base_url's path and the rest must match the pattern whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from pipelines.normalise.errors import NotAnArticleUrl
from pipelines.profiles.files import profile_for_url
from pipelines.profiles.model import ArticlePath, SiteProfile


@dataclass(frozen=True)
class ArticleUrl:
    """What an article URL says: the site's content id and the page number (1 for page one)."""

    content_id: str
    page: int


@lru_cache(maxsize=32)
def _tail(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern anchored at the end of the path (patterns start with `/`, a segment start)."""
    return re.compile(rf"(?:{pattern.pattern})\Z", pattern.flags)


def _match_path(path: str, profile: SiteProfile) -> tuple[ArticlePath, re.Match[str]] | None:
    """The matching pattern and its match (groups `id`, `page`, and `ext` if it has one)."""
    for article_path in profile.article_paths:
        match = _tail(article_path.pattern).search(path)
        if match:
            return article_path, match
    return None


def _page_number(article_path: ArticlePath, match: re.Match[str]) -> int:
    """The page number the URL's suffix names (TRS writes page 2 as `_1`)."""
    written = match.groupdict().get("page")
    if not written:
        return 1
    return int(written) + 2 - article_path.second_page_number


def _site_relative(path: str, base_url: str) -> str | None:
    """The path below base_url's path, starting with `/`; None when the path is outside it."""
    base_path = urlsplit(base_url).path.rstrip("/")
    if not path.startswith(base_path + "/"):
        return None
    return path[len(base_path) :]


def _is_article_path(path: str, profile: SiteProfile) -> bool:
    """Whether a site-relative path is an article path, matched whole."""
    return any(article_path.pattern.fullmatch(path) for article_path in profile.article_paths)


def parse_article_url(
    url: str, profile: SiteProfile | None = None, *, base_url: str | None = None
) -> ArticleUrl | None:
    """The content id and page of an article URL (path only, any host), or None for other URLs.

    Without base_url the pattern matches the end of the path; with it, the path below
    base_url's path must match the pattern whole.
    """
    profile = profile or profile_for_url(url)
    path = urlsplit(url).path
    if base_url is not None:
        relative = _site_relative(path, base_url)
        if relative is None or not _is_article_path(relative, profile):
            return None
    matched = _match_path(path, profile)
    if matched is None:
        return None
    article_path, match = matched
    page = _page_number(article_path, match)
    if page < 1:
        return None
    return ArticleUrl(content_id=match["id"], page=page)


def page_url(url: str, page: int, profile: SiteProfile | None = None) -> str:
    """The URL of page `page` of the article `url` belongs to: same host, no query or fragment."""
    if page < 1:
        raise ValueError(f"page numbers start at 1, not {page}")
    profile = profile or profile_for_url(url)
    parts = urlsplit(url)
    matched = _match_path(parts.path, profile)
    if matched is None:
        raise NotAnArticleUrl(url, f"not an article URL of site {profile.name}")
    article_path, match = matched
    later = page - 2 + article_path.second_page_number
    suffix = article_path.first_page_suffix if page == 1 else f"_{later}"
    # A pattern with an `ext` group keeps the URL's own (.htm, .html, .shtml on one site).
    extension = match.groupdict().get("ext") or article_path.extension
    path = f"{parts.path[: match.end('id')]}{suffix}{extension}"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _host(alias: str) -> str:
    """The host an alias names, given as a bare host or as a URL."""
    return (urlsplit(alias).hostname or "") if "//" in alias else alias.lower()


def canonical_article_url(
    url: str, *, base_url: str, aliases: Sequence[str] = (), profile: SiteProfile | None = None
) -> str:
    """The page-1 URL of an article, moved to base_url's scheme and host from an alias host.

    The path is kept whole, base_url's path prefix included.
    """
    first_page = urlsplit(page_url(url, 1, profile))
    base = urlsplit(base_url)
    own_hosts = {(base.hostname or "").lower(), *(_host(alias) for alias in aliases)}
    if (first_page.hostname or "").lower() in own_hosts:
        first_page = first_page._replace(scheme=base.scheme, netloc=base.netloc)
    return urlunsplit(first_page)


class SeededSite(Protocol):
    """What a seeds file says of a site that article URLs depend on (pipelines.seeds.Site)."""

    @property
    def key(self) -> str: ...

    @property
    def base_url(self) -> str: ...

    @property
    def profile(self) -> SiteProfile: ...


def seeded_article_site(url: str, sites: Iterable[SeededSite]) -> str | None:
    """The key of the seeded site whose base URL serves `url` as page 1 of an article.

    The host must be the site's (with its port: replicas share 127.0.0.1) and the path one of
    the site's article paths under its base URL.
    """
    host = urlsplit(url).netloc.lower()
    for site in sites:
        if urlsplit(site.base_url).netloc.lower() != host:
            continue
        parsed = parse_article_url(url, site.profile, base_url=site.base_url)
        if parsed is not None and parsed.page == 1:
            return site.key
    return None
