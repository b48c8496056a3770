"""Replica articles of 上海政协: what each page shows, rendered into the TRS-style template."""

from __future__ import annotations

import datetime
import html
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo

# Pictures as 河南's replica has them: a centred picture (a TRS upload, named W0…) with its
# centred caption under it.
from replicas.hnzx.articles import Block, Picture

_SHANGHAI = ZoneInfo("Asia/Shanghai")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

# Channel slug -> (name, list folder). TRS writes a channel's pages into its folder.
CHANNELS: dict[str, tuple[str, str]] = {
    "zxyw": ("政协要闻", "/xwzx/zxyw/"),
    "wyfc": ("委员风采", "/xwzx/wyfc/"),
}


@dataclass(frozen=True)
class ShszxArticle:
    """One replica article: what its pages show, and where TRS publishes it."""

    key: str
    channel: str
    doc_id: int  # TRS document id: the number after the date in the file name
    published_at: datetime.datetime
    title: str
    pages: tuple[tuple[Block, ...], ...]  # page 1 first
    source: str = "上海政协"
    author: str | None = None
    attachments: tuple[str, ...] = ()  # link texts of the PDF files under the body

    @property
    def folder(self) -> str:
        return f"{CHANNELS[self.channel][1]}{self.published_at:%Y%m}/"

    @property
    def path(self) -> str:
        """/xwzx/zxyw/202305/t20230506_412345.html"""
        return f"{self.folder}t{self.published_at:%Y%m%d}_{self.doc_id}.html"

    def page_path(self, number: int) -> str:
        """TRS numbers the pages after the first from 1: page 2 is t…_412345_1.html."""
        return self.path if number == 1 else self.path.replace(".html", f"_{number - 1}.html")

    def picture_path(self, number: int) -> str:
        return f"{self.folder}W0{self.published_at:%Y%m%d}{self.doc_id}{number:03d}.png"

    def attachment_path(self, number: int) -> str:
        return f"{self.folder}P0{self.published_at:%Y%m%d}{self.doc_id}{number:03d}.pdf"

    @property
    def paragraphs(self) -> tuple[str, ...]:
        """The text paragraphs of every page, in order (captions are pictures' own)."""
        return tuple(block for page in self.pages for block in page if isinstance(block, str))

    @property
    def pictures(self) -> tuple[tuple[str, str], ...]:
        """(path, caption) of every picture, in page order."""
        return tuple(
            (self.picture_path(block.number), block.caption)
            for page in self.pages
            for block in page
            if isinstance(block, Picture)
        )

    def page_pictures(self, number: int) -> tuple[str, ...]:
        """Paths of the pictures page `number` shows."""
        blocks = self.pages[number - 1]
        return tuple(self.picture_path(b.number) for b in blocks if isinstance(b, Picture))

    @property
    def page_paths(self) -> tuple[str, ...]:
        return tuple(self.page_path(number) for number in range(1, len(self.pages) + 1))

    @property
    def attachment_paths(self) -> tuple[str, ...]:
        return tuple(self.attachment_path(n) for n in range(1, len(self.attachments) + 1))


# The head of the real homepage, saved (../shared/reference/pages/): every page's chrome.
HOMEPAGE_FRAGMENT = "pages/shszx_homepage_head.fragment.html"


@cache
def resource(name: str) -> str:
    """A file of the replica's package as text."""
    return (files("replicas.shszx") / name).read_bytes().decode("utf-8")


def page_header() -> str:
    """What every page's body opens with: the saved `#container` and `#header` (its date script
    completed, where the saved fragment stops), then the banner and `#mainNav`."""
    fragment = resource(HOMEPAGE_FRAGMENT)
    return fragment.split("<body>\n", 1)[1] + resource("templates/header_rest.html")


def fill(template: str, values: dict[str, str]) -> str:
    """Replace every {{name}}; a placeholder without a value is a KeyError, not a blank."""
    return _PLACEHOLDER.sub(lambda match: values[match[1]], template)


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _block_html(article: ShszxArticle, block: Block) -> str:
    if isinstance(block, Picture):
        # TRS writes uploads relative to the page, with their old name in `oldsrc`.
        name = article.picture_path(block.number).rsplit("/", 1)[1]
        image = f'<img src="./{name}" oldsrc="{name}" border="0" />'
        return (
            f'<p align="center">{image}</p>\n'
            f'<p align="center" style="text-align: center;">{_text(block.caption)}</p>'
        )
    return f'<p style="text-indent: 2em;">{_text(block)}</p>'


def _pager(article: ShszxArticle, number: int) -> str:
    """The pager of a multi-page article (empty on one-page ones)."""
    count = len(article.pages)
    if count == 1:
        return ""

    def link(n: int, text: str) -> str:
        return f'<a href="./{article.page_path(n).rsplit("/", 1)[1]}">{text}</a>'

    parts = [link(number - 1, "上一页")] if number > 1 else []
    parts += [f"<span>{n}</span>" if n == number else link(n, str(n)) for n in range(1, count + 1)]
    if number < count:
        parts.append(link(number + 1, "下一页"))
    return '<div id="pagenav" class="pagenav">' + "&nbsp;".join(parts) + "</div>"


def _appendix(article: ShszxArticle) -> str:
    if not article.attachments:
        return ""
    links = "".join(
        f'<li><a href="./{path.rsplit("/", 1)[1]}" target="_blank">{_text(text)}</a></li>'
        for path, text in zip(article.attachment_paths, article.attachments, strict=True)
    )
    return f'<div class="fujian"><span>附件：</span><ul>{links}</ul></div>'


def render_page(article: ShszxArticle, number: int) -> str:
    """Page `number` of the article in the replica template."""
    author = (
        f'<span class="zz">作者：{_text(article.author)}</span>&nbsp;&nbsp;'
        if article.author
        else ""
    )
    name, folder = CHANNELS[article.channel]
    date = f"{article.published_at:%Y-%m-%d %H:%M}"
    values = {
        "meta_title": html.escape(article.title),
        "meta_source": html.escape(article.source),
        "meta_author": html.escape(article.author or ""),
        "meta_date": date,
        "channel_name": name,
        "channel_list": f"{folder}index.html",
        "title": _text(article.title),
        "source": _text(article.source),
        "author": author,
        "date": date,
        "body": "\n".join(_block_html(article, block) for block in article.pages[number - 1]),
        "pager": _pager(article, number),
        "appendix": _appendix(article) if number == len(article.pages) else "",
        "header": page_header(),
        "footer": resource("templates/footer.html"),
    }
    return fill(resource("templates/article.html"), values)


def _at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=_SHANGHAI)


def _plain(
    key: str, channel: str, doc_id: int, when: str, title: str, *paragraphs: str
) -> ShszxArticle:
    """A one-page article of text alone, from 上海政协 itself."""
    return ShszxArticle(key, channel, doc_id, _at(when), title, (paragraphs,))


_ARTICLES = (
    _plain(
        "plenary_opens", "zxyw", 412018, "2023-01-12 09:30",
        "市政协十四届一次会议开幕",
        "1月12日上午，市政协十四届一次会议在世博中心开幕。",
        "会议听取和审议市政协常委会工作报告和提案工作情况报告。",
    ),
    _plain(
        "plenary_closes", "zxyw", 412377, "2023-01-16 16:05",
        "市政协十四届一次会议闭幕",
        "1月16日下午，市政协十四届一次会议圆满完成各项议程后闭幕。",
        "会议通过了政治决议和提案审查委员会关于提案审查情况的报告。",
    ),
    ShszxArticle(
        "rare_names", "zxyw", 415902, _at("2023-03-08 14:20"),
        "市政协召开文史资料工作座谈会 王镕、陈堃等委员发言",
        (
            (
                "3月8日，市政协召开文史资料工作座谈会。",
                "王镕、陈堃、李喆等委员先后发言，围绕“三亲”史料征集（口述史）提出建议。",
                "会议要求，把文史资料工作作为政协履职的重要内容。",
            ),
        ),
        source="联合时报",
    ),
    ShszxArticle(
        "pictures", "zxyw", 418230, _at("2023-04-20 10:45"),
        "市政协开展“长三角一体化”专题视察",
        (
            (
                Picture(1, "视察组在青浦区实地察看。"),
                "4月19日，市政协组织部分委员赴青浦区开展专题视察。",
                Picture(2, "委员们在示范区展示中心听取介绍。"),
                "视察组一行深入企业园区，了解长三角生态绿色一体化发展示范区建设情况。",
            ),
        ),
        author="顾佳",
    ),
    ShszxArticle(
        "two_pages", "zxyw", 420511, _at("2023-05-06 10:15"),
        "市政协举行“推进城市数字化转型”专题协商会",
        (
            (
                "5月6日，市政协举行专题协商会，围绕推进城市数字化转型协商议政。",
                "委员们建议，要以数据要素流通为抓手，夯实数字基础设施。",
            ),
            (
                "市政府有关部门负责同志到会听取意见并作交流发言。",
                "会议还就数字化转型中的数据安全问题进行了讨论。",
            ),
        ),
    ),
    ShszxArticle(
        "notice", "zxyw", 421777, _at("2023-05-29 17:00"),
        "关于征集市政协2023年度重点调研课题的通知",
        (
            (
                "各专门委员会、各界别：",
                "现将市政协2023年度重点调研课题征集事项通知如下，请于6月30日前报送。",
            ),
        ),
        attachments=("重点调研课题申报表.pdf",),
    ),
    _plain(
        "standing_june", "zxyw", 423904, "2023-06-27 09:00",
        "市政协十四届常委会第三次会议举行",
        "6月27日，市政协十四届常委会第三次会议举行。",
        "会议围绕“推动高质量发展”协商议政。",
    ),
    _plain(
        "proposals", "zxyw", 426118, "2023-08-15 15:30",
        "市政协召开重点提案督办推进会",
        "8月15日，市政协召开重点提案督办推进会。",
        "会议通报了今年以来重点提案办理情况，提出下一阶段督办要求。",
    ),
    _plain(
        "exchange", "zxyw", 428840, "2023-10-11 11:10",
        "市政协与兄弟省市政协开展交流",
        "10月11日，市政协与江苏、浙江、安徽三省政协召开联席会议。",
        "各方围绕长三角区域协同发展深入交流。",
    ),
    _plain(
        "year_end", "zxyw", 432006, "2023-12-26 16:40",
        "市政协召开2023年度工作总结会",
        "12月26日，市政协召开2023年度工作总结会。",
        "会议回顾全年工作，部署明年重点任务。",
    ),
    _plain(
        "second_session", "zxyw", 433512, "2024-01-21 09:30",
        "市政协十四届二次会议开幕",
        "1月21日上午，市政协十四届二次会议开幕。",
        "出席会议的委员应到七百余人，实到人数符合规定。",
    ),
    _plain(
        "spring", "zxyw", 436729, "2024-03-14 10:00",
        "市政协传达学习全国两会精神",
        "3月14日，市政协召开会议，传达学习全国两会精神。",
        "会议强调，要把思想和行动统一到全国两会精神上来。",
    ),
    _plain(
        "member_doctor", "wyfc", 412950, "2023-01-30 08:50",
        "委员风采：把病人放在心上的医者",
        "市政协委员、瑞金医院主任医师沈颖三十年如一日坚守临床一线。",
        "她提出的分级诊疗提案被列为重点提案。",
    ),
    _plain(
        "member_teacher", "wyfc", 414103, "2023-02-21 13:30",
        "委员风采：乡村课堂里的“引路人”",
        "市政协委员、金山区教师周蕾扎根乡村教育二十年。",
        "她建议完善乡村教师激励机制。",
    ),
    ShszxArticle(
        "member_photo", "wyfc", 416688, _at("2023-03-22 09:40"),
        "委员风采：守护苏州河的生态卫士",
        (
            (
                "市政协委员、环保工程师韩冰多年关注苏州河治理。",
                Picture(1, "韩冰委员在苏州河畔调研。"),
                "她带领团队完成水质监测报告十余份。",
            ),
        ),
        source="解放日报",
        author="陆敏",
    ),
    _plain(
        "member_engineer", "wyfc", 419054, "2023-04-28 15:15",
        "委员风采：大国重器背后的工程师",
        "市政协委员、船舶设计师吴强参与多型船舶研制。",
        "他建议加强高端装备制造人才培养。",
    ),
    _plain(
        "member_lawyer", "wyfc", 421020, "2023-05-17 10:30",
        "委员风采：为民营企业解难题的律师",
        "市政协委员、律师杨帆长期为中小企业提供法律服务。",
        "她的提案推动了涉企法律服务平台建设。",
    ),
    _plain(
        "member_artist", "wyfc", 424466, "2023-07-06 14:00",
        "委员风采：让非遗走进社区",
        "市政协委员、非遗传承人钱芳把海派剪纸带进社区课堂。",
        "她建议为非遗传承人提供更多展示平台。",
    ),
    _plain(
        "member_farmer", "wyfc", 427310, "2023-09-05 09:20",
        "委员风采：田间地头的科技带头人",
        "市政协委员、农技专家孙浩在崇明推广绿色种植技术。",
        "他建议加大对都市现代农业的扶持。",
    ),
    _plain(
        "member_community", "wyfc", 429935, "2023-11-02 16:10",
        "委员风采：社区治理的“老娘舅”",
        "市政协委员、社区工作者何静扎根基层十五年。",
        "她总结的社区协商经验在全市推广。",
    ),
    _plain(
        "member_scientist", "wyfc", 431588, "2023-12-12 11:00",
        "委员风采：实验室里的追光者",
        "市政协委员、光学专家郑毅带领团队攻克多项关键技术。",
        "他建议完善科技成果转化机制。",
    ),
    _plain(
        "member_youth", "wyfc", 434201, "2024-02-05 10:20",
        "委员风采：青年创业者的代言人",
        "市政协委员、青年企业家冯晨关注青年创新创业。",
        "他建议为青年创业者提供更多场地和资金支持。",
    ),
    _plain(
        "member_volunteer", "wyfc", 437380, "2024-03-27 15:50",
        "委员风采：志愿服务的“领头雁”",
        "市政协委员、志愿服务组织负责人曹丽组织志愿活动上千场。",
        "她建议健全志愿服务激励褒奖制度。",
    ),
    _plain(
        "member_sport", "wyfc", 438812, "2024-04-18 09:10",
        "委员风采：推动全民健身的奥运冠军",
        "市政协委员、奥运冠军许昕走进校园推广乒乓球运动。",
        "他建议推进学校体育场馆向社会开放。",
    ),
)  # fmt: skip


def replica_articles() -> tuple[ShszxArticle, ...]:
    """Every replica article, oldest first within a channel (TRS ids grow with time)."""
    return _ARTICLES


def channel_articles(channel: str) -> tuple[ShszxArticle, ...]:
    """The channel's articles newest first, as its list pages show them."""
    chosen = (a for a in _ARTICLES if a.channel == channel)
    return tuple(sorted(chosen, key=lambda a: a.published_at, reverse=True))
