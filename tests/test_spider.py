"""The 人民政协网 spider's link rules, fed replica pages directly: no reactor, no network."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.items import ArticlePagesItem
from crawler.pipelines import ArticlePipeline
from crawler.spider_loader import spider_class
from crawler.spiders.base import ChannelSpider
from replicas.rmzxb.articles import RELATED_PATHS, replica_articles
from replicas.rmzxb.site import (
    ALIAS_HOST,
    CHANNEL_ARTICLES,
    LEGACY_PATH,
    LOGIN_PAGE_PATH,
    NOT_FOUND_PATH,
    OTHER_CHANNEL_NEXT_PATH,
    SERVER_ERROR_PATH,
    SUB_CHANNEL_NEXT_PATH,
    build_site,
)
from tests.conftest import REPLICA_SEEDS, collected

BASE = "http://127.0.0.1:1"
ROUTES = build_site(BASE)
ARTICLES = {article.key: article for article in replica_articles()}
ARTICLE_HEADERS = [("Content-Type", "text/html; charset=utf-8")]


def make_spider(tmp_path: Path, base_url: str = BASE, **kwargs: Any) -> ChannelSpider:
    seeds = tmp_path / "seeds.toml"
    seeds.write_text(REPLICA_SEEDS.format(base_url=base_url), encoding="utf-8")
    settings = {
        "CPPCC_SEEDS": str(seeds),
        "CPPCC_HOME": str(tmp_path / "home"),
        # Callbacks fed one by one, no engine to stop a normalising process: normalised in
        # this thread (the crawl tests run the process).
        "CPPCC_NORMALISE_IN_PROCESS": False,
    }
    crawler = get_crawler(spider_class("rmzxb"), settings_dict=settings)
    channels = kwargs.pop("channels", "xs")
    spider = crawler.spidercls.from_crawler(crawler, channels=channels, **kwargs)
    assert isinstance(spider, ChannelSpider) and spider.name == "rmzxb"
    return spider


def response(url: str, body: bytes, meta: dict[str, Any] | None = None) -> HtmlResponse:
    request = Request(url, meta=meta or {})
    return HtmlResponse(url=url, body=body, headers=ARTICLE_HEADERS, request=request)


def list_response(path: str, channel: str = "xs", number: int = 1, url: str = "") -> HtmlResponse:
    meta = {"cppcc_channel": channel, "cppcc_list_number": number}
    return response(url or BASE + path, ROUTES[path].body, meta)


def requests_to(spider: ChannelSpider, outputs: Iterable[Any], callback: str) -> list[Request]:
    method = getattr(spider, callback)
    return [out for out in outputs if isinstance(out, Request) and out.callback == method]


def list_pages(folder: str) -> list[str]:
    return sorted(path for path in ROUTES if path.startswith(folder) and "index" in path)


# -- list pages ------------------------------------------------------------------------------


def test_articles_come_canonical_from_every_list_page(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    found = set()
    for path in list_pages("/xs/"):
        found |= {
            r.url
            for r in requests_to(
                spider, collected(spider.parse_list(list_response(path))), "parse_article"
            )
        }
    expected = {BASE + ARTICLES[key].pages[0].path for key in CHANNEL_ARTICLES["xs"]}
    expected.discard(BASE + ARTICLES["legacy"].pages[0].path)
    expected |= {BASE + LEGACY_PATH, BASE + NOT_FOUND_PATH, BASE + SERVER_ERROR_PATH}
    expected.add(BASE + LOGIN_PAGE_PATH)
    # The seed article is linked as a shared link, ?n2m=1: requested without it.
    assert expected <= found
    assert all("?" not in url and url.startswith(BASE + "/") for url in found)
    assert spider.crawler.stats.get_value("cppcc/list_pages/xs") == len(list_pages("/xs/"))


def test_alias_host_links_are_folded_to_the_base_host(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, channels="yw")
    found = set()
    for path in list_pages("/yw_n/"):
        outputs = collected(spider.parse_list(list_response(path, channel="yw")))
        found |= {r.url for r in requests_to(spider, outputs, "parse_article")}
    assert BASE + ARTICLES["cookies"].pages[0].path in found
    assert not any(ALIAS_HOST in url for url in found)


def test_next_list_page_is_the_channels_own(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    first, *_, last = list_pages("/xs/")
    outputs = collected(spider.parse_list(list_response(first)))
    [following] = requests_to(spider, outputs, "parse_list")
    assert following.url == BASE + "/xs/index_2.shtml"
    assert following.meta["cppcc_list_number"] == 2
    # The side box's sub-channel page and 下一页 into another channel are never followed.
    urls = {request.url for request in outputs}
    assert BASE + SUB_CHANNEL_NEXT_PATH not in urls and BASE + OTHER_CHANNEL_NEXT_PATH not in urls
    assert not requests_to(
        spider, collected(spider.parse_list(list_response(last, number=3))), "parse_list"
    )


def test_max_list_pages_stops_the_walk(tmp_path: Path) -> None:
    spider = make_spider(tmp_path, max_list_pages="1")
    outputs = collected(spider.parse_list(list_response("/xs/index.shtml")))
    assert requests_to(spider, outputs, "parse_article")
    assert not requests_to(spider, outputs, "parse_list")


@pytest.mark.parametrize("text", ["下一页", "下一页&gt;", "下一页 »", " 下页 ", "» 下一页 ›"])
def test_next_page_text_tolerates_decorations(tmp_path: Path, text: str) -> None:
    spider = make_spider(tmp_path)
    body = f'<html><body><a href="/xs/index_7.shtml">{text}</a></body></html>'.encode()
    page = response(BASE + "/xs/index.shtml", body, {"cppcc_channel": "xs"})
    assert spider.next_list_page(page, spider.site.channel("xs")) == BASE + "/xs/index_7.shtml"


@pytest.mark.parametrize(
    "href",
    [
        "http://elsewhere.example/xs/index_2.shtml",  # another host
        "/xs/zxdt/index_2.shtml",  # a sub-folder: another channel
        "/yw_n/index_2.shtml",  # another channel's folder
    ],
)
def test_next_page_outside_the_channel_is_refused(tmp_path: Path, href: str) -> None:
    spider = make_spider(tmp_path)
    body = f'<html><body><a href="{href}">下一页</a></body></html>'.encode()
    page = response(BASE + "/xs/index.shtml", body, {"cppcc_channel": "xs"})
    assert spider.next_list_page(page, spider.site.channel("xs")) is None


def test_list_page_redirected_out_of_its_channel_harvests_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spider = make_spider(tmp_path)
    # A moved slug answering with the homepage: its links are not 协商's.
    moved = list_response("/xs/index.shtml", url=BASE + "/index.shtml")
    with caplog.at_level(logging.WARNING):
        assert (collected(spider.parse_list(moved))) == []
    assert spider.crawler.stats.get_value("cppcc/list_pages/off_channel") == 1
    assert spider.crawler.stats.get_value("cppcc/list_pages/xs") is None
    # The channel's walk failed there, saying where the list page led.
    failure = spider.crawler.stats.get_value("cppcc/walk/xs/failure")
    assert f"outside the channel, at {BASE}/index.shtml" in failure
    assert spider.crawler.stats.get_value("cppcc/walk/xs/failed_at") == 1
    assert any(r.levelno == logging.ERROR and "/index.shtml" in r.message for r in caplog.records)
    # The alias host serves the same folders: a list page there is still the channel's.
    alias = list_response("/xs/index.shtml", url=f"http://{ALIAS_HOST}/xs/index.shtml")
    assert requests_to(spider, collected(spider.parse_list(alias)), "parse_article")


# -- a site under a path prefix ----------------------------------------------------------------


def test_mirror_under_a_path_prefix_yields_its_articles(tmp_path: Path) -> None:
    mirror = BASE + "/mirror"
    spider = make_spider(tmp_path, base_url=mirror)
    body = ROUTES["/xs/index.shtml"].body.replace(b'href="/', b'href="/mirror/')
    page = response(
        mirror + "/xs/index.shtml", body, {"cppcc_channel": "xs", "cppcc_list_number": 1}
    )
    outputs = collected(spider.parse_list(page))
    articles = {request.url for request in requests_to(spider, outputs, "parse_article")}
    assert mirror + NOT_FOUND_PATH in articles and len(articles) >= 4
    assert all(url.startswith(mirror + "/c/") for url in articles)
    [following] = requests_to(spider, outputs, "parse_list")
    assert following.url == mirror + "/xs/index_2.shtml"
    # Outside the prefix is not the site.
    assert spider.article_url(BASE + NOT_FOUND_PATH) is None


# -- article pages ---------------------------------------------------------------------------


def article_response(
    path: str, body: bytes | None = None, meta: dict[str, Any] | None = None
) -> HtmlResponse:
    meta = {"cppcc_channel": "xs", "cppcc_article": BASE + path, **(meta or {})}
    return response(BASE + path, ROUTES[path].body if body is None else body, meta)


def test_two_page_article_fetches_page_two_then_hands_on_both(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    first, second = ARTICLES["two_page"].pages
    outputs = collected(spider.parse_article(article_response(first.path)))
    [page_two] = requests_to(spider, outputs, "parse_article_page")
    assert page_two.url == BASE + second.path and page_two.errback == spider.article_page_failed
    assert not [out for out in outputs if isinstance(out, ArticlePagesItem)]
    later = collected(spider.parse_article_page(article_response(second.path, meta=page_two.meta)))
    [item] = [out for out in later if isinstance(out, ArticlePagesItem)]
    assert [page.url for page in item.pages] == [BASE + first.path, BASE + second.path]
    [picture] = requests_to(spider, later, "picture_fetched")
    assert picture.url == BASE + ARTICLES["two_page"].image_paths[0]
    assert picture.meta["allow_offsite"] is True


def test_a_first_page_that_does_not_normalise_still_has_its_pages_fetched(
    tmp_path: Path,
) -> None:
    # No title, so no article: its pager is read from the page itself, and page 2 archived.
    spider = make_spider(tmp_path)
    first, second = ARTICLES["two_page"].pages
    pager_only = (
        f'<html><body><div class="Paging"><a href="{second.path}">2</a></div></body></html>'
    )
    outputs = collected(spider.parse_article(article_response(first.path, pager_only.encode())))
    [page_two] = requests_to(spider, outputs, "parse_article_page")
    assert page_two.url == BASE + second.path


def test_seed_article_fetches_its_pictures_and_not_related_news(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    path = ARTICLES["seed"].pages[0].path
    outputs = collected(spider.parse_article(article_response(path)))
    pictures = requests_to(spider, outputs, "picture_fetched")
    assert [r.url for r in pictures] == [BASE + p for p in ARTICLES["seed"].image_paths]
    assert all(r.meta["allow_offsite"] for r in pictures)
    [item] = [out for out in outputs if isinstance(out, ArticlePagesItem)]
    assert item.url == BASE + path and len(item.pages) == 1
    urls = {out.url for out in outputs if isinstance(out, Request)}
    assert not any(BASE + related in urls for related in RELATED_PATHS)


def test_pictures_follow_the_normalisers_body_fallback(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    body = """<html><head><meta charset="utf-8"><title>无模板</title></head><body>
    <div class="logo"><img src="/images/logo.jpg"></div>
    <div class="main"><p>第一段正文，足够长的一段文字。</p><p><img src="a.jpg"></p>
    <p>第二段正文，也足够长。</p></div></body></html>""".encode()
    path = "/c/2022-05-06/42.shtml"
    outputs = collected(spider.parse_article(article_response(path, body)))
    pictures = requests_to(spider, outputs, "picture_fetched")
    assert [r.url for r in pictures] == [BASE + "/c/2022-05-06/a.jpg"]


def _pager_page(links: Iterable[int]) -> bytes:
    anchors = "".join(f'<a href="77_{n}.shtml">{n}</a>' for n in links)
    return f'<html><body><div class="Paging">{anchors}</div></body></html>'.encode()


def test_pager_windows_are_read_on_every_page(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    windows = {1: (1, 2, 3), 2: (1, 2, 3, 4), 3: (2, 3, 4, 5), 4: (3, 4, 5), 5: (3, 4, 5)}
    path = "/c/2022-05-06/77.shtml"
    outputs = collected(spider.parse_article(article_response(path, _pager_page(windows[1]))))
    fetched = []
    while not any(isinstance(out, ArticlePagesItem) for out in outputs):
        [request] = requests_to(spider, outputs, "parse_article_page")
        number = request.meta["cppcc_page"]
        fetched.append(number)
        assert request.url == f"{BASE}/c/2022-05-06/77_{number}.shtml"
        page = response(request.url, _pager_page(windows[number]), request.meta)
        outputs = collected(spider.parse_article_page(page))
    assert fetched == [2, 3, 4, 5]
    [item] = outputs
    assert [page.page for page in item.pages] == [1, 2, 3, 4, 5]


def test_a_page_that_fails_is_reported_and_the_rest_still_fetched(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spider = make_spider(tmp_path)
    path = "/c/2022-05-06/77.shtml"
    outputs = collected(spider.parse_article(article_response(path, _pager_page((1, 2, 3)))))
    [request] = requests_to(spider, outputs, "parse_article_page")
    failure = Failure(IgnoreRequest("404"))
    failure.request = request  # type: ignore[attr-defined]  # as Scrapy sets it for errbacks
    with caplog.at_level(logging.WARNING):
        outputs = list(spider.article_page_failed(failure))
        [page_three] = requests_to(spider, outputs, "parse_article_page")
        assert page_three.meta["cppcc_page"] == 3
        page = response(page_three.url, _pager_page((1, 2, 3)), page_three.meta)
        [item] = collected(spider.parse_article_page(page))
    assert item.missing_pages == [request.url]
    assert [page.page for page in item.pages] == [1, 3]
    assert spider.crawler.stats.get_value("cppcc/articles/pages_missing") == 1
    assert any(r.levelno == logging.WARNING and request.url in r.message for r in caplog.records)


# -- what the normalise pipeline makes of the pages the spider hands on ----------------------


def test_a_later_page_that_does_not_normalise_is_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spider = make_spider(tmp_path)
    first, second = ARTICLES["two_page"].pages
    outputs = collected(spider.parse_article(article_response(first.path)))
    [page_two] = requests_to(spider, outputs, "parse_article_page")
    login = b"<html><head><title>\xe7\x99\xbb\xe5\xbd\x95</title></head><body></body></html>"
    later = article_response(second.path, login, page_two.meta)
    [item] = [
        out
        for out in collected(spider.parse_article_page(later))
        if isinstance(out, ArticlePagesItem)
    ]
    pipeline = ArticlePipeline.from_crawler(spider.crawler)
    with caplog.at_level(logging.WARNING):
        pipeline.process_item(item)
    assert item.rejection is None and item.article is not None
    assert item.article.page_count == 1 and item.article.paragraphs
    assert spider.crawler.stats.get_value("cppcc/articles/pages_unusable") == 1
    assert any(BASE + second.path in r.message for r in caplog.records)
