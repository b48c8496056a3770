"""Tests for pipelines.metadata: an article's fields in a WARC metadata record, and back."""

from __future__ import annotations

from datetime import datetime

from pipelines.metadata import article_fields, parse_fields, rejection_fields
from pipelines.normalise.article import Article, Image
from pipelines.normalise.dates import SHANGHAI
from pipelines.warc.records import warc_fields

ARTICLE = Article(
    url="http://www.rmzxb.com.cn/c/2022-03-04/3064624.shtml",
    title="与历史同向 与时代同行 与人民同心",
    published_at=datetime(2022, 3, 4, 16, 3, tzinfo=SHANGHAI),
    content_id="3064624",
    section=("协商", "政协动态"),
    subtitle="河南省政协以作风建设引领履职创新纪实",
    source="人民政协网",
    editor="李京",
    keywords=("河南省政协", "作风建设"),
    paragraphs=("第一段,有\u2028行分隔符。", "第二段。"),
    images=(Image("http://www.rmzxb.com.cn/upload/a.jpg", "图说", 1),),
    page_count=2,
    attachments=("http://www.rmzxb.com.cn/upload/%E8%A1%A8.docx",),
)
PAGES = [(1, "<urn:uuid:1>"), (2, "<urn:uuid:2>")]


def test_an_article_comes_back_whole() -> None:
    block = warc_fields(article_fields("rmzxb", "xs", PAGES, ARTICLE))
    archived = parse_fields(block)

    assert archived is not None
    assert (archived.site, archived.channel, archived.pages) == ("rmzxb", "xs", tuple(PAGES))
    assert archived.article == ARTICLE
    assert archived.article.content_hash == ARTICLE.content_hash
    # Not content (Article's equality leaves them out), but `reindex` must get them back.
    assert archived.article.attachments == ARTICLE.attachments != ()


def test_a_rejection_comes_back_with_its_reason() -> None:
    fields = rejection_fields("rmzxb", "yw", PAGES[:1], "no-date", "no date line\nfound")
    archived = parse_fields(warc_fields(fields))

    assert archived is not None and archived.article is None
    assert (archived.reason, archived.detail) == ("no-date", "no date line found")


def test_other_metadata_is_not_ours() -> None:
    assert parse_fields(b"http-status-line: HTTP/1.1 304 Not Modified\r\n") is None
