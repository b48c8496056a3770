"""Replica article pages of 中国政协网, rendered from a template that follows SITES.md."""

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
# The CMS stamps the page this long after it creates the article (and its ARTI id).
_PUBLISH_DELAY = datetime.timedelta(minutes=23)

CHANNELS: dict[str, tuple[str, str]] = {
    "yw": ("/zxxw/yw/", "要闻"),  # current design
    "zxyw": ("/zxww/newcppcc/zxyw/index.shtml", "要闻"),  # old design, 2017-2020
}


@dataclass(frozen=True)
class Picture:
    """A picture in the body, with the centred caption under it (None: no caption)."""

    number: int
    caption: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A link to a file in the body, as the site lists 附件."""

    name: str
    suffix: str = "pdf"


Block = str | Picture | Attachment


@dataclass(frozen=True)
class CppccSpec:
    """One replica article: what its page shows."""

    key: str
    channel: str
    created_at: datetime.datetime  # the ARTI id's time; the path date is its Beijing date
    serial: int  # the id's last three digits
    title: str
    source: str
    blocks: tuple[Block, ...]
    # The date the page prints, when the CMS got it wrong; else created_at + _PUBLISH_DELAY.
    page_date: datetime.datetime | None = None

    @property
    def content_id(self) -> str:
        milliseconds = round(self.created_at.timestamp() * 1000)
        return f"ARTI{milliseconds}{self.serial:03d}"

    @property
    def published_at(self) -> datetime.datetime:
        return self.page_date or self.created_at + _PUBLISH_DELAY

    @property
    def path(self) -> str:
        return f"/zxww/{self.created_at:%Y/%m/%d}/{self.content_id}.shtml"

    def file_path(self, number: int, suffix: str) -> str:
        return f"/zxww/{self.created_at:%Y/%m/%d}/{self.content_id}_{number}.{suffix}"


@cache
def _template() -> str:
    return (files("replicas.cppcc") / "templates/article.shtml").read_bytes().decode("utf-8")


def _fill(template: str, values: dict[str, str]) -> str:
    """Replace every {{name}}; a placeholder without a value is a KeyError, not a blank."""
    return _PLACEHOLDER.sub(lambda match: values[match[1]], template)


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _block_html(spec: CppccSpec, block: Block, index: int) -> str:
    if isinstance(block, Picture):
        src = spec.file_path(block.number, "jpg")
        image = f'<p style="text-align: center;"><img src="{src}" alt="" border="0" /></p>'
        if block.caption is None:
            return image
        return f'{image}\n<p style="text-align: center;">{_text(block.caption)}</p>'
    if isinstance(block, Attachment):
        href = spec.file_path(index, block.suffix)
        return f'<p>附件：<a href="{href}" target="_blank">{_text(block.name)}</a></p>'
    return f'<p style="text-indent: 2em;">{_text(block)}</p>'


def render_page(spec: CppccSpec) -> str:
    """The article's page in the replica template."""
    channel_path, channel_name = CHANNELS[spec.channel]
    body = "\n".join(
        _block_html(spec, block, index) for index, block in enumerate(spec.blocks, start=1)
    )
    values = {
        "meta_title": html.escape(spec.title),
        "meta_source": html.escape(spec.source),
        "channel_path": channel_path,
        "channel_name": channel_name,
        "title": _text(spec.title),
        "date": f"{spec.published_at:%Y-%m-%d %H:%M}",
        "source": _text(spec.source),
        "body": body,
        "content_id": spec.content_id,
    }
    return _fill(_template(), values)


def replica_from_spec(spec: CppccSpec) -> ReplicaArticle:
    """The replica article a spec describes."""
    images = tuple(
        spec.file_path(block.number, "jpg") for block in spec.blocks if isinstance(block, Picture)
    )
    return ReplicaArticle(
        key=spec.key,
        content_id=spec.content_id,
        published=spec.published_at.date(),
        title=spec.title,
        pages=(ReplicaPage(spec.path, render_page(spec)),),
        image_paths=images,
    )


def _at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=_SHANGHAI)


_SPECS = (
    CppccSpec(
        key="plenary",
        channel="zxyw",
        created_at=_at("2018-03-03 14:12:05.409"),
        serial=103,
        title="全国政协十三届一次会议在京开幕",
        source="新华社",
        blocks=(
            "中国人民政治协商会议第十三届全国委员会第一次会议3日下午在人民大会堂开幕。",
            "2000多名全国政协委员肩负人民重托，出席大会，共商国是。",
            "大会听取并审议全国政协十二届常委会工作报告和提案工作情况报告。",
        ),
    ),
    CppccSpec(
        key="picture",
        channel="zxyw",
        created_at=_at("2018-09-12 08:40:31.731"),
        serial=207,
        title="全国政协召开双周协商座谈会",
        source="人民政协报",
        blocks=(
            Picture(1, "图为座谈会现场。"),
            "全国政协11日在京召开双周协商座谈会，围绕“推进城乡义务教育一体化”建言资政。",
            "委员们认为，要加大对农村学校的投入，缩小城乡办学差距。",
            "（责任编辑：李明）",
        ),
    ),
    CppccSpec(
        key="attachment",
        channel="zxyw",
        created_at=_at("2019-07-04 07:48:30.103"),
        serial=409,
        title="关于征集全国政协十三届三次会议提案线索的通知",
        source="全国政协办公厅",
        blocks=(
            "为做好全国政协十三届三次会议提案工作，现面向社会征集提案线索。",
            "有关事项见附件。",
            Attachment("提案线索征集表.docx", "docx"),
            Attachment("征集说明.pdf"),
        ),
    ),
    CppccSpec(
        key="date_mismatch",
        channel="zxyw",
        created_at=_at("2019-11-20 16:05:12.262"),
        serial=512,
        title="全国政协举行专题协商会",
        source="中国政协网",
        # The CMS reused an id made days earlier: the page date is not the id's.
        page_date=_at("2019-11-25 10:30:00"),
        blocks=(
            "全国政协25日在京举行专题协商会，围绕“推动制造业高质量发展”协商议政。",
            "与会委员提出，要加快关键核心技术攻关，提升产业链现代化水平。",
        ),
    ),
    CppccSpec(
        key="fullwidth",
        channel="zxyw",
        created_at=_at("2020-05-21 15:02:44.580"),
        serial=611,
        title="全国政协十三届三次会议开幕（图文直播）",
        source="中国政协网",
        blocks=(
            "今天下午３时，全国政协十三届三次会议在人民大会堂开幕！",
            "会议应出席委员２１５７人，实到２０５７人，符合规定人数。",
        ),
    ),
    CppccSpec(
        key="yw_2024",
        channel="yw",
        created_at=_at("2024-03-04 15:00:09.915"),
        serial=118,
        title="全国政协十四届二次会议在京开幕",
        source="新华社",
        blocks=(
            "全国政协十四届二次会议4日下午在人民大会堂开幕。",
            "2000多名全国政协委员将紧扣中心任务，积极建言资政、广泛凝聚共识。",
            Picture(1, "3月4日，全国政协十四届二次会议在北京人民大会堂开幕。"),
            "会议听取和审议全国政协常委会工作报告、提案工作情况报告。",
        ),
    ),
    CppccSpec(
        key="no_caption",
        channel="yw",
        created_at=_at("2024-06-18 09:21:40.048"),
        serial=305,
        title="全国政协召开主席会议",
        source="人民政协报",
        blocks=(
            Picture(1),
            "全国政协主席会议17日在京召开，审议有关工作安排。",
            "会议强调，要把学习贯彻党的二十届三中全会精神作为重要政治任务。",
        ),
    ),
    CppccSpec(
        key="yw_2025",
        channel="yw",
        created_at=_at("2025-03-10 08:05:55.377"),
        serial=421,
        title="全国政协十四届三次会议举行第三次全体会议",
        source="新华社",
        blocks=(
            "全国政协十四届三次会议9日下午在人民大会堂举行第三次全体会议。",
            "12位委员围绕推进中国式现代化作大会发言。",
            "委员们表示，要聚焦发展新质生产力，提出务实管用的意见建议。",
        ),
    ),
    CppccSpec(
        key="short",
        channel="yw",
        created_at=_at("2025-09-02 18:30:00.654"),
        serial=9,
        title="全国政协常委会会议闭幕",
        source="中国政协网",
        blocks=("全国政协十四届常委会第十五次会议2日上午在京闭幕。",),
    ),
)

# Channel slug -> article keys, newest first as list pages show them.
CHANNEL_ARTICLES: dict[str, tuple[str, ...]] = {
    slug: tuple(spec.key for spec in reversed(_SPECS) if spec.channel == slug) for slug in CHANNELS
}


def article_specs() -> tuple[CppccSpec, ...]:
    """The spec of every replica article, oldest first."""
    return _SPECS


@cache
def replica_articles() -> tuple[ReplicaArticle, ...]:
    """Every replica article, oldest first: dates and ARTI ids increase together."""
    return tuple(replica_from_spec(spec) for spec in _SPECS)
