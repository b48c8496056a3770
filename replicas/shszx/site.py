"""The replica of 上海政协 served in tests: a GB2312 site of TRS-style list and article pages.

Known of the real site (www.shszx.gov.cn): it serves GB2312, and the head of its homepage
(saved in ../shared/reference/pages/): the head, the 无障碍 toolbar scripts, `#container`,
`#header` and its skip links to `mainNav`, css under /images/zx201405/zhengxie/. Every page
here opens with that saved markup.

Modelled, its list and article markup being unknown, on what Shanghai's TRS-published
government sites serve: a channel's list pages `/xwzx/<slug>/index.html`, then
`index_1.html` (TRS numbers the second page 1) linked by a static 首页/上一页/下一页/尾页
pager (some TRS templates write it with a `createPageHTML` script instead, which no crawler
follows); relative item links `./YYYYMM/tYYYYMMDD_<doc id>.html` in `ul.list-date`, beside a
热点推荐 box linking the other channel's articles; article pages with the government-site
meta tags (ArticleTitle, PubDate, ContentSource), an info line 来源：… 发布时间：…, the body in
`#ivs_content > div.TRS_Editor`, uploads beside the page (`W0….png` pictures, `P0….pdf`
attachments), and a multi-page article's page 2 at `t…_<doc id>_1.html`.

Pages are GB18030 bytes sent as `text/html; charset=gb2312`: 镕, 堃 and 喆 are not in GB2312.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from email.utils import format_datetime
from html import escape

from replicas.cppcc.site import _pdf as pdf_bytes
from replicas.rmzxb.site import _png as png_bytes
from replicas.server import Reply, Routes
from replicas.shszx.articles import (
    CHANNELS,
    HOMEPAGE_FRAGMENT,
    ShszxArticle,
    channel_articles,
    fill,
    page_header,
    render_page,
    replica_articles,
    resource,
)

CHARSET = "gb18030"
DECLARED_CHARSET = "gb2312"
LIST_PAGE_SIZE = 6
HOT_ITEMS = 2  # the other channel's newest articles in a list page's 热点推荐 box
ROBOTS = "User-agent: *\nDisallow: /trs/\n"


def build_site(base_url: str) -> Routes:
    """Every path of the replica and what it answers, for a server reachable at `base_url`."""
    routes: dict[str, Reply] = {
        "/robots.txt": Reply(200, (("Content-Type", "text/plain"),), ROBOTS.encode("ascii")),
        "/": _html_reply(_homepage()),
        "/index.html": _html_reply(_homepage()),
    }
    for article in replica_articles():
        routes.update(_article_routes(article))
    for key in CHANNELS:
        others = [a for other in CHANNELS if other != key for a in channel_articles(other)]
        routes.update(_list_routes(key, channel_articles(key), others[:HOT_ITEMS]))
    return routes


def not_found_page(path: str) -> Reply:
    """The site's 404 page, GB2312 like the rest."""
    body = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"/>'
        "<title>页面不存在</title></head><body><p>对不起，您访问的页面不存在。</p></body></html>"
    )
    return _html_reply(body, status=404)


def list_page_path(key: str, number: int) -> str:
    """Page `number` (1, 2, …) of a channel's list: index.html, then index_1.html, …"""
    folder = CHANNELS[key][1]
    return f"{folder}index.html" if number == 1 else f"{folder}index_{number - 1}.html"


def list_page_count(key: str) -> int:
    return -(-len(channel_articles(key)) // LIST_PAGE_SIZE)


def _list_routes(
    key: str, articles: Sequence[ShszxArticle], hot: Sequence[ShszxArticle]
) -> dict[str, Reply]:
    count = list_page_count(key)
    routes = {}
    for number in range(1, count + 1):
        chunk = articles[(number - 1) * LIST_PAGE_SIZE : number * LIST_PAGE_SIZE]
        html = fill(
            resource("templates/list.html"),
            {
                "channel_name": CHANNELS[key][0],
                "header": page_header(),
                "items": "\n".join(_list_item(article) for article in chunk),
                "pager": _pager(key, number, count),
                "hot": "\n".join(_hot_item(article) for article in hot),
                "footer": resource("templates/footer.html"),
            },
        )
        routes[list_page_path(key, number)] = _html_reply(html)
    routes[CHANNELS[key][1]] = routes[list_page_path(key, 1)]
    return routes


def _list_item(article: ShszxArticle) -> str:
    # Relative to the channel's folder, as TRS writes them.
    href = "./" + article.path.removeprefix(CHANNELS[article.channel][1])
    title = escape(article.title)
    return (
        f'        <li><span class="time">{article.published_at:%Y-%m-%d}</span>'
        f'<a href="{href}" target="_blank" title="{title}">{title}</a></li>'
    )


def _hot_item(article: ShszxArticle) -> str:
    return f'        <li><a href="{article.path}" target="_blank">{escape(article.title)}</a></li>'


def _pager(key: str, number: int, count: int) -> str:
    def link(n: int, text: str) -> str:
        return f'<a href="{list_page_path(key, n).rsplit("/", 1)[1]}">{text}</a>'

    parts = [link(1, "首页")]
    parts.append(link(number - 1, "上一页") if number > 1 else "<span>上一页</span>")
    parts.append(link(number + 1, "下一页") if number < count else "<span>下一页</span>")
    parts.append(link(count, "尾页"))
    parts.append(f"<span>共{count}页 当前第{number}页</span>")
    return "&nbsp;".join(parts)


def _homepage() -> str:
    """The saved homepage head, completed, then each channel's newest items."""
    boxes = []
    for key, (name, folder) in CHANNELS.items():
        items = "\n".join(
            f'        <li><a href="{a.path}" target="_blank">{escape(a.title)}</a></li>'
            for a in channel_articles(key)[:5]
        )
        boxes.append(
            f'    <div class="sy_box"><h3><a href="{folder}index.html">{name}</a>'
            f'<a class="more" href="{folder}index.html">更多</a></h3>\n'
            f'      <ul class="uli14">\n{items}\n      </ul></div>'
        )
    fragment = resource(HOMEPAGE_FRAGMENT)
    main = '   <div id="main" class="main clear">\n' + "\n".join(boxes) + "\n   </div>\n"
    return (
        fragment + resource("templates/header_rest.html") + main + resource("templates/footer.html")
    )


def _article_routes(article: ShszxArticle) -> dict[str, Reply]:
    published = article.published_at.astimezone(UTC)
    modified = (("Last-Modified", format_datetime(published, usegmt=True)),)
    routes = {
        path: _html_reply(render_page(article, number), extra=modified)
        for number, path in enumerate(article.page_paths, 1)
    }
    for number, (path, _) in enumerate(article.pictures, 1):
        routes[path] = Reply(
            200, (("Content-Type", "image/png"),), png_bytes(article.doc_id + number)
        )
    for path in article.attachment_paths:
        routes[path] = Reply(200, (("Content-Type", "application/pdf"),), pdf_bytes(path))
    return routes


def _html_reply(html: str, status: int = 200, extra: tuple[tuple[str, str], ...] = ()) -> Reply:
    headers = (
        ("Content-Type", f"text/html; charset={DECLARED_CHARSET}"),
        ("Server", "nginx"),
        *extra,
    )
    return Reply(status, headers, html.encode(CHARSET))
