"""Replica articles of 广东省政协: what each page shows, rendered into the platform's template."""

from __future__ import annotations

import datetime
import html
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo

from replicas.shszx.articles import Block, Picture, fill

_SHANGHAI = ZoneInfo("Asia/Shanghai")

# Channel slug -> (name, list folder); both belong to the 政协动态 column.
CHANNELS: dict[str, tuple[str, str]] = {
    "zxyw": ("政协要闻", "/zxdt/zxyw/"),
    "sxzx": ("市县政协", "/zxdt/sxzx/"),
}
SECTION = "政协动态"


@dataclass(frozen=True)
class GdszxArticle:
    """One replica article: what its page shows, and where the platform publishes it."""

    key: str
    channel: str
    post_id: int
    published_at: datetime.datetime  # to the second, as the page's time line shows it
    title: str
    blocks: tuple[Block, ...]
    source: str = "广东省政协"

    @property
    def path(self) -> str:
        """/zxdt/zxyw/content/post_1023345.html"""
        return f"{CHANNELS[self.channel][1]}content/post_{self.post_id}.html"

    @property
    def page_paths(self) -> tuple[str, ...]:
        return (self.path,)  # no multi-page articles on this replica

    @property
    def attachment_paths(self) -> tuple[str, ...]:
        return ()

    def picture_path(self, number: int) -> str:
        return f"/attachment/0/{self.post_id // 1000}/{self.post_id}/{number}.png"

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return tuple(block for block in self.blocks if isinstance(block, str))

    @property
    def pictures(self) -> tuple[tuple[str, str], ...]:
        """(path, caption) of every picture, in page order."""
        return tuple(
            (self.picture_path(block.number), block.caption)
            for block in self.blocks
            if isinstance(block, Picture)
        )


@cache
def resource(name: str) -> str:
    """A file of the replica's package as text."""
    return (files("replicas.gdszx") / name).read_text("utf-8")


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _block_html(article: GdszxArticle, block: Block) -> str:
    if isinstance(block, Picture):
        image = f'<img src="{article.picture_path(block.number)}" style="max-width: 100%;" />'
        return (
            f'<p style="text-align: center;">{image}</p>\n'
            f'<p style="text-align: center;"><span style="font-family: 楷体;">'
            f"{_text(block.caption)}</span></p>"
        )
    return f"<p>　　{_text(block)}</p>"


def render_page(article: GdszxArticle) -> str:
    """The article's page in the replica template."""
    name, folder = CHANNELS[article.channel]
    values = {
        "meta_title": html.escape(article.title),
        "meta_source": html.escape(article.source),
        "meta_date": f"{article.published_at:%Y-%m-%d %H:%M}",
        "channel_name": name,
        "channel_list": f"{folder}index.html",
        "section": SECTION,
        "title": _text(article.title),
        "time": f"{article.published_at:%Y-%m-%d %H:%M:%S}",
        "source": _text(article.source),
        "body": "\n".join(_block_html(article, block) for block in article.blocks),
        "nav": resource("templates/nav.html"),
        "footer": resource("templates/footer.html"),
    }
    return fill(resource("templates/article.html"), values)


def _at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=_SHANGHAI)


def _article(
    key: str, channel: str, post_id: int, when: str, title: str, *blocks: Block, **extra: str
) -> GdszxArticle:
    return GdszxArticle(key, channel, post_id, _at(when), title, blocks, **extra)


_ARTICLES = (
    _article(
        "plenary", "zxyw", 4071203, "2023-01-12 09:02:15",
        "省政协十三届一次会议在广州开幕",
        "1月12日上午，省政协十三届一次会议在广州开幕。",
        "会议听取和审议省政协常委会工作报告和常委会关于提案工作情况的报告。",
        "出席开幕会的委员应到八百余人，实到人数符合规定。",
    ),
    _article(
        "bay_area", "zxyw", 4125877, "2023-03-28 15:46:09",
        "省政协围绕粤港澳大湾区建设开展专题调研",
        Picture(1, "调研组在横琴粤澳深度合作区调研。"),
        "3月27日至28日，省政协调研组赴珠海开展专题调研。",
        "调研组一行深入横琴粤澳深度合作区，了解规则衔接、机制对接情况。",
    ),
    _article(
        "consultation", "zxyw", 4180016, "2023-05-06 10:15:30",
        "省政协召开“百县千镇万村高质量发展工程”专题协商会",
        "5月6日，省政协召开专题协商会，围绕“百县千镇万村高质量发展工程”建言献策。",
        "委员们建议，要强化县域产业支撑，补齐镇村基础设施短板（以点带面）。",
    ),
    _article(
        "standing", "zxyw", 4233390, "2023-07-20 16:30:00",
        "省政协十三届常委会第四次会议举行",
        "7月20日，省政协十三届常委会第四次会议在广州举行。",
        "会议围绕推动制造业高质量发展协商议政。",
    ),
    _article(
        "proposals", "zxyw", 4301524, "2023-10-17 11:20:45",
        "省政协召开重点提案督办座谈会",
        "10月17日，省政协召开重点提案督办座谈会。",
        "会议通报了重点提案办理进展，听取承办单位意见。",
    ),
    _article(
        "second_session", "zxyw", 4352281, "2024-01-22 09:00:05",
        "省政协十三届二次会议开幕",
        "1月22日上午，省政协十三届二次会议在广州开幕。",
        "大会发言聚焦高质量发展、科技创新等议题。",
        source="南方日报",
    ),
    _article(
        "shenzhen", "sxzx", 4098762, "2023-02-16 14:05:33",
        "深圳市政协开展民生实事专题视察",
        "2月16日，深圳市政协组织委员开展民生实事专题视察。",
        "视察组实地察看了社区健康服务中心和学位建设项目。",
        source="深圳市政协",
    ),
    _article(
        "foshan", "sxzx", 4201147, "2023-06-08 10:40:12",
        "佛山市政协召开制造业发展协商座谈会",
        "6月8日，佛山市政协召开制造业高质量发展协商座谈会。",
        Picture(1, "座谈会现场。"),
        "与会委员围绕数字化智能化转型提出意见建议。",
        source="佛山市政协",
    ),
    _article(
        "shantou", "sxzx", 4277805, "2023-09-14 15:25:48",
        "汕头市政协推进“委员工作室”建设",
        "汕头市政协在各区县设立委员工作室二十余个。",
        "委员工作室成为委员联系群众、收集民意的重要平台。",
        source="汕头市政协",
    ),
    _article(
        "zhanjiang", "sxzx", 4339912, "2023-12-19 09:55:21",
        "湛江市政协召开海洋经济发展专题议政会",
        "12月19日，湛江市政协召开海洋经济发展专题议政会。",
        "委员们建议，要加快现代海洋牧场建设。",
        source="湛江市政协",
    ),
)  # fmt: skip


def replica_articles() -> tuple[GdszxArticle, ...]:
    """Every replica article."""
    return _ARTICLES


def channel_articles(channel: str) -> tuple[GdszxArticle, ...]:
    """The channel's articles newest first, as its list pages show them."""
    chosen = (a for a in _ARTICLES if a.channel == channel)
    return tuple(sorted(chosen, key=lambda a: a.published_at, reverse=True))
