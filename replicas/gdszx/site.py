"""The replica of 广东省政协 served in tests: UTF-8 pages of a provincial site platform.

Known of the real site: its host, www.gdszx.gov.cn, and that, as a government site, its article
pages carry the meta tags the 2017 政府网站发展指引 requires (SiteName, ColumnName,
ArticleTitle, PubDate, ContentSource). Nothing of its markup was saved.

Modelled on the URL scheme public Guangdong government sites share (www.gd.gov.cn and the
sites on the province's platform): a channel's list pages `/<column>/<slug>/index.html`, then
`index_2.html`, …; articles `/<column>/<slug>/content/post_<id>.html`, linked by absolute URLs.
The list is `ul.news_list` (each item a link, then its date in `span.date`) beside a 热点新闻
box linking the other channel's articles; the pager is 首页/上一页/1 2/下一页/尾页. An
article page has its title in `h3.article_title`, a time line `时间：YYYY-MM-DD HH:MM:SS` (to
the second, unlike the PubDate meta) then `来源：…` in spans of `div.article_info`, its body in
`div.article_con` (pictures under /attachment/, captions centred below), and a share box.
Every page is UTF-8. The markup, not only the URL scheme, differs from the 上海 replica's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from email.utils import format_datetime
from html import escape

from replicas.gdszx.articles import (
    CHANNELS,
    SECTION,
    GdszxArticle,
    channel_articles,
    render_page,
    replica_articles,
    resource,
)
from replicas.rmzxb.site import _png as png_bytes
from replicas.server import Reply, Routes
from replicas.shszx.articles import fill

LIST_PAGE_SIZE = 3
HOT_ITEMS = 2  # the other channel's newest articles in a list page's 热点新闻 box
ROBOTS = "User-agent: *\nDisallow: /admin/\n"


def build_site(base_url: str) -> Routes:
    """Every path of the replica and what it answers, for a server reachable at `base_url`."""
    routes: dict[str, Reply] = {
        "/robots.txt": Reply(200, (("Content-Type", "text/plain"),), ROBOTS.encode("ascii")),
        "/": _html_reply(_homepage(base_url)),
    }
    for article in replica_articles():
        routes.update(_article_routes(article))
    for key in CHANNELS:
        others = [a for other in CHANNELS if other != key for a in channel_articles(other)]
        routes.update(_list_routes(base_url, key, channel_articles(key), others[:HOT_ITEMS]))
    return routes


def not_found_page(path: str) -> Reply:
    """The site's 404 page."""
    body = (
        "<!DOCTYPE html><html><head><title>404</title></head><body><p>页面不存在</p></body></html>"
    )
    return _html_reply(body, status=404)


def list_page_path(key: str, number: int) -> str:
    """Page `number` of a channel's list: index.html, then index_2.html, …"""
    folder = CHANNELS[key][1]
    return f"{folder}index.html" if number == 1 else f"{folder}index_{number}.html"


def list_page_count(key: str) -> int:
    return -(-len(channel_articles(key)) // LIST_PAGE_SIZE)


def _list_routes(
    base_url: str, key: str, articles: Sequence[GdszxArticle], hot: Sequence[GdszxArticle]
) -> dict[str, Reply]:
    count = list_page_count(key)
    name, folder = CHANNELS[key]
    routes = {}
    for number in range(1, count + 1):
        chunk = articles[(number - 1) * LIST_PAGE_SIZE : number * LIST_PAGE_SIZE]
        html = fill(
            resource("templates/list.html"),
            {
                "channel_name": name,
                "channel_list": f"{folder}index.html",
                "section": SECTION,
                "nav": resource("templates/nav.html"),
                "items": "\n".join(_list_item(base_url, article) for article in chunk),
                "pager": _pager(key, number, count),
                "hot": "\n".join(
                    f'        <li><a href="{base_url}{a.path}">{escape(a.title)}</a></li>'
                    for a in hot
                ),
                "footer": resource("templates/footer.html"),
            },
        )
        routes[list_page_path(key, number)] = _html_reply(html)
    routes[folder] = routes[list_page_path(key, 1)]
    return routes


def _list_item(base_url: str, article: GdszxArticle) -> str:
    title = escape(article.title)
    return (
        f'        <li><a href="{base_url}{article.path}" target="_blank" title="{title}">'
        f'{title}</a><span class="date">{article.published_at:%Y-%m-%d}</span></li>'
    )


def _pager(key: str, number: int, count: int) -> str:
    def link(n: int, text: str, css: str = "") -> str:
        name = list_page_path(key, n).rsplit("/", 1)[1]
        attribute = f' class="{css}"' if css else ""
        return f'<a href="{name}"{attribute}>{text}</a>'

    parts = [link(1, "首页"), link(max(1, number - 1), "上一页", "prev")]
    parts += [
        f'<a class="cur">{n}</a>' if n == number else link(n, str(n)) for n in range(1, count + 1)
    ]
    parts += [link(min(count, number + 1), "下一页", "next"), link(count, "尾页")]
    return "".join(parts)


def _homepage(base_url: str) -> str:
    boxes = []
    for key, (name, folder) in CHANNELS.items():
        items = "\n".join(
            f'      <li><a href="{base_url}{a.path}">{escape(a.title)}</a></li>'
            for a in channel_articles(key)[:4]
        )
        boxes.append(
            f'  <div class="index_box"><div class="box_title"><span>{name}</span>'
            f'<a class="more" href="{folder}index.html">更多&gt;&gt;</a></div>\n'
            f'    <ul class="news_list">\n{items}\n    </ul></div>'
        )
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        "<title>广东省政协网</title>\n</head>\n<body>\n"
        + resource("templates/nav.html")
        + '<div class="main w1200">\n'
        + "\n".join(boxes)
        + "\n</div>\n"
        + resource("templates/footer.html")
    )


def _article_routes(article: GdszxArticle) -> dict[str, Reply]:
    published = article.published_at.astimezone(UTC)
    modified = (("Last-Modified", format_datetime(published, usegmt=True)),)
    routes = {article.path: _html_reply(render_page(article), extra=modified)}
    for number, (path, _) in enumerate(article.pictures, 1):
        image = png_bytes(article.post_id + number)
        routes[path] = Reply(200, (("Content-Type", "image/png"),), image)
    return routes


def _html_reply(html: str, status: int = 200, extra: tuple[tuple[str, str], ...] = ()) -> Reply:
    headers = (
        ("Content-Type", "text/html; charset=utf-8"),
        ("Server", "nginx"),
        *extra,
    )
    return Reply(status, headers, html.encode("utf-8"))
