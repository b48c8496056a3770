"""A replica of 人民政协网 that changes from one simulated day to the next, for the drift alarms.

Each channel publishes a few articles a day, up to the replica's `today`. From `redesign_on`
the article template moves 来源 out of the line under the title (and empties its meta tag), so
the site profile no longer finds any source: articles still come, without it, which only the
field coverage shows. A channel in `empty_lists` answers its list page 1 with a page that
links no article (a list whose layout changed). Served by the tests of `cppcc-archive health`
and of the service's metrics, one day after another.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

from replicas.rmzxb.articles import ArticleSpec, Picture, render_page
from replicas.rmzxb.site import SEEDS_SITE, not_found_page
from replicas.rmzxb.site import _png as png_bytes
from replicas.server import ReplicaServer, Reply, Routes

SHANGHAI = ZoneInfo("Asia/Shanghai")
HTML = (("Content-Type", "text/html; charset=utf-8"), ("Server", "nginx"))
# The redesign: the date line's `| 来源：<a>…</a>` and the source meta tag's content go.
_SOURCE_IN_DATE_LINE = re.compile(r"\s*\|\s*&nbsp;来源：<a [^>]*>[^<]*</a>")
_SOURCE_META = re.compile(r'<meta name="source" content="[^"]*"/>')
_NEW_SOURCE_BOX = '<div class="article-source">来源：{}</div>\n            <div class="text_box">'


@dataclass(frozen=True)
class DriftChannel:
    """One channel of the replica: its list folder, its name, and how many articles a day."""

    key: str
    folder: str
    name: str
    per_day: int
    days: int | None = None  # publishes on its first `days` days only (None: every day)
    page_size: int = 4  # articles a list page links


CHANNELS = (
    DriftChannel("yw", "/yw_n/", "要闻", per_day=12),
    DriftChannel("xs", "/xs/", "协商", per_day=10),
    # A list page an article: `--max-list-pages 3` leaves its walk short of its last page.
    DriftChannel("tz", "/tz/", "统战", per_day=4, days=1, page_size=1),
)


def seeds(base_url: str, schedule: str = "0 8 * * *", channels: str = "yw xs tz") -> str:
    """A seeds file for the replica at `base_url`: the named channels, daily by default."""
    text = SEEDS_SITE.format(base_url=base_url)
    for channel in CHANNELS:
        if channel.key in channels.split():
            text += (
                f'\n[sites.rmzxb.channels.{channel.key}]\nname = "{channel.name}"\n'
                f'list = "{channel.folder}index.shtml"\nschedule = "{schedule}"\n'
            )
    return text


class DriftingReplica(ReplicaServer):
    """The replica as it stands on `today`; set `today` and `empty_lists` between crawls."""

    def __init__(self, first_day: datetime.date, redesign_on: datetime.date) -> None:
        super().__init__(lambda base_url: {}, not_found_page)
        self.first_day = first_day
        self.redesign_on = redesign_on
        self.today = first_day
        self.empty_lists: set[str] = set()
        self._built: dict[tuple[datetime.date, frozenset[str]], Routes] = {}

    def reply_for(self, path: str) -> Reply:
        key = (self.today, frozenset(self.empty_lists))
        if key not in self._built:
            self._built[key] = self._site()
        self.routes = self._built[key]
        return super().reply_for(path)

    def _site(self) -> Routes:
        redesigned = self.today >= self.redesign_on
        routes: dict[str, Reply] = {}
        for channel in CHANNELS:
            specs = self._articles(channel)
            for spec in specs:
                routes.update(_article_routes(spec, redesigned))
            listed = [] if channel.key in self.empty_lists else specs
            routes.update(_list_routes(channel, listed))
        return routes

    def _articles(self, channel: DriftChannel) -> list[ArticleSpec]:
        """The channel's articles published by `today`, newest first."""
        specs = []
        day, number = self.first_day, 0
        while day <= self.today and (channel.days is None or number < channel.days):
            specs += [_spec(channel, day, number, index) for index in range(channel.per_day)]
            day, number = day + datetime.timedelta(days=1), number + 1
        return sorted(specs, key=lambda spec: spec.published_at, reverse=True)


def _spec(channel: DriftChannel, day: datetime.date, number: int, index: int) -> ArticleSpec:
    content_id = str(6_000_000 + CHANNELS.index(channel) * 100_000 + number * 100 + index)
    published = datetime.datetime.combine(day, datetime.time(8, index), SHANGHAI)
    body: list[str | Picture] = [
        f"{channel.name}第{index + 1}条：全国政协委员围绕年度协商议题开展调研。",
        "委员们表示，要把调研成果转化为高质量的建言资政成果。",
    ]
    if index % 3 == 0:  # a third of the articles show a picture
        body.append(Picture(f"/upload/resources/image/{day:%Y/%m/%d}/{content_id}_1.jpg"))
    return ArticleSpec(
        key=content_id,
        content_id=content_id,
        published_at=published,
        title=f"{channel.name}：{day.month}月{day.day}日第{index + 1}条消息",
        section=(channel.name,),
        pages=(tuple(body),),
        author="记者 张三",
    )


def _article_routes(spec: ArticleSpec, redesigned: bool) -> dict[str, Reply]:
    page = render_page(spec, 1)
    if redesigned:
        page = _SOURCE_IN_DATE_LINE.sub("", page, count=1)
        page = _SOURCE_META.sub('<meta name="source" content=""/>', page, count=1)
        page = page.replace('<div class="text_box">', _NEW_SOURCE_BOX.format(spec.source), 1)
    routes = {spec.path: Reply(200, HTML, page.encode("utf-8"))}
    for block in spec.pages[0]:
        if isinstance(block, Picture):
            picture = png_bytes(int(spec.content_id) % 997)
            routes[block.path] = Reply(200, (("Content-Type", "image/png"),), picture)
    return routes


def _list_routes(channel: DriftChannel, specs: list[ArticleSpec]) -> Mapping[str, Reply]:
    size = channel.page_size
    chunks = [specs[i : i + size] for i in range(0, len(specs), size)] or [[]]
    routes = {}
    for number, chunk in enumerate(chunks, 1):
        items = "\n".join(
            f'<li><a href="{spec.path}">{escape(spec.title)}</a>'
            f"<span>{spec.published_at:%Y-%m-%d}</span></li>"
            for spec in chunk
        )
        nav = " ".join(f'<a href="{c.folder}index.shtml">{c.name}</a>' for c in CHANNELS)
        page = (
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            f"<title>{channel.name}——人民政协网</title></head><body>"
            f'<div class="a_nav">{nav}</div><ul class="list">{items}</ul>'
            f'<div class="page">{_pager(channel.folder, number, len(chunks))}</div></body></html>'
        )
        routes[_list_path(channel.folder, number)] = Reply(200, HTML, page.encode("utf-8"))
    return routes


def _list_path(folder: str, number: int) -> str:
    return folder + ("index.shtml" if number == 1 else f"index_{number}.shtml")


def _pager(folder: str, number: int, count: int) -> str:
    links = [f'<a href="{_list_path(folder, n)}">{n}</a>' for n in range(1, count + 1)]
    if number < count:
        links.append(f'<a href="{_list_path(folder, number + 1)}">下一页</a>')
    return " ".join(links)
