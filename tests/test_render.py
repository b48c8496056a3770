"""render_text lays an article out as a reader sees it: the seed article's text is the reference."""

from __future__ import annotations

import re
from datetime import datetime

from pipelines.normalise import Article, Image, normalise_page, render_text
from pipelines.normalise.dates import SHANGHAI
from replicas.rmzxb.articles import replica_articles
from tests.conftest import reference_file

SEED_TEXT = reference_file("seed_article.txt")
# Seed lines that are page chrome: nav bar, breadcrumb, share box, app download, related news.
CHROME = re.compile(r"首 页 政协动态.*|首页>.*|分享到:?|人民政协报政协号客户端下载 >|相关新闻")


def _lines(text: str) -> list[str]:
    """Non-blank lines, white space collapsed."""
    collapsed = (" ".join(line.split()) for line in text.splitlines())
    return [line for line in collapsed if line]


def _seed_article() -> Article:
    seed = next(article for article in replica_articles() if article.key == "seed")
    (page,) = seed.pages
    url = "http://127.0.0.1:8765" + page.path
    return normalise_page(url, {"Content-Type": "text/html; charset=utf-8"}, page.html.encode())


def test_seed_rendering_lines_appear_in_the_seed_text_in_order() -> None:
    reference = _lines(SEED_TEXT.read_text(encoding="utf-8"))
    rendered = _lines(render_text(_seed_article()))
    position = 0
    for line in rendered:
        assert line in reference[position:], f"not in the seed text after line {position}: {line}"
        position = reference.index(line, position) + 1


def test_seed_rendering_holds_every_article_line_of_the_seed_text() -> None:
    rendered = _lines(render_text(_seed_article()))
    article_lines = [
        line for line in _lines(SEED_TEXT.read_text(encoding="utf-8")) if not CHROME.fullmatch(line)
    ]
    assert [line for line in article_lines if line not in rendered] == []
    assert len(rendered) == len(article_lines)


def test_render_mirrors_the_page_order_of_the_date_line_and_pictures() -> None:
    article = Article(
        url="http://www.rmzxb.com.cn/c/2023-02-27/1.shtml",
        title="标题",
        subtitle="副题",
        published_at=datetime(2023, 2, 27, 9, 15, 30, tzinfo=SHANGHAI),
        author="甲 乙",
        source="新华社",
        editor="丙",
        paragraphs=("第一段", "第二段"),
        images=(
            Image("http://x/1.jpg", "图一", position=1),
            Image("http://x/2.jpg", None, position=1),
            Image("http://x/3.jpg", "图三", position=2),
        ),
    )
    assert (
        render_text(article)
        == "\n\n".join(
            [
                "标题",
                "——副题",
                "2023年02月27日 09:15 | 作者:甲 乙 | 来源:新华社",
                "第一段",
                "图一",
                "第二段",
                "图三",
                "编辑:丙",
            ]
        )
        + "\n"
    )


def test_render_without_source_prints_the_date_alone() -> None:
    article = Article(
        url="http://www.rmzxb.com.cn/c/2014-06-17/340701.shtml",
        title="T",
        published_at=datetime(2014, 6, 17, tzinfo=SHANGHAI),
        keywords=("政协", "农业"),
    )
    assert _lines(render_text(article)) == ["T", "2014年06月17日 00:00", "关键词:政协 农业"]


def test_marked_pictures_stand_where_they_stood_with_their_captions() -> None:
    article = Article(
        url="http://www.rmzxb.com.cn/c/2023-02-27/1.shtml",
        title="标题",
        published_at=datetime(2023, 2, 27, 9, 15, 30, tzinfo=SHANGHAI),
        paragraphs=("第一段", "第二段"),
        images=(
            Image("http://x/1.jpg", "图一", position=1),
            Image("http://x/2.jpg", None, position=1),
            Image("http://x/3.jpg", "图三", position=7),  # past the last paragraph
        ),
    )
    assert render_text(article, mark_pictures=True).split("\n\n")[2:] == [
        "第一段",
        "[图片: http://x/1.jpg] 图一",
        "[图片: http://x/2.jpg]",
        "第二段",
        "[图片: http://x/3.jpg] 图三\n",
    ]
