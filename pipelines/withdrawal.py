"""What makes a re-checked article withdrawn, and when a channel's withdrawals are an outage."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.html
from w3lib.encoding import html_to_unicode

# Statuses saying the page is gone. 5xx, timeouts and refused connections say the server is
# in trouble, not that the article went: they never make a withdrawal.
GONE_STATUSES = (404, 410)

# What a site's "page not found" template says in its title or headings, served with 200.
# Data, not code: a site with other words gets them added here.
NOT_FOUND_PHRASES = (
    "页面不存在",
    "您访问的页面不存在",
    "页面未找到",
    "找不到",
    "已删除",
    "已被删除",
    "已撤稿",
    "已撤销",
    "稿件不存在",
    "文章不存在",
    "信息不存在",
    "404",
    "not found",
)
# Where a template says it: the page's title and its headings.
_SAID_IN = "//title | //h1 | //h2 | //h3"
# The paths a site's home page answers at, below its base URL.
_HOME_PATHS = ("", "/", "/index.html", "/index.htm", "/index.shtml", "/index.shtm")
_LIST_PAGE = re.compile(r"^index(?:_\d+)?\.s?html?$")

REDIRECTED_HOME = "redirected to the home page"
REDIRECTED_LIST = "redirected to a list page"
NOT_FOUND_TEMPLATE = "not-found template"


def gone_reason(status: int) -> str | None:
    """`http-404` or `http-410` for a status saying the page is gone; None for any other."""
    return f"http-{status}" if status in GONE_STATUSES else None


def says_not_found(headers: Sequence[tuple[str, str]], body: bytes) -> bool:
    """Whether an HTML page's title or a heading says the page is not there (页面不存在…)."""
    content_type = next((v for n, v in headers if n.lower() == "content-type"), None)
    _, text = html_to_unicode(content_type, body)
    if not text.strip():
        return False
    try:
        tree = lxml.html.fromstring(text)
    except (lxml.etree.ParserError, ValueError):  # not HTML at all
        return False
    said = " ".join(" ".join(node.itertext()) for node in tree.xpath(_SAID_IN)).lower()
    return any(phrase in said for phrase in NOT_FOUND_PHRASES)


def redirect_reason(
    url: str, base_url: str, hosts: Iterable[str], list_urls: Iterable[str]
) -> str | None:
    """Why an article redirected to `url` counts as withdrawn: `url` is the site's home page
    (on one of its `hosts`) or one of its channels' list pages; None for anywhere else."""
    parts = urlsplit(url)
    if parts.netloc.lower() not in {host.lower() for host in hosts}:
        return None
    base = urlsplit(base_url).path.rstrip("/")
    path = parts.path
    if path.startswith(base) and path[len(base) :] in _HOME_PATHS:
        return REDIRECTED_HOME
    folder, _, name = path.rpartition("/")
    for list_url in list_urls:
        list_folder = urlsplit(list_url).path.rpartition("/")[0]
        if folder == list_folder and (name == "" or _LIST_PAGE.match(name)):
            return REDIRECTED_LIST
    return None


@dataclass(frozen=True)
class OutageGuard:
    """When a channel's withdrawals in one crawl are too many to be true.

    A site that answers 404 for every page for an hour (a broken deployment, a maintenance
    page) must not make the archive record its whole channel withdrawn: when more than
    `max_percent` of at least `min_rechecks` re-checks of a channel's live articles in one
    crawl found them withdrawn, none of them is recorded.
    """

    min_rechecks: int = 5
    max_percent: float = 50.0

    def holds_back(self, withdrawn: int, rechecked: int) -> bool:
        """Whether `withdrawn` of `rechecked` re-checks are taken for an outage."""
        return rechecked >= self.min_rechecks and withdrawn * 100 > self.max_percent * rechecked
