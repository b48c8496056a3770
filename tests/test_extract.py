"""normalise_page on every replica page and the saved real page, against reviewed output."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipelines.normalise import (
    SHANGHAI,
    Article,
    NoDate,
    NotAnArticleUrl,
    NotHtml,
    NoTitle,
    NotNormalisable,
    merge_pages,
    normalise_page,
    page_links,
    profile_named,
)
from replicas.cppcc import articles as cppcc_articles
from replicas.hnzx import articles as hnzx_articles
from replicas.rmzxb.articles import ReplicaPage, replica_articles, unfold
from tests.conftest import reference_file

SAVED_PAGE = reference_file("rmzxb_article_2023-02-27_3299508.html")
EXPECTED = Path(__file__).parent / "fixtures" / "expected"
SITE = "http://www.rmzxb.com.cn"
# What the replica server declares: the GBK page says gb2312, as provincial sites do.
DECLARED = {"gbk": "gb2312"}


def article_as_json(article: Article) -> dict[str, Any]:
    """Every field of an article as JSON values, pictures with their positions."""
    fields: dict[str, Any] = {
        "url": article.url,
        "title": article.title,
        "subtitle": article.subtitle,
        "published_at": article.published_at.isoformat(),
        "content_id": article.content_id,
        "section": list(article.section),
        "source": article.source,
        "author": article.author,
        "editor": article.editor,
        "keywords": list(article.keywords),
        "paragraphs": list(article.paragraphs),
        "images": [
            {"url": image.url, "caption": image.caption, "position": image.position}
            for image in article.images
        ],
        "page_count": article.page_count,
        "missing_fields": list(article.missing_fields),
    }
    # Added with the cppcc and hnzx profiles: written only when present, so the rmzxb
    # fixtures stay as they were reviewed.
    for name in ("attachments", "warnings"):
        if getattr(article, name):
            fields[name] = list(getattr(article, name))
    return fields


def fetched(page: ReplicaPage) -> tuple[str, list[tuple[str, str]], bytes]:
    """URL, headers and body as a crawler gets them from the replica server."""
    charset = DECLARED.get(page.charset, page.charset)
    headers = [("Content-Type", f"text/html; charset={charset}"), ("Server", "replica")]
    return SITE + page.path, headers, page.html.encode(page.charset)


def _page_cases() -> list[Any]:
    cases = []
    for article in replica_articles():
        for number, page in enumerate(article.pages, start=1):
            key = article.key if number == 1 else f"{article.key}_{number}"
            cases.append(pytest.param(key, *fetched(page), id=key))
    saved = SAVED_PAGE.read_bytes()
    url = f"{SITE}/c/2023-02-27/3299508.shtml?n2m=1"
    cases.append(pytest.param("real_saved", url, {"Content-Type": "text/html"}, saved, id="saved"))
    return cases


@pytest.mark.parametrize(("key", "url", "headers", "body"), _page_cases())
def test_normalise_page_matches_expected(key: str, url: str, headers: Any, body: bytes) -> None:
    expected = json.loads((EXPECTED / f"{key}.json").read_text(encoding="utf-8"))
    assert article_as_json(normalise_page(url, headers, body)) == expected


# Replicas of the other sites run on loopback: the crawl's site key picks the profile.
LOOPBACK = "http://127.0.0.1:8765"
OTHER_SITES = {"cppcc": cppcc_articles.replica_articles, "hnzx": hnzx_articles.replica_articles}


def _site_fetched(page: ReplicaPage) -> tuple[str, list[tuple[str, str]], bytes]:
    """What the replica server sends for a page of another site: its charset in the header."""
    headers = [("Content-Type", f"text/html; charset={page.charset}")]
    return LOOPBACK + page.path, headers, page.html.encode(page.charset)


def _site_cases() -> list[Any]:
    return [
        pytest.param(site, article.key, page, id=f"{site}_{article.key}")
        for site, articles in OTHER_SITES.items()
        for article in articles()
        for page in article.pages
    ]


@pytest.mark.parametrize(("site", "key", "page"), _site_cases())
def test_site_page_matches_expected(site: str, key: str, page: ReplicaPage) -> None:
    expected = json.loads((EXPECTED / f"{site}_{key}.json").read_text(encoding="utf-8"))
    article = normalise_page(*_site_fetched(page), profile=profile_named(site))
    assert article_as_json(article) == expected


@pytest.mark.parametrize("site", ["rmzxb", "cppcc", "hnzx"])
def test_profile_named_finds_each_site(site: str) -> None:
    assert profile_named(site).name == site


def test_profile_named_rejects_unknown_site_naming_known_ones() -> None:
    with pytest.raises(KeyError, match=r"no site profile named .nosuch. \(bundled: .*hnzx.*\)"):
        profile_named("nosuch")


def _site_article(site: str, key: str) -> Any:
    return next(article for article in OTHER_SITES[site]() if article.key == key)


def test_cppcc_page_whose_date_disagrees_with_its_id_is_flagged() -> None:
    (page,) = _site_article("cppcc", "date_mismatch").pages
    article = normalise_page(*_site_fetched(page), profile=profile_named("cppcc"))
    assert article.warnings == ("date-disagrees-with-url",)
    assert article.published_at.isoformat() == "2019-11-25T10:30:00+08:00"
    (agreeing,) = _site_article("cppcc", "yw_2024").pages
    assert normalise_page(*_site_fetched(agreeing), profile=profile_named("cppcc")).warnings == ()


def test_warnings_and_attachments_stay_out_of_the_content_hash() -> None:
    (page,) = _site_article("cppcc", "date_mismatch").pages
    article = normalise_page(*_site_fetched(page), profile=profile_named("cppcc"))
    assert article.content_hash == replace(article, warnings=(), attachments=()).content_hash
    assert "warnings" not in article.content_fields()


def test_cppcc_ids_carry_the_path_date_in_beijing_time() -> None:
    for article in cppcc_articles.replica_articles():
        created = datetime.fromtimestamp(int(article.content_id[4:17]) / 1000, tz=SHANGHAI)
        assert article.pages[0].path.startswith(f"/zxww/{created:%Y/%m/%d}/")


@pytest.mark.parametrize("site", sorted(OTHER_SITES))
def test_replica_dates_and_ids_increase_together(site: str) -> None:
    articles = OTHER_SITES[site]()
    assert len(articles) >= 8
    assert [a.published for a in articles] == sorted({a.published for a in articles})
    ids = [int(a.content_id.removeprefix("ARTI")) for a in articles]
    assert ids == sorted(set(ids))


@pytest.mark.parametrize(
    ("module", "expected"),
    [(cppcc_articles, {"yw", "zxyw"}), (hnzx_articles, {"zxyw", "lzyw"})],
)
def test_channel_articles_name_every_article_once(module: Any, expected: set[str]) -> None:
    assert set(module.CHANNEL_ARTICLES) == expected
    keys = [key for keys in module.CHANNEL_ARTICLES.values() for key in keys]
    assert sorted(keys) == sorted(article.key for article in module.replica_articles())


def test_hnzx_page_is_gbk_declared_gb2312_and_read_by_the_generic_fallbacks() -> None:
    (page,) = _site_article("hnzx", "gbk_names").pages
    assert page.charset == "gbk" and 'charset=gb2312"' in page.html
    with pytest.raises(UnicodeEncodeError):
        page.html.encode("gb2312")
    url, _, body = _site_fetched(page)
    # Declared as the provincial sites do: gb2312 in the header too.
    headers = {"Content-Type": "text/html; charset=gb2312"}
    article = normalise_page(url, headers, body, profile=profile_named("hnzx"))
    assert article.title == "省政协召开文史资料征编座谈会——王镕、李堃等委员发言"
    assert any("张喆" in paragraph for paragraph in article.paragraphs)
    assert (article.source, article.content_id) == ("河南省政协", "1031207")


def test_hnzx_short_article_body_beats_the_footer() -> None:
    (page,) = _site_article("hnzx", "lzyw_members").pages
    article = normalise_page(*_site_fetched(page), profile=profile_named("hnzx"))
    assert article.paragraphs[0].startswith("在省政协委员赵昇看来")
    assert not any("豫ICP备" in paragraph for paragraph in article.paragraphs)


def _replica(key: str) -> Any:
    return next(article for article in replica_articles() if article.key == key)


def test_real_page_fields() -> None:
    url = f"{SITE}/c/2023-02-27/3299508.shtml?n2m=1"
    article = normalise_page(url, {"Content-Type": "text/html"}, SAVED_PAGE.read_bytes())
    assert article.url == f"{SITE}/c/2023-02-27/3299508.shtml"
    assert article.title == "十年两会·温暖记忆丨“种下石榴树,开出团结花”"
    assert article.section == ("要闻",)
    assert article.published_at.isoformat() == "2023-02-27T09:15:00+08:00"
    assert (article.author, article.source, article.editor) == (
        "董博婷 王秋韵 周晔",
        "新华社",
        "朱建华",
    )
    assert article.keywords == ()
    assert 20 <= len(article.paragraphs) <= 22
    assert not any(
        "政协号" in paragraph or "分享到" in paragraph for paragraph in article.paragraphs
    )


def test_real_replica_is_the_saved_page_byte_for_byte() -> None:
    (page,) = _replica("real").pages
    assert page.html.encode(page.charset) == SAVED_PAGE.read_bytes()


def test_merge_pages_joins_both_pages_in_order() -> None:
    pages = [normalise_page(*fetched(page)) for page in _replica("two_page").pages]
    merged = merge_pages(pages)
    assert merged.page_count == 2
    assert merged.url == pages[0].url == pages[1].url
    assert merged.paragraphs == pages[0].paragraphs + pages[1].paragraphs
    (image,) = merged.images
    assert image.url == f"{SITE}/upload/resources/image/2022/06/10/3120455_1.jpg"
    assert image.position == len(pages[0].paragraphs)
    assert merged.title == pages[0].title and "images" not in merged.missing_fields


def test_gbk_page_declared_gb2312_keeps_gbk_only_characters() -> None:
    (page,) = _replica("gbk").pages
    with pytest.raises(UnicodeEncodeError):
        page.html.encode("gb2312")
    article = normalise_page(*fetched(page))
    assert "朱镕基" in article.title
    assert any("王喆、李堃" in paragraph for paragraph in article.paragraphs)
    assert "发言——发言记录" in article.paragraphs[1]


def test_result_does_not_depend_on_the_host() -> None:
    url, headers, body = fetched(_replica("seed").pages[0])
    local = normalise_page(url.replace(SITE, "http://127.0.0.1:8765"), dict(headers), body)
    local_json = json.dumps(article_as_json(local)).replace("127.0.0.1:8765", "www.rmzxb.com.cn")
    assert json.loads(local_json) == article_as_json(normalise_page(url, headers, body))


def _not_found_page() -> bytes:
    """The article template with no article in it, as the CMS serves for a missing id."""
    text = SAVED_PAGE.read_text(encoding="utf-8")
    title = "十年两会·温暖记忆丨“种下石榴树，开出团结花”"
    return text.replace(title, "").encode("utf-8")


@pytest.mark.parametrize(
    ("url", "headers", "body", "error", "reason"),
    [
        (f"{SITE}/xs/index.shtml", {}, b"<html></html>", NotAnArticleUrl, "not-an-article-url"),
        (
            f"{SITE}/c/2022-03-04/3064624.shtml",
            {"Content-Type": "image/jpeg"},
            b"\xff\xd8\xff\xe0",
            NotHtml,
            "not-html",
        ),
        (f"{SITE}/c/2022-03-04/3064624.shtml", {}, b'{"a": 1}', NotHtml, "not-html"),
        (
            f"{SITE}/c/2022-03-04/3064624.shtml",
            {"content-type": "text/html"},
            b"",
            NoTitle,
            "no-title",
        ),
        (
            f"{SITE}/c/2022-03-04/3064624.shtml",
            {"Content-Type": "text/html; charset=utf-8"},
            _not_found_page(),
            NoTitle,
            "no-title",
        ),
        (
            f"{SITE}/c/2022-03-04/3064624.shtml",
            [("Content-Type", "text/html")],
            "<html><head><title>404 页面不存在</title></head><body>对不起</body></html>".encode(),
            NoDate,
            "no-date",
        ),
    ],
)
def test_pages_that_are_no_article_say_why(
    url: str, headers: Any, body: bytes, error: type[NotNormalisable], reason: str
) -> None:
    with pytest.raises(error) as raised:
        normalise_page(url, headers, body)
    assert raised.value.reason == reason
    assert isinstance(raised.value, NotNormalisable)
    assert url in str(raised.value)


def test_fallbacks_find_fields_without_the_site_markup() -> None:
    body = """<html><head><meta charset="utf-8"><meta name="contentid" content="42">
    <title>协商议政新探索——人民政协网</title></head><body>
    <h1>首页&gt;协商</h1><h1>协商议政新探索</h1><h3>——一个副题</h3>
    <div>发布时间：2022-05-06 07:08</div>
    <div class="main"><p>第一段，正文！</p><p><img src="a.jpg"></p><p align="center">图为会场</p>
    <p style="text-align:center">居中但没有图片</p><p>（责任编辑：张三）</p><p>关键词：甲、乙</p>
    </div></body></html>""".encode()
    url = "http://127.0.0.1:1/c/2022-05-06/42.shtml"
    article = normalise_page(url, {"Content-Type": "text/html"}, body)
    assert article.title == "协商议政新探索"
    assert article.subtitle == "一个副题"
    assert article.published_at.isoformat() == "2022-05-06T07:08:00+08:00"
    assert (article.content_id, article.editor, article.keywords) == ("42", "张三", ("甲", "乙"))
    assert article.paragraphs == ("第一段,正文!", "居中但没有图片")
    assert [(image.url, image.caption) for image in article.images] == [
        ("http://127.0.0.1:1/c/2022-05-06/a.jpg", "图为会场")
    ]
    assert article.missing_fields == ("section", "source", "author")


def test_a_later_page_opening_with_dashes_keeps_it_as_a_paragraph() -> None:
    url, headers, body = fetched(_replica("two_page").pages[1])
    first = "有委员提出,要加强农村数字人才培养,提升农民的数字素养和技能。"
    dashed = body.replace(unfold(first).encode(), "——数字人才是关键。".encode())
    assert dashed != body
    article = normalise_page(url, headers, dashed)
    assert article.subtitle is None
    assert article.paragraphs[0] == "——数字人才是关键。"
    # On page 1 the same line is the subtitle.
    page_one = normalise_page(url.replace("_2.shtml", ".shtml"), headers, dashed)
    assert page_one.subtitle == "数字人才是关键。"


@pytest.mark.parametrize(("key", "url", "headers", "body"), _page_cases())
def test_page_links_are_the_links_normalise_page_reports(
    key: str, url: str, headers: Any, body: bytes
) -> None:
    article = normalise_page(url, headers, body)
    links = page_links(url, headers, body)
    assert links.pictures == tuple(image.url for image in article.images)
    assert (links.attachments, links.pager) == (article.attachments, article.pager_links)


def test_page_links_find_a_pages_attachments_as_normalise_page_does() -> None:
    (page,) = _site_article("cppcc", "attachment").pages
    fetched_page, cppcc = _site_fetched(page), profile_named("cppcc")
    attachments = normalise_page(*fetched_page, profile=cppcc).attachments
    assert attachments and page_links(*fetched_page, profile=cppcc).attachments == attachments


def test_page_links_pictures_follow_the_densest_paragraph_fallback() -> None:
    body = """<html><head><meta charset="utf-8"></head><body>
    <div class="logo"><img src="/logo.jpg"></div>
    <div class="main"><p>第一段正文，足够长。</p><p><img src="a.jpg"></p></div>
    </body></html>""".encode()
    url = "http://127.0.0.1:1/c/2022-05-06/42.shtml"
    assert page_links(url, {}, body).pictures == ("http://127.0.0.1:1/c/2022-05-06/a.jpg",)


def test_article_under_a_path_prefix_is_recognised_and_keeps_the_prefix() -> None:
    url, headers, body = fetched(_replica("seed").pages[0])
    mirror = url.replace(SITE, SITE + "/mirror")
    article = normalise_page(mirror + "?n2m=1", headers, body)
    assert article.url == mirror and article.content_id == "3064624"


def test_merge_pages_keeps_every_page_attachments_and_warnings_once() -> None:
    (page,) = _site_article("cppcc", "attachment").pages
    first = normalise_page(*_site_fetched(page), profile=profile_named("cppcc"))
    second = replace(first, attachments=(first.attachments[1], "http://x/c.pdf"), warnings=("w",))
    merged = merge_pages([first, second])
    assert merged.attachments == (*first.attachments, "http://x/c.pdf")
    assert merged.warnings == ("w",)
