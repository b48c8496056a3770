"""The 河南省政协 spider's link rules, fed GBK replica pages directly: no reactor, no network."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.items import ArticlePagesItem
from crawler.spider_loader import spider_class
from crawler.spiders.base import ChannelSpider
from replicas.hnzx.articles import CHANNEL_ARTICLES, replica_articles
from replicas.hnzx.site import CITY_ARTICLES, build_site, list_page_path
from tests.conftest import collected

BASE = "http://127.0.0.1:1"
ROUTES = build_site(BASE)
ARTICLES = {article.key: article for article in replica_articles()}

HNZX_SEEDS = """\
[sites.hnzx]
name = "河南省政协 (replica)"
base_url = "{base_url}"
download_delay = 0
autothrottle = false

[sites.hnzx.channels.zxyw]
name = "政协要闻"
list = "/zxyw/"
"""


def make_spider(tmp_path: Path, base_url: str = BASE) -> ChannelSpider:
    seeds = tmp_path / "seeds.toml"
    seeds.write_text(HNZX_SEEDS.format(base_url=base_url), encoding="utf-8")
    # Normalised in this thread: callbacks fed one by one, no engine to stop a process.
    settings = {"CPPCC_SEEDS": str(seeds), "CPPCC_NORMALISE_IN_PROCESS": False}
    crawler = get_crawler(spider_class("hnzx"), settings_dict=settings)
    spider = crawler.spidercls.from_crawler(crawler)
    assert isinstance(spider, ChannelSpider) and spider.name == "hnzx"
    return spider


def response(url: str, reply_path: str, meta: dict[str, Any]) -> HtmlResponse:
    reply = ROUTES[reply_path]
    # As the server sends it: GBK bytes, declared gb2312.
    headers = [(name, value) for name, value in reply.headers]
    return HtmlResponse(url=url, body=reply.body, headers=headers, request=Request(url, meta=meta))


def requests_to(spider: ChannelSpider, outputs: Iterable[Any], callback: str) -> list[Request]:
    method = getattr(spider, callback)
    return [out for out in outputs if isinstance(out, Request) and out.callback == method]


def test_list_pages_are_walked_by_their_next_page_link(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    walked, articles = [], []
    path, number = "/zxyw/", 1
    while path:
        walked.append(path)
        meta = {"cppcc_channel": "zxyw", "cppcc_list_number": number}
        outputs = collected(spider.parse_list(response(BASE + path, path, meta)))
        articles += [r.url for r in requests_to(spider, outputs, "parse_article")]
        following = requests_to(spider, outputs, "parse_list")
        path = following[0].url.removeprefix(BASE) if following else ""
        number += 1
    # list_3_2.html carries no index_N: only its 下一页 text says it is the next page.
    assert walked == [list_page_path("zxyw", n) for n in (1, 2, 3)]
    assert articles == [BASE + ARTICLES[key].pages[0].path for key in CHANNEL_ARTICLES["zxyw"]]


def test_city_sites_on_sub_domains_are_not_followed(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    meta = {"cppcc_channel": "zxyw", "cppcc_list_number": 1}
    page = response(BASE + "/zxyw/", "/zxyw/", meta)
    assert all(url.encode() in page.body for _, url in CITY_ARTICLES)
    urls = {request.url for request in collected(spider.parse_list(page))}
    assert not any("hnzx.gov.cn" in url for url in urls)
    assert all(url.startswith(BASE + "/") for url in urls)


def test_gbk_list_page_is_read_as_gbk(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    meta = {"cppcc_channel": "zxyw", "cppcc_list_number": 1}
    title = ARTICLES["gbk_names"].title.encode("gbk")
    [path] = [path for path, reply in ROUTES.items() if "list_" in path and title in reply.body]
    page = response(BASE + path, path, meta)
    titles = page.css("ul.e2 a::text").getall()
    assert ARTICLES["gbk_names"].title in titles  # 镕 and 堃: GBK, not GB2312
    assert requests_to(spider, collected(spider.parse_list(page)), "parse_article")


def test_article_urls_follow_the_pattern(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    path = ARTICLES["picture"].pages[0].path
    assert spider.article_url(BASE + path) == BASE + path
    assert spider.article_url(BASE + path + "?from=list") == BASE + path
    for other in ("/2023/09-28/104559.html", "/2023/09/28/1045590.html", "/zxyw/1045590.html"):
        assert spider.article_url(BASE + other) is None, other


def test_article_page_yields_its_item_and_pictures(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    path = ARTICLES["picture"].pages[0].path
    meta = {"cppcc_channel": "zxyw", "cppcc_article": BASE + path}
    outputs = collected(spider.parse_article(response(BASE + path, path, meta)))
    pictures = requests_to(spider, outputs, "picture_fetched")
    assert [r.url for r in pictures] == [BASE + p for p in ARTICLES["picture"].image_paths]
    [item] = [out for out in outputs if isinstance(out, ArticlePagesItem)]
    assert item.site == "hnzx" and item.channel == "zxyw" and item.url == BASE + path
