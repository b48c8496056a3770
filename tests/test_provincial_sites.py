"""Two provincial sites, 上海政协 (GB2312, TRS-style) and 广东省政协 (UTF-8, another template):
their replicas over HTTP, and crawls of them from seeds entries and profiles alone."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import urljoin, urlsplit

import pytest
from parsel import Selector
from w3lib.encoding import html_to_unicode

from replicas.gdszx import site as gdszx_site
from replicas.gdszx.articles import CHANNELS as GDSZX_CHANNELS
from replicas.gdszx.articles import channel_articles as gdszx_channel
from replicas.server import ReplicaServer
from replicas.shszx import site as shszx_site
from replicas.shszx.articles import CHANNELS as SHSZX_CHANNELS
from replicas.shszx.articles import HOMEPAGE_FRAGMENT, resource
from replicas.shszx.articles import channel_articles as shszx_channel
from replicas.shszx.articles import replica_articles as shszx_articles
from tests.conftest import SHARED_REFERENCE

RARE = "镕堃喆"  # in GBK and GB18030, not in GB2312


@dataclass(frozen=True)
class Fetched:
    """A page as a browser gets it: status, Content-Type, bytes, and the text they decode to."""

    status: int
    content_type: str
    body: bytes
    encoding: str = ""
    text: str = ""
    headers: Message = field(default_factory=Message)


def fetch(url: str) -> Fetched:
    with urllib.request.urlopen(url, timeout=10) as reply:
        body = reply.read()
        content_type = reply.headers.get("Content-Type", "")
        if not content_type.startswith("text/html"):
            return Fetched(reply.status, content_type, body, headers=reply.headers)
        # Decoded as Scrapy decodes it: the declared gb2312 read as GB18030.
        encoding, text = html_to_unicode(content_type, body)
        return Fetched(reply.status, content_type, body, encoding, text, reply.headers)


@pytest.fixture(scope="module")
def shszx() -> Iterator[ReplicaServer]:
    with ReplicaServer(shszx_site.build_site, shszx_site.not_found_page) as server:
        yield server


@pytest.fixture(scope="module")
def gdszx() -> Iterator[ReplicaServer]:
    with ReplicaServer(gdszx_site.build_site, gdszx_site.not_found_page) as server:
        yield server


def walk_list(
    server: ReplicaServer, first: str, items: str
) -> tuple[list[str], list[str], list[str]]:
    """Follow a channel's 下一页 links from its first list page: the pages walked, the item
    links they list (absolute, resolved against the page) and every other link they hold."""
    walked, listed, others = [], [], []
    url: str | None = server.base_url + first
    while url and url not in walked:
        page = fetch(url)
        assert page.status == 200, url
        walked.append(url)
        selector = Selector(text=page.text)
        links = [urljoin(url, href) for href in selector.css(items).getall()]
        listed += links
        others += [urljoin(url, href) for href in selector.css("a::attr(href)").getall()]
        following = selector.xpath('//a[normalize-space(.)="下一页"]/@href').get()
        url = urljoin(url, following) if following else None
    return walked, listed, [link for link in others if link not in listed]


# -- 上海政协: the replica ------------------------------------------------------------------------


def test_shszx_ships_the_saved_homepage_head_as_it_is() -> None:
    # The replica ships its own copy (replica serve runs where ../shared is not): no drift.
    saved = SHARED_REFERENCE / "pages" / "shszx_homepage_head.fragment.html"
    if not saved.exists():
        pytest.skip(f"{saved} is not beside this checkout: nothing to compare with")
    assert resource(HOMEPAGE_FRAGMENT) == saved.read_text("utf-8")


def test_shszx_pages_open_with_the_saved_homepage_markup(shszx: ReplicaServer) -> None:
    fragment = resource(HOMEPAGE_FRAGMENT)
    home = fetch(shszx.base_url + "/")
    assert home.text.startswith(fragment)
    chrome = fragment.split("<body>\n", 1)[1]  # #container, #header, the skip links to mainNav
    article = shszx_articles()[0]
    for path in (article.path, shszx_site.list_page_path("zxyw", 1)):
        page = fetch(shszx.base_url + path)
        assert chrome in page.text, path
        selector = Selector(text=page.text)
        assert selector.css("#container > #header #skip a::text").getall()[0] == "无障碍操作说明"
        assert selector.css("#mainNav a")
        css = selector.css('link[rel="stylesheet"]::attr(href)').get()
        assert css == "/images/zx201405/zhengxie/css/zhengxie2.css"


def test_shszx_pages_say_gb2312_and_hold_gbk_characters(shszx: ReplicaServer) -> None:
    html_paths = [p for p, r in shszx.routes.items() if r.headers[0][1].startswith("text/html")]
    assert len(html_paths) > len(shszx_articles())
    for path in html_paths:
        page = fetch(shszx.base_url + path)
        assert page.content_type == "text/html; charset=gb2312", path
        assert 'content="text/html; charset=gb2312"' in page.text, path
        assert page.encoding == "gb18030", path
    [rare] = [a for a in shszx_articles() if any(ch in a.title for ch in RARE)]
    page = fetch(shszx.base_url + rare.path)
    with pytest.raises(UnicodeDecodeError):
        page.body.decode("gb2312")  # strictly GB2312, the page would not decode
    title = Selector(text=page.text).css("h2#ivs_title::text").get()
    assert title == rare.title and "镕" in title and "堃" in title
    assert all(char in page.text for char in RARE)


@pytest.mark.parametrize("channel", list(SHSZX_CHANNELS))
def test_shszx_lists_walk_by_their_next_page_link_to_index_1(
    shszx: ReplicaServer, channel: str
) -> None:
    walked, listed, others = walk_list(
        shszx, shszx_site.list_page_path(channel, 1), "ul.list-date li a::attr(href)"
    )
    folder = SHSZX_CHANNELS[channel][1]
    # TRS numbers the second list page 1.
    assert walked == [shszx.base_url + folder + name for name in ("index.html", "index_1.html")]
    assert listed == [shszx.base_url + a.path for a in shszx_channel(channel)]
    assert len(listed) == 12
    # Beside the list, the 热点推荐 box links articles of the other channel.
    article_paths = {a.path for a in shszx_articles()}
    beside = [link for link in others if urlsplit(link).path in article_paths]
    assert beside and not any(urlsplit(link).path.startswith(folder) for link in beside)


def test_shszx_articles_link_their_pages_pictures_and_files(shszx: ReplicaServer) -> None:
    articles = shszx_articles()
    assert sum(len(a.pictures) for a in articles) >= 3
    assert any(len(a.pages) > 1 for a in articles) and any(a.attachments for a in articles)
    for article in articles:
        for number, path in enumerate(article.page_paths, 1):
            url = shszx.base_url + path
            selector = Selector(text=fetch(url).text)
            linked = {
                urljoin(url, src) for src in selector.css("#ivs_content img::attr(src)").getall()
            }
            wanted = {shszx.base_url + p for p in article.page_pictures(number)}
            assert linked == wanted, path
            pager = {urljoin(url, h) for h in selector.css("#pagenav a::attr(href)").getall()}
            others = {shszx.base_url + p for p in article.page_paths if p != path}
            assert pager == others, path
            files = {urljoin(url, h) for h in selector.css("div.fujian a::attr(href)").getall()}
            last = number == len(article.pages)
            assert files == (
                {shszx.base_url + p for p in article.attachment_paths} if last else set()
            )
            for link in linked | pager | files:
                assert fetch(link).status == 200, link
    [notice] = [a for a in articles if a.attachments]
    attachment = fetch(shszx.base_url + notice.attachment_paths[0])
    assert attachment.content_type == "application/pdf" and attachment.body.startswith(b"%PDF")


# -- 广东省政协: the replica ----------------------------------------------------------------------


@pytest.mark.parametrize("channel", list(GDSZX_CHANNELS))
def test_gdszx_lists_walk_to_index_2_and_link_absolute_urls(
    gdszx: ReplicaServer, channel: str
) -> None:
    first = gdszx_site.list_page_path(channel, 1)
    walked, listed, others = walk_list(gdszx, first, "ul.news_list li > a::attr(href)")
    folder = GDSZX_CHANNELS[channel][1]
    assert walked == [gdszx.base_url + folder + name for name in ("index.html", "index_2.html")]
    assert listed == [gdszx.base_url + a.path for a in gdszx_channel(channel)]
    raw = Selector(text=fetch(gdszx.base_url + first).text)
    assert all(h.startswith(gdszx.base_url) for h in raw.css("ul.news_list a::attr(href)").getall())
    beside = [link for link in others if "/content/post_" in link]
    assert beside and not any(urlsplit(link).path.startswith(folder) for link in beside)


def test_gdszx_pages_are_utf8_with_a_time_line_to_the_second(gdszx: ReplicaServer) -> None:
    for channel in GDSZX_CHANNELS:
        for article in gdszx_channel(channel):
            page = fetch(gdszx.base_url + article.path)
            assert page.content_type == "text/html; charset=utf-8"
            assert page.encoding == "utf-8"
            selector = Selector(text=page.text)
            assert selector.css("h3.article_title::text").get() == article.title
            line = selector.css("div.article_info span.time::text").get()
            assert line == f"时间：{article.published_at:%Y-%m-%d %H:%M:%S}"
            for path, _ in article.pictures:
                assert fetch(gdszx.base_url + path).content_type == "image/png"
