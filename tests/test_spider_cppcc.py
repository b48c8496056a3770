"""The 中国政协网 spider's link rules, fed replica pages directly: no reactor, no network."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.items import ArticlePagesItem
from crawler.spider_loader import spider_class
from crawler.spiders.base import ChannelSpider
from replicas.cppcc.articles import replica_articles
from replicas.cppcc.site import NAV_ARTICLE_PATH, build_site, channel_lists
from tests.conftest import collected

BASE = "http://127.0.0.1:1"
ROUTES = build_site(BASE)
ARTICLES = {article.key: article for article in replica_articles()}
LISTS = channel_lists(ARTICLES)
HEADERS = [("Content-Type", "text/html; charset=utf-8")]

CPPCC_SEEDS = """\
[sites.cppcc]
name = "中国政协网 (replica)"
base_url = "{base_url}"
aliases = ["cppcc.gov.cn"]
download_delay = 0
autothrottle = false

[sites.cppcc.channels.yw]
name = "要闻"
list = "/zxxw/yw/"

[sites.cppcc.channels.zxyw]
name = "要闻 (2017-2020)"
list = "/zxww/newcppcc/zxyw/index.shtml"
"""
# Two lines of a saved 2019 list page (../shared/reference/pages/cppcc_listpage_2019_*).
SAVED_ITEMS = """\
item[1]=new title_array('http://www.cppcc.gov.cn/zxww/2019/03/18/ARTI1552867359572109.shtml','加快推动媒体融合发展 构建全媒体传播格局','2019-03-18');
item[587]=new title_array('http://www.cppcc.gov.cn/zxww/2019/07/04/ARTI1562197710409103.shtml','习近平同保加利亚总统拉德夫举行会谈','2019-07-04');
"""  # noqa: E501  (verbatim lines of the saved page)


def make_spider(tmp_path: Path, base_url: str = BASE, channels: str = "") -> ChannelSpider:
    seeds = tmp_path / "seeds.toml"
    seeds.write_text(CPPCC_SEEDS.format(base_url=base_url), encoding="utf-8")
    # Normalised in this thread: callbacks fed one by one, no engine to stop a process.
    settings = {"CPPCC_SEEDS": str(seeds), "CPPCC_NORMALISE_IN_PROCESS": False}
    crawler = get_crawler(spider_class("cppcc"), settings_dict=settings)
    spider = crawler.spidercls.from_crawler(crawler, channels=channels)
    assert isinstance(spider, ChannelSpider) and spider.name == "cppcc"
    return spider


def response(url: str, body: bytes, meta: dict[str, Any] | None = None) -> HtmlResponse:
    return HtmlResponse(url=url, body=body, headers=HEADERS, request=Request(url, meta=meta or {}))


def list_response(path: str, channel: str, number: int = 1) -> HtmlResponse:
    meta = {"cppcc_channel": channel, "cppcc_list_number": number}
    return response(BASE + path, ROUTES[path].body, meta)


def requests_to(spider: ChannelSpider, outputs: Iterable[Any], callback: str) -> list[Request]:
    method = getattr(spider, callback)
    return [out for out in outputs if isinstance(out, Request) and out.callback == method]


def walk(spider: ChannelSpider, first: str, channel: str) -> tuple[list[str], list[str]]:
    """The list pages walked from `first` by following the spider's next-page requests, and the
    articles they asked for."""
    pages, articles = [], []
    url, number = BASE + first, 1
    while url:
        pages.append(url)
        path = url.removeprefix(BASE)
        outputs = collected(spider.parse_list(list_response(path, channel, number)))
        articles += [r.url for r in requests_to(spider, outputs, "parse_article")]
        following = requests_to(spider, outputs, "parse_list")
        assert len(following) <= 1
        url = following[0].url if following else ""
        number += 1
    return pages, articles


def expected_urls(channel: str) -> list[str]:
    return [BASE + ARTICLES[key].pages[0].path for key in LISTS[channel]]


# -- the current design: /zxxw/<slug>/, items in #txtBox --------------------------------------


def test_current_list_from_its_folder_url_walks_every_page(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, channels="yw")
    pages, articles = walk(spider, "/zxxw/yw/", "yw")
    assert pages == [BASE + "/zxxw/yw/", BASE + "/zxxw/yw/index_2.shtml"]
    # Relative hrefs (../../zxww/…) resolved; each article once, in list order.
    assert articles == expected_urls("yw")
    assert spider.crawler.stats.get_value("cppcc/list_pages/yw") == 2


def test_current_list_follows_only_its_items(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, channels="yw")
    page = list_response("/zxxw/yw/", "yw")
    # The navigation and the 热点 box link an article too: not an item of this list.
    assert NAV_ARTICLE_PATH.encode() in page.body
    outputs = collected(spider.parse_list(page))
    urls = {request.url for request in outputs}
    assert BASE + NAV_ARTICLE_PATH not in urls
    assert spider.crawler.stats.get_value("cppcc/list_links/box") == 1


# -- the old design: /zxww/newcppcc/<slug>/index.shtml, items in a script ---------------------


def test_old_list_reads_title_array_items_absolute_and_relative(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, channels="zxyw")
    first = "/zxww/newcppcc/zxyw/index.shtml"
    body = ROUTES[first].body.decode()
    assert "new title_array('/zxww/" in body and f"new title_array('{BASE}/zxww/" in body
    pages, articles = walk(spider, first, "zxyw")
    assert pages[:2] == [BASE + first, BASE + "/zxww/newcppcc/zxyw/index_2.shtml"]
    assert articles == expected_urls("zxyw")
    # The old navigation (other channels, 联系我们) is never followed.
    assert BASE + NAV_ARTICLE_PATH not in articles
    assert spider.crawler.stats.get_value("cppcc/list_links/script") == len(pages)


@pytest.mark.parametrize(
    "empty_list",
    [
        '<div id="txtBox"><ul></ul></div>',
        "<script>var item = new Array(); function title_array(u, t, d) {}</script>",
    ],
)
def test_empty_list_does_not_fall_back_to_the_navigation(tmp_path: Path, empty_list: str) -> None:
    spider = make_spider(tmp_path, channels="yw")
    nav = f'<ul class="nav"><a href="{NAV_ARTICLE_PATH}">联系我们</a></ul>'
    body = f"<html><body>{nav}{empty_list}</body></html>".encode()
    page = response(BASE + "/zxxw/yw/", body, {"cppcc_channel": "yw", "cppcc_list_number": 1})
    assert spider.article_url(BASE + NAV_ARTICLE_PATH)  # an article URL, yet not an item
    assert not requests_to(spider, collected(spider.parse_list(page)), "parse_article")


def test_saved_title_array_lines_give_their_articles(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, base_url="http://www.cppcc.gov.cn", channels="zxyw")
    body = f"<html><body><script>\n{SAVED_ITEMS}</script></body></html>".encode()
    url = "http://www.cppcc.gov.cn/zxww/newcppcc/zxyw/index.shtml"
    page = response(url, body, {"cppcc_channel": "zxyw", "cppcc_list_number": 1})
    outputs = collected(spider.parse_list(page))
    assert [r.url for r in requests_to(spider, outputs, "parse_article")] == [
        "http://www.cppcc.gov.cn/zxww/2019/03/18/ARTI1552867359572109.shtml",
        "http://www.cppcc.gov.cn/zxww/2019/07/04/ARTI1562197710409103.shtml",
    ]


def test_list_of_unknown_markup_falls_back_to_every_article_link(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, channels="yw")
    path = ARTICLES["short"].pages[0].path
    body = f"""<html><body><div class="list"><a href="{path}">稿件</a>
    <a href="/zxww/2025/09/02/ARTI123.shtml">不是稿件</a>
    <a href="http://elsewhere.example{path}">别处</a></div></body></html>""".encode()
    page = response(BASE + "/zxxw/yw/", body, {"cppcc_channel": "yw", "cppcc_list_number": 1})
    outputs = collected(spider.parse_list(page))
    assert [r.url for r in requests_to(spider, outputs, "parse_article")] == [BASE + path]


def test_alias_host_items_come_back_on_the_base_host(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, channels="zxyw")
    path = ARTICLES["plenary"].pages[0].path
    body = (
        f"<script>item[1]=new title_array('http://cppcc.gov.cn{path}','t','2018-03-03');</script>"
    )
    page = response(
        BASE + "/zxww/newcppcc/zxyw/index.shtml",
        body.encode(),
        {"cppcc_channel": "zxyw", "cppcc_list_number": 1},
    )
    [request] = requests_to(spider, collected(spider.parse_list(page)), "parse_article")
    assert request.url == BASE + path


# -- article pages ---------------------------------------------------------------------------


def article_response(key: str) -> HtmlResponse:
    path = ARTICLES[key].pages[0].path
    meta = {"cppcc_channel": "zxyw", "cppcc_article": BASE + path}
    return response(BASE + path, ROUTES[path].body, meta)


def test_article_fetches_its_attachments_like_pictures(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    outputs = collected(spider.parse_article(article_response("attachment")))
    attachments = requests_to(spider, outputs, "attachment_fetched")
    served = sorted(path for path in ROUTES if path.endswith((".pdf", ".docx")))
    assert sorted(r.url for r in attachments) == [BASE + path for path in served]
    assert len(served) == 2
    assert all(r.meta["allow_offsite"] and r.priority < 0 for r in attachments)
    [item] = [out for out in outputs if isinstance(out, ArticlePagesItem)]
    assert item.site == "cppcc" and item.url == BASE + ARTICLES["attachment"].pages[0].path


def test_article_fetches_its_pictures_and_no_attachments(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    outputs = collected(spider.parse_article(article_response("picture")))
    pictures = requests_to(spider, outputs, "picture_fetched")
    assert [r.url for r in pictures] == [BASE + p for p in ARTICLES["picture"].image_paths]
    assert not requests_to(spider, outputs, "attachment_fetched")


def test_articles_outside_base_url_are_not_the_sites(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, base_url=BASE + "/mirror")
    path = ARTICLES["short"].pages[0].path
    assert spider.article_url(BASE + path) is None
    assert spider.article_url(BASE + "/mirror" + path) == BASE + "/mirror" + path
    assert spider.article_url(BASE + "/mirror" + path.replace(".shtml", "_2.shtml")) == (
        BASE + "/mirror" + path
    )
