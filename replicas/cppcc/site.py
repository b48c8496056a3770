"""The replica of 中国政协网 served in tests: homepage, list pages of both designs, articles.

Two channels: 要闻 of the current design (`/zxxw/yw/`: items as `#txtBox li` with a `.time`)
and 要闻 of the old design (`/zxww/newcppcc/zxyw/index.shtml`: items written by a script as
`item[N]=new title_array('url','title','YYYY-MM-DD');`, some URLs absolute, some relative).
Each has two list pages. The navigation and the 热点 box around the lists link an article
that is no list item (`NAV_ARTICLE_PATH`, not in the replica): a list walker never asks for it.
Article bodies link pictures and attachments, served here as small files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from html import escape
from importlib import resources
from string import Template
from urllib.parse import urljoin, urlsplit

from replicas.cppcc.articles import CHANNEL_ARTICLES, replica_articles
from replicas.rmzxb.articles import ReplicaArticle
from replicas.rmzxb.site import _png as png_bytes
from replicas.server import Reply, Routes

LIST_PAGE_SIZE = 2
CURRENT_CHANNEL = "yw"  # /zxxw/yw/
OLD_CHANNEL = "zxyw"  # /zxww/newcppcc/zxyw/index.shtml
# Channel key: (folder, name, catalog id, design).
CHANNELS = {
    CURRENT_CHANNEL: ("/zxxw/yw/", "要闻", "PAGE1622106245392207", "current"),
    OLD_CHANNEL: ("/zxww/newcppcc/zxyw/", "要闻", "PAGE1512382093463314", "old"),
}
# 联系我们 in the navigation: an article URL that no list holds (and the replica does not serve).
NAV_ARTICLE_PATH = "/zxww/2018/03/01/ARTI1519888349750339.shtml"
# The old design's navigation (2018 slugs): other channels, never walked by a crawl of 要闻.
OLD_NAV = (
    ("zxyw", "要闻"),
    ("qwfb", "权威发布"),
    ("ldjh", "领导讲话"),
    ("tzgg", "通知公告"),
    ("wyjy", "委员建言"),
)
ATTACHMENT_LINK = re.compile(r"""href=["']([^"'#?]+\.(pdf|docx?|xlsx?|zip))["']""", re.IGNORECASE)
ATTACHMENT_TYPES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
ROBOTS = "User-agent: *\nDisallow: /CMS/icms/standard/search/\n"
FIXED_DATE = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def build_site(base_url: str) -> Routes:
    """Every path of the replica and what it answers, for a server reachable at `base_url`."""
    articles = {article.key: article for article in replica_articles()}
    routes: dict[str, Reply] = {
        "/robots.txt": Reply(200, (("Content-Type", "text/plain"),), ROBOTS.encode("ascii")),
        "/": _homepage(base_url, articles.values()),
    }
    for article in articles.values():
        routes.update(_article_routes(article))
    for key, keys in channel_lists(articles).items():
        routes.update(_list_routes(key, [articles[k] for k in keys], base_url))
    return routes


def not_found_page(path: str) -> Reply:
    """The site's 404 page."""
    body = "<html><head><title>404</title></head><body><p>您访问的页面不存在</p></body></html>"
    return Reply(404, _html_headers(), body.encode("utf-8"))


def channel_lists(articles: dict[str, ReplicaArticle]) -> dict[str, list[str]]:
    """Article keys by channel: CHANNEL_ARTICLES, and every other article in 要闻."""
    lists = {key: [k for k in CHANNEL_ARTICLES.get(key, ()) if k in articles] for key in CHANNELS}
    listed = {k for keys in lists.values() for k in keys}
    lists[CURRENT_CHANNEL] += [key for key in articles if key not in listed]
    return lists


def list_page_path(folder: str, number: int) -> str:
    """Page `number` of the list in `folder`; page 1 of the current design is the folder itself."""
    return folder + ("index.shtml" if number == 1 else f"index_{number}.shtml")


def _list_routes(key: str, articles: Sequence[ReplicaArticle], base_url: str) -> dict[str, Reply]:
    folder, name, catalog_id, design = CHANNELS[key]
    ordered = sorted(articles, key=lambda a: a.published, reverse=True)
    chunks = [ordered[i : i + LIST_PAGE_SIZE] for i in range(0, len(ordered), LIST_PAGE_SIZE)]
    while len(chunks) < 2:
        chunks.append([])  # two list pages whatever the number of articles
    routes = {}
    for number, chunk in enumerate(chunks, 1):
        if design == "current":
            html = _current_list(chunk, ordered, base_url, name, catalog_id, folder, number)
        else:
            html = _old_list(chunk, base_url, name, catalog_id, number, len(chunks))
        reply = Reply(200, _html_headers(), html.encode("utf-8"))
        routes[list_page_path(folder, number)] = reply
        if number == 1 and design == "current":
            routes[folder] = reply
    return routes


def _current_list(
    chunk: Sequence[ReplicaArticle],
    ordered: Sequence[ReplicaArticle],
    base_url: str,
    name: str,
    catalog_id: str,
    folder: str,
    number: int,
) -> str:
    depth = folder.count("/") - 1
    items = [
        # Relative to the list's folder, as the real list pages write them.
        f'        <li><a href="{"../" * depth}{article.pages[0].path.lstrip("/")}" '
        f'target="_blank">{escape(article.title)}</a>'
        f'<span class="time">{article.published.isoformat()}</span></li>'
        for article in chunk
    ]
    hot = [f'      <li><a href="{NAV_ARTICLE_PATH}">政协全国委员会机构设置</a></li>']
    hot += [
        f'      <li><a href="{a.pages[0].path}">{escape(a.title)}</a></li>' for a in ordered[:1]
    ]
    count = -(-len(ordered) // LIST_PAGE_SIZE) or 1
    return _template("list_current.html").substitute(
        base_url=base_url,
        channel_name=name,
        catalog_id=catalog_id,
        contact=base_url + NAV_ARTICLE_PATH,
        items="\n".join(items),
        hot="\n".join(hot),
        pager=_pager(folder, number, max(count, 2)),
    )


def _old_list(
    chunk: Sequence[ReplicaArticle],
    base_url: str,
    name: str,
    catalog_id: str,
    number: int,
    count: int,
) -> str:
    items = []
    for index, article in enumerate(chunk):
        path = article.pages[0].path
        # The saved 2019 page wrote absolute URLs; relative ones must work as well.
        url = base_url + path if index % 2 == 0 else path
        title = article.title.replace("\\", "\\\\").replace("'", "\\'")
        position = (number - 1) * LIST_PAGE_SIZE + index + 1
        items.append(
            f"item[{position}]=new title_array('{url}','{title}',"
            f"'{article.published.isoformat()}');"
        )
    nav = [
        f'\t\t\t<li><a class="nav_a" href="{base_url}/zxww/newcppcc/{slug}/index.shtml" '
        f'target="_blank">{text}</a></li>'
        for slug, text in OLD_NAV
    ]
    nav.append(f'\t\t\t<li><a class="nav_a" href="{base_url}{NAV_ARTICLE_PATH}">联系我们</a></li>')
    pager = []
    if number > 1:
        pager.append(f'<a href="{list_page_path("", number - 1)}">上一页</a>')
    if number < count:
        pager.append(f'<a href="{list_page_path("", number + 1)}">下一页</a>')
    return _template("list_old.html").substitute(
        base_url=base_url,
        channel_name=name,
        catalog_id=catalog_id,
        nav="\n".join(nav),
        items="\n".join(items),
        pager=" ".join(pager),
    )


def _pager(folder: str, number: int, count: int) -> str:
    links = [f'<a href="{folder}">首页</a>']
    if number > 1:
        previous = folder if number == 2 else list_page_path(folder, number - 1)
        links.append(f'<a href="{previous}">上一页</a>')
    links += [
        f"<span>{n}</span>" if n == number else f'<a href="{list_page_path(folder, n)}">{n}</a>'
        for n in range(1, count + 1)
    ]
    if number < count:
        links.append(f'<a href="{list_page_path(folder, number + 1)}">下一页</a>')
    return " ".join(links)


def _homepage(base_url: str, articles: Iterable[ReplicaArticle]) -> Reply:
    top = sorted(articles, key=lambda a: a.published, reverse=True)[:3]
    news = "\n".join(
        f'      <li><a href="{base_url}{a.pages[0].path}">{escape(a.title)}</a></li>' for a in top
    )
    html = f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>中国政协网</title>
</head>
<body>
<div class="header">
  <ul class="nav">
    <li><a href="{base_url}/">首页</a></li>
    <li><a href="{base_url}/zxxw/yw/" target="_blank">要闻</a></li>
    <li><a href="{base_url}/zxww/newcppcc/zxyw/index.shtml" target="_blank">政协新闻</a></li>
    <li><a href="{base_url}{NAV_ARTICLE_PATH}" target="_blank">联系我们</a></li>
  </ul>
</div>
<div class="md">
  <div class="md_hd"><span class="mh_title"><a href="{base_url}/zxxw/yw/">要闻</a></span></div>
  <ul class="text_list">
{news}
  </ul>
</div>
</body>
</html>
"""
    return Reply(200, _html_headers(), html.encode("utf-8"))


def _article_routes(article: ReplicaArticle) -> dict[str, Reply]:
    routes: dict[str, Reply] = {}
    published = datetime.combine(article.published, datetime.min.time(), UTC)
    modified = format_datetime(published, usegmt=True)
    for page in article.pages:
        declared = "gb2312" if page.charset == "gbk" else page.charset
        headers = (*_html_headers(declared), ("Last-Modified", modified))
        routes[page.path] = Reply(200, headers, page.html.encode(page.charset))
        routes.update(_attachment_routes(page.path, page.html))
    for number, path in enumerate(article.image_paths):
        routes[path] = Reply(200, (("Content-Type", "image/png"),), png_bytes(len(path) + number))
    return routes


def attachment_paths(page_path: str, html: str) -> list[str]:
    """Paths of the files the page links (site-relative, resolved against the page)."""
    paths = []
    for href, _ in ATTACHMENT_LINK.findall(html):
        parts = urlsplit(urljoin("http://replica" + page_path, href))
        if parts.netloc in ("replica", ""):
            paths.append(parts.path)
    return paths


def _attachment_routes(page_path: str, html: str) -> dict[str, Reply]:
    routes = {}
    for path in attachment_paths(page_path, html):
        kind = path.rsplit(".", 1)[-1].lower()
        body = _pdf(path) if kind == "pdf" else f"replica attachment {path}\n".encode()
        headers = (("Content-Type", ATTACHMENT_TYPES[kind]),)
        routes[path] = Reply(200, headers, body)
    return routes


def _pdf(path: str) -> bytes:
    """A minimal one-page PDF naming `path`, so every attachment has its own digest."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%" + path.encode("ascii", "replace") + b"\n%%EOF\n"
    )


def _html_headers(charset: str = "utf-8") -> tuple[tuple[str, str], ...]:
    return (("Content-Type", f"text/html; charset={charset}"), ("Server", "nginx"))


@cache
def _template(name: str) -> Template:
    text = resources.files("replicas.cppcc").joinpath(f"templates/{name}").read_text("utf-8")
    return Template(text)
