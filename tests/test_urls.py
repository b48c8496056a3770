"""Article URLs: recognised on the path alone, canonicalised to page 1 on the main host."""

from __future__ import annotations

import pytest

from pipelines.normalise.errors import NotAnArticleUrl
from pipelines.normalise.urls import ArticleUrl, canonical_article_url, page_url, parse_article_url

BASE = "http://www.rmzxb.com.cn"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://www.rmzxb.com.cn/c/2022-03-04/3064624.shtml", ArticleUrl("3064624", 1)),
        ("http://www.rmzxb.com.cn/c/2022-03-04/3064624_1.shtml", ArticleUrl("3064624", 1)),
        ("http://www.rmzxb.com.cn/c/2022-06-10/3120455_2.shtml?n2m=1", ArticleUrl("3120455", 2)),
        ("http://127.0.0.1:8765/c/2023-02-27/3299508.shtml#top", ArticleUrl("3299508", 1)),
        ("http://www.rmzxw.com.cn/c/2023-02-27/3299508.shtml", ArticleUrl("3299508", 1)),
        ("http://www.rmzxb.com.cn/sqmy/nywy/2014/06/17/340701_1.shtml", ArticleUrl("340701", 1)),
        ("http://www.rmzxb.com.cn/sqmy/nywy/2014/06/17/340701_3.shtml", ArticleUrl("340701", 3)),
    ],
)
def test_parse_article_url_reads_id_and_page(url: str, expected: ArticleUrl) -> None:
    assert parse_article_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://www.rmzxb.com.cn/index.shtml",
        "http://www.rmzxb.com.cn/xs/index.shtml",
        "http://www.rmzxb.com.cn/yw_n/index_2.shtml",
        "http://www.rmzxb.com.cn/c/2022-03-04/",
        "http://www.rmzxb.com.cn/c/2022-03-04/3064624.html",
        "http://www.rmzxb.com.cn/upload/resources/image/2022/03/04/3064624_1.jpg",
        "http://www.rmzxb.com.cn/c/2022-03-04/3064624_0.shtml",
    ],
)
def test_parse_article_url_refuses_other_pages(url: str) -> None:
    assert parse_article_url(url) is None


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "http://www.rmzxb.com.cn/c/2022-03-04/3064624.shtml?n2m=1",
            "http://www.rmzxb.com.cn/c/2022-03-04/3064624.shtml",
        ),
        (
            "http://www.rmzxb.com.cn/c/2022-06-10/3120455_2.shtml#p",
            "http://www.rmzxb.com.cn/c/2022-06-10/3120455.shtml",
        ),
        (
            "https://www.rmzxw.com.cn/c/2022-03-04/3064624_1.shtml",
            "http://www.rmzxb.com.cn/c/2022-03-04/3064624.shtml",
        ),
        (
            "http://www.rmzxb.com.cn/sqmy/nywy/2014/06/17/340701_2.shtml",
            "http://www.rmzxb.com.cn/sqmy/nywy/2014/06/17/340701_1.shtml",
        ),
        (
            "http://example.org/c/2022-03-04/3064624.shtml?x=1",
            "http://example.org/c/2022-03-04/3064624.shtml",
        ),
    ],
)
def test_canonical_article_url_is_page_one_on_the_main_host(url: str, canonical: str) -> None:
    assert canonical_article_url(url, base_url=BASE, aliases=("www.rmzxw.com.cn",)) == canonical


def test_canonical_article_url_accepts_aliases_written_as_urls() -> None:
    url = "http://www.rmzxw.com.cn/c/2022-03-04/3064624.shtml"
    assert canonical_article_url(url, base_url=BASE, aliases=("http://www.rmzxw.com.cn/",)) == (
        "http://www.rmzxb.com.cn/c/2022-03-04/3064624.shtml"
    )


def test_canonical_article_url_refuses_a_list_page() -> None:
    with pytest.raises(NotAnArticleUrl) as raised:
        canonical_article_url(f"{BASE}/xs/index.shtml", base_url=BASE)
    assert raised.value.reason == "not-an-article-url"


def test_page_url_builds_any_page_on_the_same_host() -> None:
    url = "http://127.0.0.1:8765/c/2022-06-10/3120455.shtml?n2m=1"
    assert page_url(url, 2) == "http://127.0.0.1:8765/c/2022-06-10/3120455_2.shtml"
    assert page_url(page_url(url, 2), 1) == "http://127.0.0.1:8765/c/2022-06-10/3120455.shtml"
    with pytest.raises(ValueError, match="start at 1"):
        page_url(url, 0)


MIRROR = "http://127.0.0.1:8765/mirror"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{MIRROR}/c/2022-06-10/3120455_2.shtml", ArticleUrl("3120455", 2)),
        (f"{MIRROR}/sqmy/nywy/2014/06/17/340701_1.shtml", ArticleUrl("340701", 1)),
        # Outside the prefix, or the pattern not matching the whole rest of the path.
        ("http://127.0.0.1:8765/c/2022-06-10/3120455.shtml", None),
        (f"{MIRROR}/xs/c/2022-06-10/3120455.shtml", None),
        (f"{MIRROR}/index.shtml", None),
    ],
)
def test_parse_article_url_below_a_base_path(url: str, expected: ArticleUrl | None) -> None:
    assert parse_article_url(url, base_url=MIRROR + "/") == expected


def test_without_a_base_url_the_pattern_matches_the_end_of_the_path() -> None:
    assert parse_article_url(f"{MIRROR}/c/2022-06-10/3120455_2.shtml") == ArticleUrl("3120455", 2)
    assert parse_article_url(f"{MIRROR}/c/2022-06-10/3120455_2.shtml/x") is None


def test_canonical_article_url_keeps_the_base_path() -> None:
    url = f"{MIRROR}/c/2022-06-10/3120455_2.shtml?n2m=1"
    assert canonical_article_url(url, base_url=MIRROR) == f"{MIRROR}/c/2022-06-10/3120455.shtml"
    assert page_url(url, 3) == f"{MIRROR}/c/2022-06-10/3120455_3.shtml"
