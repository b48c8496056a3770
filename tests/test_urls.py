"""Article URLs: recognised on the path alone, canonicalised to page 1 on the main host."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pipelines.normalise import SiteProfile, profile_named
from pipelines.normalise.errors import NotAnArticleUrl
from pipelines.normalise.urls import (
    ArticleUrl,
    canonical_article_url,
    page_url,
    parse_article_url,
    seeded_article_site,
)

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


CPPCC_ARTICLE = "/zxww/2019/07/04/ARTI1562197710409103.shtml"
LOCAL = "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    ("site", "url", "expected"),
    [
        ("cppcc", f"http://www.cppcc.gov.cn{CPPCC_ARTICLE}", ArticleUrl("ARTI1562197710409103", 1)),
        ("cppcc", f"{LOCAL}{CPPCC_ARTICLE}?spm=C94212", ArticleUrl("ARTI1562197710409103", 1)),
        ("cppcc", f"{LOCAL}/zxww/2019/07/04/ARTI156219771040910.shtml", None),  # 15 digits
        ("cppcc", f"{LOCAL}/zxww/2019/07/04/1562197710409103.shtml", None),
        ("cppcc", f"{LOCAL}/zxxw/yw/", None),
        ("cppcc", f"{LOCAL}/zxww/newcppcc/zxyw/index.shtml", None),
        ("hnzx", f"{LOCAL}/2024/05-06/1060143.html", ArticleUrl("1060143", 1)),
        ("hnzx", "http://www.hnzx.gov.cn/2024/05-06/1060143.html", ArticleUrl("1060143", 1)),
        ("hnzx", f"{LOCAL}/2024/05-06/1060143.shtml", None),
        ("hnzx", f"{LOCAL}/2024/05-06/106014.html", None),  # 6 digits
        ("hnzx", f"{LOCAL}/2024/05/06/1060143.html", None),
        ("hnzx", f"{LOCAL}/zxyw/", None),
    ],
)
def test_each_site_profile_reads_its_own_article_urls(
    site: str, url: str, expected: ArticleUrl | None
) -> None:
    assert parse_article_url(url, profile_named(site)) == expected


def test_the_site_key_not_the_host_decides_the_pattern() -> None:
    # A cppcc article on loopback is no rmzxb article, whatever host the replica runs on.
    assert parse_article_url(f"{LOCAL}{CPPCC_ARTICLE}") is None
    assert parse_article_url(f"{LOCAL}/2024/05-06/1060143.html") is None


@pytest.mark.parametrize(
    ("site", "url", "canonical", "second"),
    [
        (
            "cppcc",
            f"{LOCAL}{CPPCC_ARTICLE}?spm=1#top",
            f"{LOCAL}{CPPCC_ARTICLE}",
            f"{LOCAL}/zxww/2019/07/04/ARTI1562197710409103_2.shtml",
        ),
        (
            "hnzx",
            f"{LOCAL}/2024/05-06/1060143.html?x=1",
            f"{LOCAL}/2024/05-06/1060143.html",
            f"{LOCAL}/2024/05-06/1060143_2.html",
        ),
    ],
)
def test_canonical_url_of_other_sites_keeps_their_extension(
    site: str, url: str, canonical: str, second: str
) -> None:
    profile = profile_named(site)
    assert canonical_article_url(url, base_url=LOCAL, profile=profile) == canonical
    assert page_url(url, 2, profile) == second


@dataclass(frozen=True)
class _Site:
    key: str
    base_url: str

    @property
    def profile(self) -> SiteProfile:
        return profile_named(self.key)


def test_only_first_pages_of_seeded_article_urls_are_articles() -> None:
    base = "http://127.0.0.1:8765"
    sites = [_Site("cppcc", "http://127.0.0.1:8766"), _Site("rmzxb", base)]
    article = "/c/2022-03-04/3064624.shtml"
    assert seeded_article_site(base + article, sites) == "rmzxb"
    assert seeded_article_site(base + "/c/2022-06-10/3120455_2.shtml", sites) is None  # page 2
    assert seeded_article_site(base + "/yw_n/index.shtml", sites) is None
    image = "/upload/resources/image/2022/03/04/3064624_4.jpg"
    assert seeded_article_site(base + image, sites) is None
    assert seeded_article_site("http://elsewhere.example" + article, sites) is None
    # The host decides with its port: another site's replica on the same machine.
    assert seeded_article_site("http://127.0.0.1:8766" + article, sites) is None
