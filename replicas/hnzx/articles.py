"""Replica article pages of 河南省政协: GBK pages from a DedeCMS-like provincial template."""

from __future__ import annotations

import datetime
import html
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo

from replicas.rmzxb.articles import ReplicaArticle, ReplicaPage

_SHANGHAI = ZoneInfo("Asia/Shanghai")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

# The pages are encoded as GBK (镕, 堃, 喆 are not in GB2312) while <meta> says gb2312.
CHARSET = "gbk"
CHANNELS: dict[str, str] = {"zxyw": "政协要闻", "lzyw": "履职要闻"}


@dataclass(frozen=True)
class Picture:
    """A centred picture with its centred caption under it."""

    number: int
    caption: str


Block = str | Picture


@dataclass(frozen=True)
class HnzxSpec:
    """One replica article: what its page shows."""

    key: str
    channel: str
    content_id: str  # 7 digits
    published_at: datetime.datetime
    title: str
    blocks: tuple[Block, ...]
    source: str = "河南省政协"
    author: str | None = None

    @property
    def path(self) -> str:
        return f"/{self.published_at:%Y/%m-%d}/{self.content_id}.html"

    def image_path(self, number: int) -> str:
        return f"/uploads/allimg/{self.published_at:%y%m%d}/{self.content_id}_{number}.jpg"


@cache
def _template() -> str:
    return (files("replicas.hnzx") / "templates/article.html").read_bytes().decode("utf-8")


def _fill(template: str, values: dict[str, str]) -> str:
    """Replace every {{name}}; a placeholder without a value is a KeyError, not a blank."""
    return _PLACEHOLDER.sub(lambda match: values[match[1]], template)


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _block_html(spec: HnzxSpec, block: Block) -> str:
    if isinstance(block, Picture):
        image = f'<img src="{spec.image_path(block.number)}" border="0" alt="" />'
        return f'<p align="center">{image}</p>\n<p align="center">{_text(block.caption)}</p>'
    return f"<p>　　{_text(block)}</p>"


def render_page(spec: HnzxSpec) -> str:
    """The article's page in the replica template."""
    author = f"<span>作者：{_text(spec.author)}</span>&nbsp;&nbsp;" if spec.author else ""
    values = {
        "meta_title": html.escape(spec.title),
        "channel": spec.channel,
        "channel_name": CHANNELS[spec.channel],
        "title": _text(spec.title),
        "date": f"{spec.published_at:%Y-%m-%d %H:%M}",
        "author": author,
        "source": _text(spec.source),
        "views": str(int(spec.content_id) % 997 + 12),
        "body": "\n".join(_block_html(spec, block) for block in spec.blocks),
    }
    return _fill(_template(), values)


def replica_from_spec(spec: HnzxSpec) -> ReplicaArticle:
    """The replica article a spec describes, its page to be served as GBK."""
    images = tuple(
        spec.image_path(block.number) for block in spec.blocks if isinstance(block, Picture)
    )
    return ReplicaArticle(
        key=spec.key,
        content_id=spec.content_id,
        published=spec.published_at.date(),
        title=spec.title,
        pages=(ReplicaPage(spec.path, render_page(spec), CHARSET),),
        image_paths=images,
    )


def _at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=_SHANGHAI)


_SPECS = (
    HnzxSpec(
        key="standing_committee",
        channel="zxyw",
        content_id="1023456",
        published_at=_at("2023-01-09 10:15"),
        title="省政协十三届常委会第一次会议在郑州召开",
        blocks=(
            "1月8日，省政协十三届常委会第一次会议在郑州召开。",
            "会议协商通过了省政协十三届一次会议议程草案——会期五天。",
        ),
    ),
    HnzxSpec(
        key="gbk_names",
        channel="zxyw",
        content_id="1031207",
        published_at=_at("2023-04-17 16:40"),
        title="省政协召开文史资料征编座谈会——王镕、李堃等委员发言",
        blocks=(
            "4月17日，省政协召开文史资料征编座谈会。",
            "王镕、李堃、张喆等委员先后发言，围绕“三亲”史料征集提出意见建议。",
            "会议要求，要把文史资料工作作为政协履职的重要内容（抓紧抓好）。",
        ),
    ),
    HnzxSpec(
        key="picture",
        channel="zxyw",
        content_id="1045590",
        published_at=_at("2023-09-28 09:05"),
        title="省政协开展“同心助振兴”专题视察",
        author="刘畅",
        blocks=(
            Picture(1, "图为视察组在兰考县调研。"),
            "9月26日至27日，省政协组织部分委员赴开封市开展专题视察。",
            "视察组一行深入田间地头、企业车间，实地了解乡村产业发展情况。",
        ),
    ),
    HnzxSpec(
        key="lzyw_proposal",
        channel="lzyw",
        content_id="1052318",
        published_at=_at("2024-01-22 14:30"),
        title="省政协十三届二次会议收到提案八百余件",
        blocks=(
            "截至1月21日，省政协十三届二次会议共收到提案812件。",
            "提案内容涵盖经济、政治、文化、社会、生态文明建设等方面。",
        ),
    ),
    HnzxSpec(
        key="consultation",
        channel="zxyw",
        content_id="1060143",
        published_at=_at("2024-05-06 09:30"),
        title="省政协举行“推进黄河流域生态保护”专题协商会",
        blocks=(
            "5月6日，省政协举行专题协商会，围绕推进黄河流域生态保护和高质量发展协商议政。",
            "委员们建议，要统筹上下游、左右岸，推进综合治理、系统治理。",
            "省政府有关部门负责同志到会听取意见并作交流发言。",
        ),
    ),
    HnzxSpec(
        key="lzyw_members",
        channel="lzyw",
        content_id="1068871",
        published_at=_at("2024-08-13 11:20"),
        title="委员履职：把论文写在中原大地上",
        source="河南日报",
        author="赵昇",
        blocks=(
            "在省政协委员赵昇看来，履职就要沉下去、摸实情。",
            "今年以来，他先后走访十余个县区，形成调研报告三篇。",
        ),
    ),
    HnzxSpec(
        key="city_sites",
        channel="zxyw",
        content_id="1077402",
        published_at=_at("2024-12-02 17:45"),
        title="全省政协系统信息工作会议召开",
        blocks=(
            "12月2日，全省政协系统信息工作会议在郑州召开。",
            "会议通报了全省政协系统信息工作情况，郑州、洛阳、南阳等市政协作交流发言。",
        ),
    ),
    HnzxSpec(
        key="lzyw_2025",
        channel="lzyw",
        content_id="1089935",
        published_at=_at("2025-03-18 08:50"),
        title="省政协召开党组会议传达学习全国两会精神",
        blocks=(
            "3月17日，省政协党组召开会议，传达学习全国两会精神。",
            "会议强调，要把思想和行动统一到全国两会精神上来。",
            "省政协党组成员出席会议。",
        ),
    ),
)

# Channel slug (list pages at /<slug>/) -> article keys, newest first as list pages show them.
CHANNEL_ARTICLES: dict[str, tuple[str, ...]] = {
    slug: tuple(spec.key for spec in reversed(_SPECS) if spec.channel == slug) for slug in CHANNELS
}


def article_specs() -> tuple[HnzxSpec, ...]:
    """The spec of every replica article, oldest first."""
    return _SPECS


@cache
def replica_articles() -> tuple[ReplicaArticle, ...]:
    """Every replica article, oldest first: dates and ids increase together."""
    return tuple(replica_from_spec(spec) for spec in _SPECS)
