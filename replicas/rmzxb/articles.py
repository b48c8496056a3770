"""Replica article pages of 人民政协网, rendered from the real ZCMS article template."""

from __future__ import annotations

import datetime
import html
import posixpath
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

_SHANGHAI = ZoneInfo("Asia/Shanghai")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_SEED_KEYWORDS = ("政协", "河南省", "工作", "建设")
# Article links in the 相关新闻 block: not in the replica, so a crawler that follows them gets 404s.
RELATED_PATHS = (
    "/c/2022-03-03/3063871.shtml",
    "/c/2022-03-02/3063302.shtml",
    "/c/2022-02-28/3061544.shtml",
)


@dataclass(frozen=True)
class ReplicaPage:
    """One page of a replica article, as the replica server sends it."""

    path: str  # URL path, e.g. "/c/2022-03-04/3064624.shtml"
    html: str  # the page as text
    charset: str = "utf-8"  # the server encodes html with this and declares it in Content-Type


@dataclass(frozen=True)
class ReplicaArticle:
    """One replica article: its pages (page 1 first) and the pictures they show."""

    key: str  # short name, e.g. "seed", "real", "two_page", "gbk"
    content_id: str
    published: datetime.date
    title: str  # as the page prints it (not folded)
    pages: tuple[ReplicaPage, ...]
    image_paths: tuple[str, ...]
    section: tuple[str, ...] = ()  # breadcrumb after 首页, e.g. ("协商", "政协动态")


# --- what an article page holds ------------------------------------------------------------------


@dataclass(frozen=True)
class Picture:
    """A picture in the body with its caption: below it (centred paragraph) or beside it."""

    path: str
    caption: str | None = None
    caption_beside: bool = False


@dataclass(frozen=True)
class Subhead:
    """A bold section heading inside the body."""

    text: str


Block = str | Picture | Subhead


@dataclass(frozen=True)
class ArticleSpec:
    """Everything one replica article shows; rendered into the template page by page."""

    key: str
    content_id: str
    published_at: datetime.datetime
    title: str
    section: tuple[str, ...]
    pages: tuple[tuple[Block, ...], ...]
    source: str = "人民政协网"
    editor: str = "王晓"
    author: str | None = None
    subtitle: str | None = None
    subtitle_html: str = '<h2 class="Content_subtitle" style="text-align: center;">{}</h2>'
    keywords: tuple[str, ...] = ()
    date_format: str = "%Y年%m月%d日&#32;%H:%M"
    charset: str = "utf-8"
    declared_charset: str = "utf-8"
    related: tuple[tuple[str, str], ...] = ()
    nav: tuple[tuple[str, str], ...] = ()  # empty: the main bar

    @property
    def path(self) -> str:
        return f"/c/{self.published_at:%Y-%m-%d}/{self.content_id}.shtml"

    def page_path(self, number: int) -> str:
        return self.path if number == 1 else self.path.replace(".shtml", f"_{number}.shtml")


# --- template ----------------------------------------------------------------------------------

_MAIN_NAV = (
    ("/yw_n/index.shtml", "要闻"),
    ("/yl_n/index.shtml", "要论"),
    ("/xs/index.shtml", "协商"),
    ("/tz/index.shtml", "统战"),
    ("/dp/index.shtml", "党派"),
    ("/wyjt/index.shtml", "委员讲堂"),
    ("/ll/index.shtml", "理论"),
    ("/rs/index.shtml", "人事"),
    ("/sh/index.shtml", "社会"),
    ("/fz/index.shtml", "法治"),
    ("/sp_n/index.shtml", "视频"),
    ("/wh/index.shtml", "文化"),
)
# The 协商 sub-navigation; the real slugs of these channels are unknown.
XS_NAV = (
    ("/xs/zxdt/index.shtml", "政协动态"),
    ("/xs/xsjy/index.shtml", "协商建言"),
    ("/xs/wysy/index.shtml", "委员声音"),
    ("/xs/zxrz/index.shtml", "主席日志"),
    ("/xs/zsl/index.shtml", "正商量"),
    ("/xs/yzsj/index.shtml", "议政瞬间"),
    ("/xs/wyll/index.shtml", "委员聊辽"),
)
_SECTION_LINKS = {"要闻": "/yw_n/index.shtml", "协商": "/xs/index.shtml", "政协动态": "/xs/zxdt/"}
_HOME = "http://www.rmzxb.com.cn/index.shtml"


@cache
def _resource(name: str) -> str:
    """A file shipped beside this module, decoded without touching its line ends."""
    return (files("replicas.rmzxb") / name).read_bytes().decode("utf-8")


def _fill(template: str, values: dict[str, str]) -> str:
    """Replace every {{name}}; a placeholder without a value is a KeyError, not a blank."""
    return _PLACEHOLDER.sub(lambda match: values[match[1]], template)


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _nav_html(links: tuple[tuple[str, str], ...]) -> str:
    items = [f'        <a href="{_HOME}">首 页</a>']
    items += [f'        <a href="{href}" target="_blank">{_text(name)}</a>' for href, name in links]
    return "\n\n".join(items) + "\n"


def _breadcrumb_html(section: tuple[str, ...]) -> str:
    crumbs = [f'<a href="{_HOME}">首页</a>']
    crumbs += [f'<a href="{_SECTION_LINKS.get(name, "/")}">{_text(name)}</a>' for name in section]
    return ">".join(crumbs)


def _date_line_html(spec: ArticleSpec) -> str:
    parts = [spec.published_at.strftime(spec.date_format) + "&nbsp;"]
    if spec.author:
        parts.append(f"&nbsp;作者:{spec.author.replace(' ', '&#32;')} &nbsp;")
    source = (
        f'<a href="http://www.baidu.com/baidu?word={spec.source}" target="_blank">{spec.source}</a>'
    )
    parts.append(f"&nbsp;来源：{source}")
    return " | ".join(parts)


_INDENTED = '<p style="text-indent: 2em; text-align: left;">'


def _block_html(block: Block) -> str:
    if isinstance(block, Subhead):
        return f"{_INDENTED}<strong>{_text(block.text)}</strong></p>"
    if isinstance(block, Picture):
        image = f'<img src="{block.path}" alt="" style="max-width: 100%;"/>'
        if block.caption and block.caption_beside:
            return f'<p align="center">{image} {_text(block.caption)}</p>'
        below = (
            f'<p style="text-align: center;">{_text(block.caption)}</p>' if block.caption else ""
        )
        return f'<p style="text-align: center;">{image}</p>{below}'
    return f"{_INDENTED}{_text(block)}</p>"


def _paging_html(spec: ArticleSpec, number: int) -> str:
    """The pager: page links and 上一页/下一页, relative like the site's own."""
    count = len(spec.pages)
    if count == 1:
        return ""

    def name(page: int) -> str:
        return spec.page_path(page).rsplit("/", 1)[1]

    links = [f'<a href="{name(page)}">{page}</a>' for page in range(1, count + 1)]
    links[number - 1] = f'<span class="cur">{number}</span>'
    if number > 1:
        links.insert(0, f'<a href="{name(number - 1)}">上一页</a>')
    if number < count:
        links.append(f'<a href="{name(number + 1)}">下一页</a>')
    return "              " + "&nbsp;".join(links)


def _related_html(related: tuple[tuple[str, str], ...]) -> str:
    if not related:
        return ""
    items = "".join(
        f'<li><a href="{path}" target="_blank">{_text(title)}</a></li>' for path, title in related
    )
    return f'            <div class="xgxw"><h3>相关新闻</h3><ul>{items}</ul></div>\n'


def _keyword_line(keywords: tuple[str, ...]) -> str:
    if not keywords:  # what templates without a keyword line hold
        return (
            '<!--<z:if condition="${Article.Keyword!=null}"><p class="Keyword">'
            "关键词：${Article.Keyword}</p></z:if>-->"
        )
    return f'<p class="Keyword">关键词：{_text(" ".join(keywords))}</p>'


def _subtitle_html(spec: ArticleSpec) -> str:
    if spec.subtitle is None or "{}" not in spec.subtitle_html:
        return ""
    return "            " + spec.subtitle_html.format(_text("——" + spec.subtitle)) + "\n"


_PUBLISH_DELAY = datetime.timedelta(minutes=19)  # the CMS stamps the page when it is built


def render_page(spec: ArticleSpec, number: int) -> str:
    """Page `number` (from 1) of an article, in the real article template."""
    title = html.escape(spec.title)
    meta_keywords = ",".join((*spec.keywords, spec.title, "人民", "政协", "政协网", "人民政协报"))
    values = {
        "charset": spec.declared_charset,
        "catalogs": str(18000 + sum(map(ord, "".join(spec.section))) % 997),
        "content_id": spec.content_id,
        "publishdate": f"{spec.published_at:%Y-%m-%d}",
        "meta_author": spec.editor,  # swapped on the real site: meta author holds the editor
        "meta_editor": (spec.author or "").replace(" ", "&#32;"),
        "meta_source": spec.source,
        "meta_keywords": html.escape(meta_keywords),
        "meta_title": title,
        "nav": _nav_html(spec.nav or _MAIN_NAV),
        "breadcrumb": _breadcrumb_html(spec.section),
        "title": _text(spec.title),
        "subtitle": _subtitle_html(spec),
        "date_line": _date_line_html(spec),
        "body": "".join(_block_html(block) for block in spec.pages[number - 1]),
        "editor": _text(spec.editor),
        "paging": _paging_html(spec, number),
        "keyword_line": _keyword_line(spec.keywords),
        "related": _related_html(spec.related),
        "zcms_publish_date": f"{spec.published_at + _PUBLISH_DELAY:%Y-%m-%d %H:%M:%S}",
    }
    return _fill(_resource("templates/article.shtml"), values)


def _absolute(page_path: str, src: str) -> str:
    """The path a picture's src names, relative ones read from the page's folder."""
    if src.startswith("/"):
        return src
    return posixpath.normpath(posixpath.join(posixpath.dirname(page_path), src))


def replica_from_spec(spec: ArticleSpec) -> ReplicaArticle:
    """The replica article a spec describes, every page rendered."""
    pages = tuple(
        ReplicaPage(spec.page_path(number), render_page(spec, number), spec.charset)
        for number in range(1, len(spec.pages) + 1)
    )
    images = tuple(
        _absolute(spec.page_path(number), block.path)
        for number, blocks in enumerate(spec.pages, start=1)
        for block in blocks
        if isinstance(block, Picture)
    )
    return ReplicaArticle(
        key=spec.key,
        content_id=spec.content_id,
        published=spec.published_at.date(),
        title=spec.title,
        pages=pages,
        image_paths=images,
        section=spec.section,
    )


# --- the articles --------------------------------------------------------------------------------

_FULL_WIDTH = str.maketrans(",:;!?()", "，：；！？（）")


def unfold(text: str) -> str:
    """Undo folding of Chinese prose: the page prints ，：；！？（） where the seed has ASCII."""
    return text.translate(_FULL_WIDTH)


def _at(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=_SHANGHAI)


def _image_path(moment: datetime.datetime, content_id: str, number: int) -> str:
    return f"/upload/resources/image/{moment:%Y/%m/%d}/{content_id}_{number}.jpg"


def _seed_spec() -> ArticleSpec:
    """3064624, from the replica's copy of seed_article.txt (which is already folded)."""
    lines = [line.strip() for line in _resource("pages/seed_article.txt").splitlines()]
    lines = [line for line in lines if line]
    share = next(i for i, line in enumerate(lines) if line.startswith("分享到"))
    editor = next(i for i, line in enumerate(lines) if line.startswith("编辑:"))
    published_at = _at("2022-03-04 16:03:00")
    body: list[Block] = [
        Picture(_image_path(published_at, "3064624", number), unfold(caption))
        for number, caption in enumerate(lines[share + 1 : share + 6], start=1)
    ]
    for line in lines[share + 6 : editor]:
        is_subhead = line[:3] in ("求新·", "求实·", "求深·", "求变·")
        body.append(Subhead(unfold(line)) if is_subhead else unfold(line))
    related_titles = ("河南省政协召开党组会议", "委员履职故事", "政协动态一周综述")
    return ArticleSpec(
        key="seed",
        content_id="3064624",
        published_at=published_at,
        title=lines[2].replace(" ", "\u3000"),  # the ideographic space folds to the seed's space
        subtitle=lines[3].removeprefix("——"),
        section=("协商", "政协动态"),
        nav=XS_NAV,
        pages=(tuple(body),),
        editor=lines[editor].removeprefix("编辑:"),
        keywords=_SEED_KEYWORDS,
        related=tuple(zip(RELATED_PATHS, related_titles, strict=True)),
    )


def _block(entry: str | dict[str, object], content_id: str, at: datetime.datetime) -> Block:
    """A body block from its TOML form."""
    if isinstance(entry, str):
        return entry
    if "subhead" in entry:
        return Subhead(str(entry["subhead"]))
    number = int(str(entry["picture"]))
    caption = entry.get("caption")
    return Picture(
        path=str(entry.get("src") or _image_path(at, content_id, number)),
        caption=str(caption) if caption else None,
        caption_beside=bool(entry.get("beside", False)),
    )


_SUBTITLE_MARKUP = {
    "heading": ArticleSpec.subtitle_html,
    "paragraph": '<p class="subtitle" style="text-align: center;">{}</p>',
    "body": "",  # the subtitle is the first paragraph of the body
}


def _spec_from_toml(entry: dict[str, Any]) -> ArticleSpec:
    """One [[article]] of pages/articles.toml."""
    at = _at(entry["published_at"])
    pages = [[_block(block, entry["content_id"], at) for block in page] for page in entry["pages"]]
    subtitle = entry.get("subtitle")
    place = entry.get("subtitle_place", "heading")
    if subtitle and place == "body":
        pages[0].insert(0, f"——{subtitle}")
    return ArticleSpec(
        key=entry["key"],
        content_id=entry["content_id"],
        published_at=at,
        title=entry["title"],
        section=tuple(entry["section"]),
        pages=tuple(tuple(page) for page in pages),
        source=entry.get("source", "人民政协网"),
        editor=entry["editor"],
        author=entry.get("author"),
        subtitle=subtitle,
        subtitle_html=_SUBTITLE_MARKUP[place],
        keywords=tuple(entry.get("keywords", ())),
        date_format=entry.get("date_format", ArticleSpec.date_format),
        charset=entry.get("charset", "utf-8"),
        declared_charset=entry.get("declared_charset", entry.get("charset", "utf-8")),
    )


def _real_article() -> ReplicaArticle:
    """The saved real page 3299508, served byte for byte."""
    page = ReplicaPage(
        "/c/2023-02-27/3299508.shtml", _resource("pages/rmzxb_article_2023-02-27_3299508.html")
    )
    return ReplicaArticle(
        key="real",
        content_id="3299508",
        published=datetime.date(2023, 2, 27),
        title="十年两会·温暖记忆丨“种下石榴树，开出团结花”",
        pages=(page,),
        image_paths=(),
        section=("要闻",),
    )


def article_specs() -> tuple[ArticleSpec, ...]:
    """The specs of every rendered replica article (all but "real")."""
    listed = tomllib.loads(_resource("pages/articles.toml"))["article"]
    return (_seed_spec(), *(_spec_from_toml(entry) for entry in listed))


@cache
def replica_articles() -> tuple[ReplicaArticle, ...]:
    """Every replica article, oldest first: dates and content ids increase together."""
    articles = [replica_from_spec(spec) for spec in article_specs()]
    articles.append(_real_article())
    return tuple(sorted(articles, key=lambda article: int(article.content_id)))
