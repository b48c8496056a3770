"""The replica of 河南省政协 served in tests: a GBK site of DedeCMS-like list and article pages.

Every HTML page is GBK bytes sent as `text/html; charset=gb2312`, as provincial sites do (the
names 镕 and 堃 are not in GB2312). Two channels, 政协要闻 (`/zxyw/`) and 履职要闻 (`/lzyw/`),
each with list pages `/<slug>/` then `/<slug>/list_<typeid>_<n>.html`, linked by a 下一页 whose
URL has no `index_N` for a walker to count on. A side box links city sites on sub-domains,
whose article URLs match the site's pattern but are not this site's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from html import escape
from importlib import resources
from string import Template

from replicas.hnzx.articles import CHANNEL_ARTICLES, CHANNELS, replica_articles
from replicas.rmzxb.articles import ReplicaArticle
from replicas.rmzxb.site import _png as png_bytes
from replicas.server import Reply, Routes

CHARSET = "gbk"
DECLARED_CHARSET = "gb2312"
LIST_PAGE_SIZE = 2
# DedeCMS numbers list pages by the channel's type id: /zxyw/list_3_2.html.
TYPE_IDS = {"zxyw": 3, "lzyw": 4}
MENU = (
    ("/", "网站首页"),
    ("/zxyw/", "政协要闻"),
    ("/lzyw/", "履职要闻"),
    ("/wyfc/", "委员风采"),
    ("/sxzx/", "市县政协"),
    ("/wsgz/", "文史工作"),
)
# City CPPCC sites: same CMS and article pattern, on sub-domains, not this site.
CITY_ARTICLES = (
    ("郑州市政协", "http://zz.hnzx.gov.cn/2024/05-06/1060999.html"),
    ("洛阳市政协", "http://ly.hnzx.gov.cn/2024/04-30/1059871.html"),
)
ROBOTS = "User-agent: *\nDisallow: /plus/\nDisallow: /member/\n"


def build_site(base_url: str) -> Routes:
    """Every path of the replica and what it answers, for a server reachable at `base_url`."""
    articles = {article.key: article for article in replica_articles()}
    routes: dict[str, Reply] = {
        "/robots.txt": Reply(200, (("Content-Type", "text/plain"),), ROBOTS.encode("ascii")),
        "/": _html_reply(_homepage(articles.values())),
    }
    for article in articles.values():
        routes.update(_article_routes(article))
    for key, keys in CHANNEL_ARTICLES.items():
        routes.update(_list_routes(key, [articles[k] for k in keys]))
    return routes


def not_found_page(path: str) -> Reply:
    """The site's 404 page, GBK like the rest."""
    body = (
        "<html><head><title>404 页面不存在</title></head>"
        "<body><p>您访问的页面不存在</p></body></html>"
    )
    return _html_reply(body, status=404)


def list_page_path(key: str, number: int) -> str:
    """Page `number` of a channel's list: the folder, then list_<typeid>_<n>.html."""
    return f"/{key}/" if number == 1 else f"/{key}/list_{TYPE_IDS[key]}_{number}.html"


def _list_routes(key: str, articles: Sequence[ReplicaArticle]) -> dict[str, Reply]:
    ordered = sorted(articles, key=lambda a: a.published, reverse=True)
    chunks = [ordered[i : i + LIST_PAGE_SIZE] for i in range(0, len(ordered), LIST_PAGE_SIZE)]
    routes = {}
    for number, chunk in enumerate(chunks, 1):
        html = _template().substitute(
            channel_name=CHANNELS[key],
            folder=f"/{key}/",
            menu=_menu(),
            items="\n".join(_list_item(article) for article in chunk),
            pager=_pager(key, number, len(chunks)),
            cities="\n".join(
                f'      <li><a href="{url}" target="_blank">{escape(name)}工作动态</a></li>'
                for name, url in CITY_ARTICLES
            ),
        )
        reply = _html_reply(html)
        routes[list_page_path(key, number)] = reply
        if number == 1:
            routes[f"/{key}/index.html"] = reply
    return routes


def _list_item(article: ReplicaArticle) -> str:
    return (
        f'        <li><a href="{article.pages[0].path}" class="title">{escape(article.title)}</a>'
        f'<span class="info"><small>日期：</small>{article.published.isoformat()}</span></li>'
    )


def _pager(key: str, number: int, count: int) -> str:
    links = [f'<li><a href="{list_page_path(key, 1)}">首页</a></li>']
    if number > 1:
        links.append(f'<li><a href="{list_page_path(key, number - 1)}">上一页</a></li>')
    links += [
        f'<li class="thisclass">{n}</li>'
        if n == number
        else f'<li><a href="{list_page_path(key, n)}">{n}</a></li>'
        for n in range(1, count + 1)
    ]
    if number < count:
        links.append(f'<li><a href="{list_page_path(key, number + 1)}">下一页</a></li>')
    links.append(f'<li><a href="{list_page_path(key, count)}">末页</a></li>')
    links.append(f"<li><span class='pageinfo'>共 <strong>{count}</strong>页</span></li>")
    return "".join(links)


def _menu() -> str:
    return "\n".join(f'    <td><a href="{path}">{name}</a></td>' for path, name in MENU)


def _homepage(articles: Iterable[ReplicaArticle]) -> str:
    latest = sorted(articles, key=lambda a: a.published, reverse=True)[:4]
    news = "\n".join(
        f'      <li><a href="{a.pages[0].path}">{escape(a.title)}</a></li>' for a in latest
    )
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />
<title>河南省政协</title>
</head>
<body>
<div id="top">
  <table class="menu" width="1000" border="0" cellspacing="0" cellpadding="0"><tr>
{_menu()}
  </tr></table>
</div>
<div class="w1000">
  <dl class="tbox">
    <dt><strong>政协要闻</strong><span class="more"><a href="/zxyw/">更多</a></span></dt>
    <dd><ul class="d1">
{news}
    </ul></dd></dl>
</div>
</body>
</html>
"""


def _article_routes(article: ReplicaArticle) -> dict[str, Reply]:
    routes: dict[str, Reply] = {}
    published = datetime.combine(article.published, datetime.min.time(), UTC)
    modified = (("Last-Modified", format_datetime(published, usegmt=True)),)
    for page in article.pages:
        routes[page.path] = _html_reply(page.html, extra=modified)
    for number, path in enumerate(article.image_paths):
        routes[path] = Reply(200, (("Content-Type", "image/jpeg"),), png_bytes(len(path) + number))
    return routes


def _html_reply(html: str, status: int = 200, extra: tuple[tuple[str, str], ...] = ()) -> Reply:
    headers = (
        ("Content-Type", f"text/html; charset={DECLARED_CHARSET}"),
        ("Server", "Microsoft-IIS/7.5"),
        *extra,
    )
    return Reply(status, headers, html.encode(CHARSET))


@cache
def _template() -> Template:
    text = resources.files("replicas.hnzx").joinpath("templates/list.html").read_text("utf-8")
    return Template(text)
