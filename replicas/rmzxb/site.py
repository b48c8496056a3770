"""The replica of 人民政协网 served in tests and by `cppcc-archive demo`: list pages and behaviours.

Two channels, 协商 (`/xs/`) and 要闻 (`/yw_n/`), whose list pages link the replica's articles,
and one path per behaviour a crawler meets on the real site: a gzip-encoded page, a page
setting two cookies, a 301 from a pre-2014 URL, a 404, a 500, a page robots.txt forbids,
a page served as GBK, pictures.

On 协商's list pages a side box holds two links a list walker must not follow: the next page
of a sub-channel (`/xs/zxdt/index_2.shtml`) and a "下一页" link into another channel.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from html import escape
from importlib import resources
from string import Template

from replicas.rmzxb import SEEDS_SITE as SEEDS_SITE  # where the tests read it from
from replicas.rmzxb.articles import ReplicaArticle, replica_articles
from replicas.server import Reply, Routes

LIST_PAGE_SIZE = 4
# Article keys by channel; fillers are shared out between the two channels.
CHANNEL_ARTICLES = {
    "xs": ("seed", "two_page", "gbk", "author", "legacy", "robots"),
    "yw": ("real", "gzip", "cookies"),
}
CHANNELS = {
    "xs": ("/xs/", "协商", "10036", '<a href="/xs/index.shtml">协商</a>'),
    "yw": ("/yw_n/", "要闻", "10001", '<a href="/yw_n/index.shtml">要闻</a>'),
}
LEGACY_PATH = "/sqmy/nywy/2014/06/17/340701_1.shtml"  # answers 301 to the article's /c/ URL
NOT_FOUND_PATH = "/c/2022-03-06/3064650.shtml"
SERVER_ERROR_PATH = "/c/2022-03-06/3064651.shtml"
# An article URL answering 200 with a login page: archived, not catalogued, reason recorded.
LOGIN_PAGE_PATH = "/c/2022-03-06/3064652.shtml"
LOGIN_PAGE = (
    "<html><head><meta charset='utf-8'><title>用户登录</title></head><body>"
    "<form action='/login' method='post'><input name='user'><input name='password' "
    "type='password'><button>登录</button></form></body></html>"
)
# Links in the side box of 协商's list pages that look like its next page but are not.
SUB_CHANNEL_NEXT_PATH = "/xs/zxdt/index_2.shtml"
OTHER_CHANNEL_NEXT_PATH = "/tz/index_2.shtml"
ALIAS_HOST = "www.rmzxw.com.cn"  # the alias host of the real site: the crawler folds it
FIXED_DATE = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def build_site(base_url: str) -> Routes:
    """Every path of the replica and what it answers, for a server reachable at `base_url`."""
    articles = {article.key: article for article in replica_articles()}
    routes: dict[str, Reply] = {"/robots.txt": _robots(articles["robots"])}
    for article in articles.values():
        routes.update(_article_routes(article))
    for key, article_keys in _channel_lists(articles).items():
        routes.update(_list_routes(key, [articles[k] for k in article_keys], base_url))
    legacy = articles["legacy"].pages[0].path
    routes[LEGACY_PATH] = Reply(301, (("Location", base_url + legacy), *_html_headers()), b"")
    routes[LOGIN_PAGE_PATH] = Reply(200, _html_headers(), LOGIN_PAGE.encode("utf-8"))
    routes[SERVER_ERROR_PATH] = Reply(
        500, _html_headers(), b"<html><body><h1>500 Internal Server Error</h1></body></html>"
    )
    return routes


def not_found_page(path: str) -> Reply:
    """The site's 404 page (the real one is an HTML page too)."""
    body = (
        "<html><head><title>404 页面不存在</title></head><body><h1>404</h1>"
        "<p>您访问的页面不存在</p></body></html>"
    )
    return Reply(404, _html_headers(), body.encode("utf-8"))


def _channel_lists(articles: dict[str, ReplicaArticle]) -> dict[str, list[str]]:
    fillers = [
        key for key in articles if not any(key in keys for keys in CHANNEL_ARTICLES.values())
    ]
    lists = {key: list(keys) for key, keys in CHANNEL_ARTICLES.items()}
    for index, key in enumerate(fillers):
        lists["xs" if index % 2 == 0 else "yw"].append(key)
    return lists


def _article_routes(article: ReplicaArticle) -> dict[str, Reply]:
    routes: dict[str, Reply] = {}
    last_modified = datetime.combine(article.published, datetime.min.time(), UTC)
    for page in article.pages:
        declared = "gb2312" if page.charset == "gbk" else page.charset
        modified = format_datetime(last_modified, usegmt=True)
        headers = (*_html_headers(declared), ("Last-Modified", modified))
        body = page.html.encode(page.charset)
        if article.key == "gzip":
            headers += (("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding"))
            body = gzip.compress(body, mtime=0)
        if article.key == "cookies":
            headers += (
                ("Set-Cookie", "zcms_session=8f14e45f; Path=/; HttpOnly"),
                ("Set-Cookie", "visitor=replica; Path=/; Max-Age=3600"),
            )
        routes[page.path] = Reply(200, headers, body)
    for number, path in enumerate(article.image_paths):
        routes[path] = Reply(200, (("Content-Type", "image/png"),), _png(len(path) + number))
    return routes


def _list_routes(key: str, articles: Sequence[ReplicaArticle], base_url: str) -> dict[str, Reply]:
    folder, name, catalog_id, breadcrumb = CHANNELS[key]
    ordered = sorted(articles, key=lambda a: a.published, reverse=True)
    chunks = [ordered[i : i + LIST_PAGE_SIZE] for i in range(0, len(ordered), LIST_PAGE_SIZE)]
    routes = {}
    for number, chunk in enumerate(chunks, 1):
        items = [_list_item(article, base_url) for article in chunk]
        if key == "xs" and number == 1:
            items += _odd_links()
        html = _list_template().substitute(
            catalog_id=catalog_id,
            channel_name=name,
            breadcrumb=breadcrumb,
            items="\n".join(items),
            pager=_pager(folder, number, len(chunks)),
            side=_side_box() if key == "xs" else "",
            hot=_hot_links(ordered),
            generated=FIXED_DATE.strftime("%Y-%m-%d %H:%M:%S"),
        )
        path = folder + ("index.shtml" if number == 1 else f"index_{number}.shtml")
        routes[path] = Reply(200, _html_headers(), html.encode("utf-8"))
    return routes


def _list_item(article: ReplicaArticle, base_url: str) -> str:
    href = article.pages[0].path
    if article.key == "legacy":
        href = LEGACY_PATH
    elif article.key == "cookies":
        href = f"http://{ALIAS_HOST}{href}"  # the alias host: same site, same ids
    elif article.key == "seed":
        href += "?n2m=1"  # a shared link
    title = escape(article.title)
    return (
        f'              <li><a href="{href}" target="_blank">{title}</a>'
        f'<span class="time">{article.published.isoformat()}</span></li>'
    )


def _odd_links() -> list[str]:
    return [
        f'              <li><a href="{NOT_FOUND_PATH}">已删除的稿件</a></li>',
        f'              <li><a href="{SERVER_ERROR_PATH}">服务器出错的稿件</a></li>',
        f'              <li><a href="{LOGIN_PAGE_PATH}">需要登录的稿件</a></li>',
    ]


def _side_box() -> str:
    # Floated beside the list but first in the markup: a walker taking the first link that
    # looks like a next page meets these before the pager.
    return (
        '          <div class="list_side fr"><h3>政协动态</h3>'
        f'<a href="{OTHER_CHANNEL_NEXT_PATH}">下一页</a> '
        f'<a href="{SUB_CHANNEL_NEXT_PATH}">更多</a></div>'
    )


def _hot_links(articles: Sequence[ReplicaArticle]) -> str:
    # The hot list links articles of the same channel again: the crawler fetches each once.
    return "\n".join(
        f'              <li><a href="{a.pages[0].path}">{escape(a.title)}</a></li>'
        for a in articles[:2]
    )


def _pager(folder: str, number: int, count: int) -> str:
    def page_path(n: int) -> str:
        return folder + ("index.shtml" if n == 1 else f"index_{n}.shtml")

    links = [f'<a href="{page_path(1)}">首页</a>']
    if number > 1:
        links.append(f'<a href="{page_path(number - 1)}">上一页</a>')
    links += [
        f"<span>{n}</span>" if n == number else f'<a href="{page_path(n)}">{n}</a>'
        for n in range(1, count + 1)
    ]
    if number < count:
        links.append(f'<a href="{page_path(number + 1)}">下一页</a>')
    links.append(f'<a href="{page_path(count)}">尾页</a>')
    return " ".join(links)


def _robots(forbidden: ReplicaArticle) -> Reply:
    text = f"User-agent: *\nDisallow: {forbidden.pages[0].path}\n"
    return Reply(200, (("Content-Type", "text/plain"),), text.encode("ascii"))


def _html_headers(charset: str = "utf-8") -> tuple[tuple[str, str], ...]:
    return (("Content-Type", f"text/html; charset={charset}"), ("Server", "nginx"))


@cache
def _list_template() -> Template:
    text = resources.files("replicas.rmzxb").joinpath("templates/list.shtml").read_text("utf-8")
    return Template(text)


def _png(seed: int) -> bytes:
    """A valid 1×1 PNG whose colour depends on `seed`, so every picture has its own digest."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    pixel = bytes([0, seed % 256, (seed * 7) % 256, (seed * 13) % 256])
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixel))
        + chunk(b"IEND", b"")
    )
