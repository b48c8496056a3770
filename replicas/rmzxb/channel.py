"""A 人民政协网 channel of any size, from the real templates: what crawls at scale walk.

Article `index` 0 is the oldest, one every six hours from 2018-01-01; the list pages hold 20
articles each, newest first, with the site's own pager (a window of page numbers, 下一页, 尾页).
Publishing more articles pushes the older ones to later list pages, as on the real site.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from functools import cache
from html import escape
from importlib.resources import files
from string import Template
from zoneinfo import ZoneInfo

from replicas.rmzxb.articles import ArticleSpec, Subhead, render_page
from replicas.server import Reply, Routes

CHANNEL_KEY = "yw"
CHANNEL_FOLDER = "/yw_n/"
LIST_PAGE_SIZE = 20
BODY_BYTES = 3_500  # body text per article: with the template's chrome, pages of about 25 KB
PAGER_WINDOW = 10
_SHANGHAI = ZoneInfo("Asia/Shanghai")
_FIRST_DAY = datetime.datetime(2018, 1, 1, 9, 0, tzinfo=_SHANGHAI)
_HTML = (("Content-Type", "text/html; charset=utf-8"), ("Server", "nginx"))


@cache
def corpus_paragraphs() -> tuple[str, ...]:
    """The prose lines of the replica's seed article: realistic Chinese news paragraphs."""
    text = (files("replicas.rmzxb") / "pages/seed_article.txt").read_text("utf-8")
    return tuple(line.strip() for line in text.splitlines() if len(line.strip()) >= 40)


def article_spec(index: int) -> ArticleSpec:
    """Article `index` (0 = oldest): one every six hours, paragraphs rotated so bodies differ."""
    paragraphs = corpus_paragraphs()
    blocks: list[str | Subhead] = [Subhead(f"第{index + 1}篇 政协委员履职纪实")]
    size, start = 0, index % len(paragraphs)
    while size < BODY_BYTES:
        text = paragraphs[(start + len(blocks)) % len(paragraphs)]
        blocks.append(text)
        size += len(text.encode("utf-8"))
    published = _FIRST_DAY + datetime.timedelta(hours=6 * index)
    return ArticleSpec(
        key=f"bench{index}",
        content_id=str(4_000_000 + index),
        published_at=published,
        title=f"河南省政协以作风建设引领履职创新纪实（{index + 1}）",
        subtitle="与历史同向 与时代同行 与人民同心",
        section=("要闻",),
        pages=(tuple(blocks),),
        author="王小明",
        keywords=("政协", "作风建设"),
    )


def channel_pages(articles: int, page_size: int = LIST_PAGE_SIZE) -> Iterator[tuple[str, str]]:
    """(path, HTML) of every article page, then of every list page, of a channel of `articles`
    listed `page_size` to a list page."""
    specs = [article_spec(index) for index in reversed(range(articles))]  # newest first
    for spec in specs:
        yield spec.path, render_page(spec, 1)
    chunks = [specs[i : i + page_size] for i in range(0, len(specs), page_size)]
    for number, chunk in enumerate(chunks, start=1):
        yield list_path(number), list_page(chunk, number, len(chunks))


def channel_routes(articles: int, page_size: int = LIST_PAGE_SIZE) -> Routes:
    """The channel as a ReplicaServer serves it (with a robots.txt allowing it all)."""
    routes = {
        path: Reply(200, _HTML, html.encode("utf-8"))
        for path, html in channel_pages(articles, page_size)
    }
    routes["/robots.txt"] = Reply(200, (("Content-Type", "text/plain"),), ROBOTS_TXT.encode())
    return routes


ROBOTS_TXT = "User-agent: *\nDisallow: /admin/\n"
# A seeds file for the channel served at {base_url}, crawled as fast as loopback allows.
SEEDS = """\
[sites.rmzxb]
name = "人民政协网 (generated channel)"
base_url = "{base_url}"
download_delay = 0
autothrottle = false

[sites.rmzxb.channels.yw]
name = "要闻"
list = "/yw_n/index.shtml"
"""


def list_path(number: int) -> str:
    """The path of list page `number`: `index.shtml`, then `index_N.shtml`."""
    return CHANNEL_FOLDER + ("index.shtml" if number == 1 else f"index_{number}.shtml")


def list_page(specs: list[ArticleSpec], number: int, count: int) -> str:
    """List page `number` of `count`, listing `specs`."""
    items = "\n".join(
        f'              <li><a href="{spec.path}" target="_blank">{escape(spec.title)}</a>'
        f'<span class="time">{spec.published_at:%Y-%m-%d}</span></li>'
        for spec in specs
    )
    return _list_template().substitute(
        catalog_id="10001",
        channel_name="要闻",
        breadcrumb=f'<a href="{list_path(1)}">要闻</a>',
        items=items,
        pager=_pager(number, count),
        side="",
        hot="",
        generated="2026-11-01 08:00:00",
    )


def _pager(number: int, count: int) -> str:
    """首页, 上一页, a window of page numbers, 下一页, 尾页: as the site's own pager."""
    links = [f'<a href="{list_path(1)}">首页</a>']
    if number > 1:
        links.append(f'<a href="{list_path(number - 1)}">上一页</a>')
    low = max(1, number - PAGER_WINDOW // 2)
    for n in range(low, min(count, low + PAGER_WINDOW - 1) + 1):
        links.append(f"<span>{n}</span>" if n == number else f'<a href="{list_path(n)}">{n}</a>')
    if number < count:
        links.append(f'<a href="{list_path(number + 1)}">下一页</a>')
    links.append(f'<a href="{list_path(count)}">尾页</a>')
    return " ".join(links)


@cache
def _list_template() -> Template:
    return Template((files("replicas.rmzxb") / "templates/list.shtml").read_text("utf-8"))
