"""Site profiles: where each field of an article lives on one site, as data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ArticlePath:
    """One article URL path pattern: groups `id` and optional `page`, and how page 1 is written."""

    pattern: re.Pattern[str]
    first_page_suffix: str = ""  # "" when page 1 has no `_1`, "_1" when it always has
    extension: str = ".shtml"  # what follows the id and page suffix


@dataclass(frozen=True)
class SiteProfile:
    """Selectors and texts of one site; each selector tuple is tried in order, first hit wins."""

    name: str
    hosts: tuple[str, ...]
    article_paths: tuple[ArticlePath, ...]
    title: tuple[str, ...]
    title_suffixes: tuple[str, ...]
    breadcrumb: tuple[str, ...]
    home_crumbs: tuple[str, ...]
    date_line: tuple[str, ...]
    date_metas: tuple[str, ...]
    content_id_metas: tuple[str, ...]
    source_metas: tuple[str, ...]
    author_labels: tuple[str, ...]
    source_labels: tuple[str, ...]
    editor: tuple[str, ...]
    editor_labels: tuple[str, ...]
    keywords: tuple[str, ...]
    keyword_labels: tuple[str, ...]
    body: tuple[str, ...]
    # The pager of a multi-page article, whose links name its other pages.
    pager: tuple[str, ...]
    # Removed from the page before the body is read.
    boilerplate: tuple[str, ...]
    # Body lines that are page chrome, matched against folded text.
    boilerplate_lines: tuple[re.Pattern[str], ...]
    # A body line that starts the trailing related-links block: it and all after it are dropped.
    stop_lines: tuple[str, ...]
    # Elements whose whole text is `来源：<name>` (中国政协网's `span.info > em`).
    source: tuple[str, ...] = ()
    # Links in these elements that name a file are the article's attachments.
    attachments: tuple[str, ...] = ()
    # A content id that carries its creation time: group `ms`, milliseconds since 1970.
    id_time: re.Pattern[str] | None = None
    # Meta tags holding the title (`ArticleTitle` of TRS/大汉/开普云 pages), tried first.
    title_metas: tuple[str, ...] = ()
    # Meta tags holding the author, tried after every visible author line.
    author_metas: tuple[str, ...] = ()
    # Every label of the info line under the title (来源, 作者, 发布时间, 点击…): a labelled
    # value ends where the next label starts. Empty: the info line is read as `a | b:c` parts.
    info_labels: tuple[str, ...] = ()
    # Attributes naming a body picture's file, first present wins (lazy loaders: data-original).
    picture_sources: tuple[str, ...] = ("src",)
    # Attributes of a picture read as its caption when no caption line stands next to it.
    caption_attributes: tuple[str, ...] = ()
    # A line after a picture that is its caption though not centred (`… 新华社记者 某某 摄`).
    caption_lines: tuple[re.Pattern[str], ...] = ()


RMZXB = SiteProfile(
    name="rmzxb",
    hosts=("www.rmzxb.com.cn", "rmzxb.com.cn", "www.rmzxw.com.cn", "rmzxw.com.cn"),
    article_paths=(
        ArticlePath(re.compile(r"/c/\d{4}-\d{2}-\d{2}/(?P<id>\d+)(?:_(?P<page>\d+))?\.shtml")),
        # Before about 2014 articles lived under their channel: /sqmy/nywy/2014/06/17/340701_1.shtml
        ArticlePath(
            re.compile(
                r"(?:/[a-z][a-z0-9_]*)+/\d{4}/\d{2}/\d{2}/(?P<id>\d+)(?:_(?P<page>\d+))?\.shtml"
            ),
            first_page_suffix="_1",
        ),
    ),
    title=("h1.Content_title#hh span#a", "h1.Content_title"),
    title_suffixes=("——人民政协网", "_人民政协网", "-人民政协网"),
    breadcrumb=("h1.pv_title_2 span.site",),
    home_crumbs=("首页",),
    date_line=("div.Remark > span",),
    date_metas=("publishdate", "PubDate", "pubdate"),
    content_id_metas=("contentid",),
    source_metas=("source",),
    author_labels=("作者",),
    source_labels=("来源",),
    # Not the `author`/`editor` meta tags: this site swaps them.
    editor=("p.Editor",),
    editor_labels=("责任编辑", "编辑"),
    keywords=("p.Keyword",),
    keyword_labels=("关键词",),
    body=("div.text_box",),
    pager=("div.Paging",),
    boilerplate=("script", "style", "noscript", "div.share", "div.Paging", "p.Editor", "p.Keyword"),
    boilerplate_lines=(
        re.compile(r".*政协号\s*客户端下载.*"),
        re.compile(r"分享到:?"),
        re.compile(r"\(?(?:责任)?编辑:.*"),
        re.compile(r"关键词:.*"),
    ),
    stop_lines=("相关新闻", "相关阅读"),
)

_COMMON_BOILERPLATE = ("script", "style", "noscript")

# 中国政协网: selectors used by four independent crawlers; no saved page, no breadcrumb known.
CPPCC = SiteProfile(
    name="cppcc",
    hosts=("www.cppcc.gov.cn", "cppcc.gov.cn"),
    article_paths=(
        ArticlePath(
            re.compile(r"/zxww/\d{4}/\d{2}/\d{2}/(?P<id>ARTI\d{16})(?:_(?P<page>\d+))?\.shtml")
        ),
    ),
    title=("div.cnt_box > h3",),
    title_suffixes=("_中国政协网", "-中国政协网", "——中国政协网", "_中国政协"),
    breadcrumb=(),
    home_crumbs=("首页",),
    date_line=("span.info > i",),
    date_metas=("publishdate", "pubdate"),
    content_id_metas=(),
    source_metas=("source",),
    author_labels=("作者",),
    source_labels=("来源",),
    editor=(),
    editor_labels=("责任编辑", "编辑"),
    keywords=(),
    keyword_labels=("关键词",),
    body=("div.cnt_box > div.con",),
    pager=(),
    boilerplate=_COMMON_BOILERPLATE,
    boilerplate_lines=(re.compile(r"\(?(?:责任)?编辑:.*"),),
    stop_lines=("相关新闻", "相关阅读"),
    source=("span.info > em",),
    attachments=("div.cnt_box > div.con",),
    id_time=re.compile(r"ARTI(?P<ms>\d{13})\d{3}"),
)

# 河南省政协: markup unknown, so every field comes from the generic fallbacks (<title>/<h1>,
# the first date after the title, the densest paragraph container).
HNZX = SiteProfile(
    name="hnzx",
    hosts=("www.hnzx.gov.cn", "hnzx.gov.cn"),
    article_paths=(
        ArticlePath(
            re.compile(r"/\d{4}/\d{2}-\d{2}/(?P<id>\d{7})(?:_(?P<page>\d+))?\.html"),
            extension=".html",
        ),
    ),
    title=(),
    title_suffixes=("_河南省政协", "-河南省政协", "——河南省政协", "_河南政协网", "-河南政协网"),
    breadcrumb=(),
    home_crumbs=("首页",),
    date_line=(),
    date_metas=("publishdate", "PubDate", "pubdate"),
    content_id_metas=("contentid",),
    source_metas=("source",),
    author_labels=("作者",),
    source_labels=("来源",),
    editor=(),
    editor_labels=("责任编辑", "编辑"),
    keywords=(),
    keyword_labels=("关键词",),
    body=(),
    pager=(),
    boilerplate=_COMMON_BOILERPLATE,
    boilerplate_lines=(re.compile(r"\(?(?:责任)?编辑:.*"),),
    stop_lines=("相关新闻", "相关阅读", "相关文章"),
)

PROFILES: tuple[SiteProfile, ...] = (RMZXB, CPPCC, HNZX)


def profile_for_url(url: str) -> SiteProfile:
    """The profile of the site serving `url`; unknown hosts (replicas on 127.0.0.1) get rmzxb's."""
    host = (urlsplit(url).hostname or "").lower()
    for profile in PROFILES:
        if host in profile.hosts:
            return profile
    return PROFILES[0]


def profile_named(name: str) -> SiteProfile:
    """The profile of the site key `name` ("rmzxb", "cppcc", "hnzx"), or KeyError naming the known.

    Crawls select the profile by their site key, never by host: replicas all run on 127.0.0.1.
    """
    for profile in PROFILES:
        if profile.name == name:
            return profile
    known = ", ".join(profile.name for profile in PROFILES)
    raise KeyError(f"no site profile named {name!r} (known: {known})")
