"""Odd pages the normaliser meets: each row names the Article fields or the refusal it expects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from pipelines.normalise import (
    Article,
    NoDate,
    NoTitle,
    NotNormalisable,
    normalise_page,
    profile_named,
)
from tests.conftest import reference_file

SAVED_PAGE = reference_file("rmzxb_article_2023-02-27_3299508.html")
URL = "http://127.0.0.1:8765/c/2022-05-06/42.shtml"
IMAGE_DIR = "http://127.0.0.1:8765/c/2022-05-06/"
UTF8 = {"Content-Type": "text/html; charset=utf-8"}
GBK = {"Content-Type": "text/html; charset=gbk"}
UNLABELLED = {"Content-Type": "text/html"}
TITLE = "政协委员朱镕基同志座谈会——追记"


@dataclass(frozen=True)
class Fields:
    """An Article is expected, with these field values."""

    values: dict[str, Any]


@dataclass(frozen=True)
class Refused:
    """A NotNormalisable is expected, of this class and reason."""

    error: type[NotNormalisable]
    reason: str


def page(
    body: str = "<p>第一段正文。</p>",
    *,
    title: str = TITLE,
    date_line: str = "2022年05月06日 07:08 | 来源:人民政协网",
    head: str = '<meta charset="utf-8">',
) -> str:
    """A minimal page in the rmzxb markup (h1.Content_title, div.Remark, div.text_box)."""
    return (
        f"<html><head>{head}<title>{title}——人民政协网</title></head><body>"
        f'<h1 class="Content_title" id="hh"><span id="a">{title}</span></h1>'
        f'<div class="Remark"><span>{date_line}</span></div>'
        f'<div class="text_box">{body}</div></body></html>'
    )


def _saved() -> str:
    return SAVED_PAGE.read_text(encoding="utf-8")


def _without_credits() -> bytes:
    """The real page without its author, editor line and with no subtitle or keyword line."""
    text = _saved().replace("作者:董博婷&#32;王秋韵&#32;周晔 &nbsp;| &nbsp;", "")
    return text.replace('<p class="Editor">编辑：朱建华 </p>', "").encode("utf-8")


def _emptied_template() -> bytes:
    """The real template with its title and date line emptied: what a CMS serves for no article."""
    text = _saved().replace("十年两会·温暖记忆丨“种下石榴树，开出团结花”", "")
    return text.encode("utf-8")


_LATE_META = (
    "<head><!-- " + "统计代码占位 " * 150 + '--><meta http-equiv="Content-Type" '
    'content="text/html; charset=gbk">'
)
_TRUNCATED = page('<p>第一段正文。</p><p>第二段没有写完<img src="a.jp').encode("utf-8")
_TRUNCATED = _TRUNCATED[: _TRUNCATED.index(b'<img src="a.jp') + len(b'<img src="a.jp')]

ROWS = [
    pytest.param(
        URL.replace("2022-05-06/42", "2023-02-27/3299508"),
        UTF8,
        _without_credits(),
        Fields(
            {
                "author": None,
                "editor": None,
                "subtitle": None,
                "keywords": (),
                "source": "新华社",
                "missing_fields": ("subtitle", "author", "editor", "keywords", "images"),
            }
        ),
        id="missing-subtitle-author-editor-keywords",
    ),
    pytest.param(
        URL,
        UTF8,
        page(date_line="2022-05-06 07:08:09").encode(),
        Fields({"published_at": "2022-05-06T07:08:09+08:00", "source": None}),
        id="date-with-seconds",
    ),
    pytest.param(
        URL,
        UTF8,
        page(date_line="2022年5月6日").encode(),
        Fields({"published_at": "2022-05-06T00:00:00+08:00"}),
        id="date-with-only-a-day",
    ),
    pytest.param(
        URL,
        UTF8,
        page("").encode(),
        Fields(
            {
                "title": TITLE,
                "paragraphs": (),
                "images": (),
                "missing_fields": (
                    "section",
                    "subtitle",
                    "author",
                    "editor",
                    "keywords",
                    "paragraphs",
                    "images",
                ),
            }
        ),
        id="empty-body",
    ),
    pytest.param(
        URL, UTF8, _emptied_template(), Refused(NoTitle, "no-title"), id="404-template-200"
    ),
    pytest.param(
        URL,
        UTF8,
        "<html><head><title>404 页面不存在</title></head><body><h1>404</h1>"
        "<p>您访问的页面不存在，请返回首页。</p></body></html>".encode(),
        Refused(NoDate, "no-date"),
        id="404-page-200",
    ),
    pytest.param(
        URL,
        UTF8,
        "<html><head><title>用户登录</title></head><body><form action='/login'>"
        "<p>用户名：<input name='u'></p><p>密码：<input type='password'></p>"
        "<p><button>登录</button></p></form></body></html>".encode(),
        Refused(NoDate, "no-date"),
        id="login-page",
    ),
    pytest.param(
        URL,
        UTF8,
        b"<html><head><script>document.cookie='__jsl=1';location.reload()</script></head>"
        b"<body><noscript>Please enable JavaScript</noscript></body></html>",
        Refused(NoTitle, "no-title"),
        id="challenge-page",
    ),
    pytest.param(
        URL,
        UTF8,
        _TRUNCATED,
        Fields({"title": TITLE, "paragraphs": ("第一段正文。", "第二段没有写完")}),
        id="truncated-mid-tag",
    ),
    pytest.param(
        URL,
        UTF8,
        "<html><head><title>协商议政".encode(),
        Refused(NoDate, "no-date"),
        id="truncated-in-head",
    ),
    pytest.param(
        URL,
        UTF8,
        page(head='<meta charset="gbk">').encode("gbk"),
        Fields({"title": TITLE, "paragraphs": ("第一段正文。",)}),
        id="header-says-utf8-bytes-and-meta-gbk",
    ),
    pytest.param(
        URL,
        UTF8,
        page(head="").encode("gbk"),
        Fields({"title": TITLE, "source": "人民政协网"}),
        id="header-says-utf8-bytes-gbk-no-meta",
    ),
    pytest.param(
        URL,
        GBK,
        page(head="").encode("utf-8"),
        Fields({"title": TITLE, "paragraphs": ("第一段正文。",)}),
        id="header-says-gbk-bytes-utf8",
    ),
    pytest.param(
        URL,
        GBK,
        page(head='<meta charset="gb2312">').encode("utf-8"),
        Fields({"title": TITLE, "source": "人民政协网"}),
        id="header-and-meta-say-gbk-bytes-utf8",
    ),
    pytest.param(
        URL,
        UNLABELLED,
        page(head="").replace("<head>", _LATE_META).encode("gbk"),
        Fields({"title": TITLE}),
        id="meta-charset-after-1kb",
    ),
    pytest.param(
        URL,
        UNLABELLED,
        page(head="").replace("<head>", _LATE_META * 3).encode("gbk"),
        Fields({"title": TITLE}),
        id="meta-charset-after-4kb",
    ),
    pytest.param(
        URL,
        UTF8,
        page(
            "<p>全角　空格、ＡＳＣＩＩ字母和数字１２３，以及“中文标点”。</p>",
            title="协商议政（第２期）：新探索！",
        ).encode(),
        Fields(
            {
                "title": "协商议政(第2期):新探索!",
                "paragraphs": ("全角 空格、ASCII字母和数字123,以及“中文标点”。",),
            }
        ),
        id="mixed-full-width-text",
    ),
    pytest.param(
        URL,
        UTF8,
        page(
            "<p>表格如下。</p><table><tr><td><table><tr><td>委员</td><td>提案数</td></tr>"
            "<tr><td>张三</td><td>3</td></tr></table></td></tr></table><p>表格之后。</p>"
        ).encode(),
        Fields({"paragraphs": ("表格如下。", "委员", "提案数", "张三", "3", "表格之后。")}),
        id="nested-tables",
    ),
    pytest.param(
        URL,
        UTF8,
        page('<p style="text-align:center"><img src="a.jpg"></p><p>正文第一段。</p>').encode(),
        Fields({"images": ((IMAGE_DIR + "a.jpg", None, 0),), "paragraphs": ("正文第一段。",)}),
        id="picture-without-caption",
    ),
    pytest.param(
        URL,
        UTF8,
        page('<p style="text-align:center">图为会场。</p><p>正文第一段。</p>').encode(),
        Fields({"images": (), "paragraphs": ("图为会场。", "正文第一段。")}),
        id="caption-without-picture",
    ),
]


def _value(article: Article, name: str) -> Any:
    """A field in the form the rows write it: dates as ISO text, pictures as tuples."""
    value = getattr(article, name)
    if name == "published_at":
        return value.isoformat()
    if name == "images":
        return tuple((image.url, image.caption, image.position) for image in value)
    return value


@pytest.mark.parametrize(("url", "headers", "body", "expected"), ROWS)
def test_odd_page(url: str, headers: Any, body: bytes, expected: Fields | Refused) -> None:
    if isinstance(expected, Refused):
        with pytest.raises(NotNormalisable) as raised:
            normalise_page(url, headers, body)
        assert type(raised.value) is expected.error
        assert raised.value.reason == expected.reason
        return
    article = normalise_page(url, headers, body)
    assert {name: _value(article, name) for name in expected.values} == expected.values


def _cppcc(info: str, body: str = "<p>正文。</p>") -> bytes:
    return (
        '<html><head><meta charset="utf-8"><title>全国政协召开会议_中国政协网</title></head><body>'
        f'<div class="cnt_box"><h3>全国政协召开会议</h3>{info}<div class="con">{body}</div></div>'
        "</body></html>"
    ).encode()


def _cppcc_renamed(body: str) -> bytes:
    """A 中国政协网 page after a redesign: none of div.cnt_box > h3, span.info, div.con left."""
    return (
        '<html><head><meta charset="utf-8"><title>全国政协召开会议_中国政协网</title></head><body>'
        '<div class="article"><h2>全国政协召开会议</h2>'
        '<span class="meta">2024-03-04 15:23 <em>来源：新华社</em></span>'
        f'<div class="text">{body}</div></div></body></html>'
    ).encode()


CPPCC_URL = "http://127.0.0.1:8765/zxww/2024/03/04/ARTI1709535609915118.shtml"
_LONG = "全国政协召开专题协商会,围绕推进高质量发展建言资政。" * 6
HNZX_URL = "http://127.0.0.1:8765/2024/05-06/1060143.html"


@pytest.mark.parametrize(
    ("site", "url", "body", "expected"),
    [
        pytest.param(
            "cppcc",
            CPPCC_URL,
            _cppcc('<span class="info"><i>2024-03-04 15:23</i></span>'),
            Fields({"source": None, "warnings": (), "attachments": ()}),
            id="cppcc-without-source",
        ),
        pytest.param(
            "cppcc",
            CPPCC_URL,
            _cppcc('<span class="info"><i>2024-03-05 14:59</i><em>来源：新华社</em></span>'),
            Fields({"source": "新华社", "warnings": ()}),
            id="cppcc-date-a-day-after-its-id",
        ),
        pytest.param(
            "cppcc",
            CPPCC_URL,
            _cppcc('<span class="info"><i>2024-02-01 08:00</i><em>来源:新华社</em></span>'),
            Fields({"warnings": ("date-disagrees-with-url",)}),
            id="cppcc-date-a-month-before-its-id",
        ),
        pytest.param(
            "cppcc",
            CPPCC_URL,
            _cppcc('<span class="info"></span>'),
            Refused(NoDate, "no-date"),
            id="cppcc-without-date",
        ),
        pytest.param(
            "cppcc",
            CPPCC_URL,
            _cppcc(
                '<span class="info"><i>2024-03-04 15:23</i></span>',
                '<p>见附件。</p><p><a href="/a/b.PDF">附件</a> <a href="/zxxw/yw/">要闻</a></p>',
            ),
            Fields({"attachments": ("http://127.0.0.1:8765/a/b.PDF",)}),
            id="cppcc-attachment-among-links",
        ),
        pytest.param(
            "cppcc",
            CPPCC_URL,
            _cppcc('<span class="info"><i>2024-03-04 15:23</i><em>来源：新华社</em></span>'),
            Fields({"fallback_fields": ()}),
            id="cppcc-every-field-by-its-profile",
        ),
        pytest.param(
            "cppcc",
            CPPCC_URL,
            _cppcc_renamed(f"<p>{_LONG}</p><p>第二段。</p>"),
            Fields(
                {
                    "title": "全国政协召开会议",
                    "published_at": "2024-03-04T15:23:00+08:00",
                    "source": "新华社",
                    "paragraphs": (_LONG, "第二段。"),
                    # Found, but not where the profile looks: the layout changed.
                    "fallback_fields": ("title", "published_at", "source", "paragraphs"),
                }
            ),
            id="cppcc-classes-renamed",
        ),
        pytest.param(
            "cppcc",
            CPPCC_URL,
            # Title, date line and body make under 120 characters: the date line is not all of it.
            _cppcc_renamed("<p>第一段正文,较长的一段文字。</p><p>第二段。</p>"),
            Fields({"source": "新华社", "paragraphs": ("第一段正文,较长的一段文字。", "第二段。")}),
            id="cppcc-classes-renamed-short-body",
        ),
        pytest.param(
            "hnzx",
            HNZX_URL,
            "<html><head><title>省政协召开会议_河南省政协</title></head><body><h1>省政协召开会议</h1>"
            "<p>没有日期的页面。</p></body></html>".encode(),
            Refused(NoDate, "no-date"),
            id="hnzx-without-date",
        ),
        pytest.param(
            "hnzx",
            HNZX_URL,
            "<html><head><title>省政协召开会议_河南省政协</title></head><body>"
            "<div><b>省政协召开会议</b></div><div>2024-05-06</div><p>正文。</p></body></html>".encode(),
            Fields({"title": "省政协召开会议", "published_at": "2024-05-06T00:00:00+08:00"}),
            id="hnzx-title-in-no-heading",
        ),
    ],
)
def test_odd_page_of_other_sites(
    site: str, url: str, body: bytes, expected: Fields | Refused
) -> None:
    if isinstance(expected, Refused):
        with pytest.raises(NotNormalisable) as raised:
            normalise_page(url, UTF8, body, profile=profile_named(site))
        assert (type(raised.value), raised.value.reason) == (expected.error, expected.reason)
        return
    article = normalise_page(url, UTF8, body, profile=profile_named(site))
    assert {name: _value(article, name) for name in expected.values} == expected.values
