"""Find a site's channel list pages in its navigation that the seeds do not list yet.

The parsing (`discover_channels`) is a pure function of the page; only `read_robots` and
`fetch_page` touch the network: plain GETs with the project's User-Agent and a timeout.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import lxml.html
from w3lib.encoding import html_to_unicode

from pipelines.errors import CppccArchiveError
from pipelines.normalise import parse_article_url
from pipelines.seeds import DEFAULT_SCHEDULE, Site

TIMEOUT = 30.0  # seconds for each request
# Paths of channel list pages, relative to base_url; group 1 is the channel's slug.
CHANNEL_PATHS = (
    re.compile(r"/([a-z][a-z0-9_]*)/(?:index\.shtml)?"),
    re.compile(r"/zxww/newcppcc/([a-z][a-z0-9_]*)/index\.shtml"),
    re.compile(r"/zxxw/([a-z][a-z0-9_]*)/"),
)
# Folders that are not channels, though their path looks like one.
NOT_CHANNELS = frozenset({"c", "images", "css", "js", "aboutus", "zxww", "zxxw"})


class DiscoveryError(CppccArchiveError):
    """The site's page could not be fetched (unreachable, refused, forbidden by robots.txt)."""


class PageNotFound(DiscoveryError):
    """The page answered 404."""


@dataclass(frozen=True)
class DiscoveredChannel:
    """A channel list page linked from a site's page: a seeds entry ready to paste."""

    key: str  # seeds key, from the slug (`yl_n` -> `yl`)
    name: str  # the link's text
    list_path: str  # relative to base_url, as the seeds write it
    url: str  # absolute, as linked

    def as_json(self) -> dict[str, str]:
        return {
            "key": self.key,
            "name": self.name,
            "list": self.list_path,
            "schedule": DEFAULT_SCHEDULE,
            "url": self.url,
        }


def discover_channels(
    html: str,
    page_url: str,
    base_url: str,
    aliases: Iterable[str] = (),
    known_paths: Iterable[str] = (),
    known_keys: Iterable[str] = (),
) -> list[DiscoveredChannel]:
    """The channel list pages `html` links to that are not among `known_paths`, in page order.

    A link counts when it stays on the site (base_url's host or an alias), carries no query
    or fragment, is not an article URL, and its path looks like a channel list page. Paths
    compare with `/x/` and `/x/index.shtml` the same. Keys avoid `known_keys` and each other.
    """
    hosts = {_host(base_url), *(alias.lower() for alias in aliases)}
    known = {_folder(path) for path in known_paths}
    taken = set(known_keys)
    found: dict[str, list[str]] = {}  # folder -> [key, name, path, url]
    for href, text in _links(html):
        url = urljoin(page_url, href.strip())
        path = _relative_path(url, base_url, hosts)
        slug = _channel_slug(path) if path else None
        if path is None or slug is None or parse_article_url(url) is not None:
            continue
        folder = _folder(path)
        if folder in known:
            continue
        if folder in found:
            found[folder][1] = found[folder][1] or text  # an image link first, its text later
            continue
        key = _unique_key(slug, taken)
        taken.add(key)
        found[folder] = [key, text, path, url]
    return [
        DiscoveredChannel(key=key, name=name or key, list_path=path, url=url)
        for key, name, path, url in found.values()
    ]


def _links(html: str) -> list[tuple[str, str]]:
    """(href, text with its white space collapsed, else its title) of every link."""
    if not html.strip():
        return []
    root = lxml.html.document_fromstring(html)
    links = []
    for anchor in root.iter("a"):
        href = anchor.get("href")
        if href:
            text = " ".join(anchor.text_content().split()) or (anchor.get("title") or "").strip()
            links.append((href, text))
    return links


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _relative_path(url: str, base_url: str, hosts: set[str]) -> str | None:
    """`url`'s path relative to base_url, or None when it leaves the site or has a query."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.query or parts.fragment:
        return None
    if (parts.hostname or "").lower() not in hosts:
        return None
    prefix = urlsplit(base_url).path.rstrip("/")
    if not parts.path.startswith(prefix + "/"):
        return None
    return parts.path[len(prefix) :]


def _channel_slug(path: str) -> str | None:
    for pattern in CHANNEL_PATHS:
        match = pattern.fullmatch(path)
        if match and match.group(1) not in NOT_CHANNELS:
            return match.group(1)
    return None


def _folder(path: str) -> str:
    """`/wh/index.shtml` and `/wh/` both as `/wh/`."""
    path = "/" + path.lstrip("/")
    return path.removesuffix("index.shtml")


def _unique_key(slug: str, taken: set[str]) -> str:
    # The site names some channels `yw_n` (a newer 要闻); the seeds call it `yw`.
    base = slug.removesuffix("_n") or slug
    for key in (base, slug):
        if key not in taken:
            return key
    number = 2
    while f"{slug}_{number}" in taken:
        number += 1
    return f"{slug}_{number}"


# -- output -----------------------------------------------------------------------------------


def as_toml(site: str, channels: Sequence[DiscoveredChannel]) -> str:
    """Seeds entries ready to paste under `[sites.SITE]`, one table per channel."""
    tables = [
        f"[sites.{site}.channels.{channel.key}]\n"
        f"name = {_toml_string(channel.name)}\n"
        f"list = {_toml_string(channel.list_path)}\n"
        f"schedule = {_toml_string(DEFAULT_SCHEDULE)}\n"
        for channel in channels
    ]
    return "\n".join(tables)


def _toml_string(text: str) -> str:
    # A JSON string is a TOML basic string, as long as it has no `\/` (json never writes one).
    return json.dumps(text, ensure_ascii=False)


# -- network ----------------------------------------------------------------------------------


def fetch_page(
    url: str, user_agent: str, robots: RobotFileParser | None = None, timeout: float = TIMEOUT
) -> str:
    """The page at `url` as text, if the site's robots.txt allows `user_agent` to read it.

    `robots` is the site's robots.txt already read (else it is read first). Raises
    PageNotFound on 404 and DiscoveryError for any other failure, one line each.
    """
    robots = robots or read_robots(url, user_agent, timeout)
    if not robots.can_fetch(user_agent, url):
        raise DiscoveryError(f"{url}: the site's robots.txt forbids fetching it")
    status, content_type, body = _get(url, user_agent, timeout)
    if status == 404:
        raise PageNotFound(f"{url}: 404 Not Found")
    if status != 200:
        raise DiscoveryError(f"{url}: answered {status}; try again later or give --page")
    return html_to_unicode(content_type, body)[1]


def read_robots(url: str, user_agent: str, timeout: float = TIMEOUT) -> RobotFileParser:
    """The site's robots.txt, read as RobotFileParser.read does but with our agent and timeout."""
    robots_url = urljoin(url, "/robots.txt")
    parser = RobotFileParser(robots_url)
    status, _, body = _get(robots_url, user_agent, timeout)
    if status in (401, 403):  # as RobotFileParser.read: a locked robots.txt forbids all
        parser.parse(["User-agent: *", "Disallow: /"])
    elif 400 <= status < 500:  # none: everything is allowed
        parser.parse([])
    elif status != 200:
        raise DiscoveryError(f"{robots_url}: answered {status}; try again later")
    else:
        parser.parse(body.decode("utf-8", errors="replace").splitlines())
    return parser


def _get(url: str, user_agent: str, timeout: float) -> tuple[int, str | None, bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers.get("Content-Type"), b""
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DiscoveryError(f"{url}: site unreachable: {reason}") from None


# -- the command -------------------------------------------------------------------------------


def discover_site(
    site: Site, page: str | None, user_agent: str, err: TextIO
) -> list[DiscoveredChannel]:
    """The channels the site's page links to that `site` does not list yet.

    `page` is a path relative to base_url; without it the home page (`/`) is read, and when
    that answers 404 the first seeded channel's list page, whose navigation bar links every
    channel too (a note on `err` says so).
    """
    url = site.url(page or "/")
    robots = read_robots(url, user_agent)
    try:
        html = fetch_page(url, user_agent, robots)
    except PageNotFound:
        if page is not None or not site.channels:
            raise
        url = site.url(site.channels[0].list_path)
        print(f"cppcc-archive: {site.url('/')} answered 404; reading {url} instead", file=err)
        html = fetch_page(url, user_agent, robots)
    return discover_channels(
        html,
        url,
        site.base_url,
        site.aliases,
        known_paths=[channel.list_path for channel in site.channels],
        known_keys=[channel.key for channel in site.channels],
    )


def print_discovered(
    site: str, channels: Sequence[DiscoveredChannel], fmt: str, out: TextIO, err: TextIO
) -> None:
    """Print the channels as seeds TOML (or JSON); say so on `err` when there is none."""
    if fmt == "json":
        json.dump([channel.as_json() for channel in channels], out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif channels:
        out.write(as_toml(site, channels))
    if not channels:
        print(f"cppcc-archive: no channel of {site} found that the seeds do not have", file=err)
