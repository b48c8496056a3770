"""Synthetic catalogue content: articles of about 2 KB of Chinese text, and their table rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from benchmarks.channel import corpus_paragraphs
from pipelines.catalogue.models import ArticleRecord
from pipelines.catalogue.records import ArchivedResponse, record_row
from pipelines.catalogue.writes import capture_row, content_values, version_heading
from pipelines.normalise import SHANGHAI, Article
from pipelines.warc.location import RecordLocation

SITE = "rmzxb"
CHANNELS = ("yw", "yl", "xs", "tz", "dp", "wyjt", "ll", "rs", "sh", "fz", "sp", "wh")
TEXT_CHARS = 700  # about 2 KB of UTF-8
PARAGRAPHS = 4
FIRST = datetime(2016, 1, 1, 8, 0, tzinfo=SHANGHAI)
STEP = timedelta(minutes=7)  # 1,000,000 articles span about 13 years
# Rare terms, absent from the corpus, put in 1 article of every RARE_EVERY (0.4 %).
RARE_TWO, RARE_FOUR, RARE_EVERY = "锂矿", "量子通信", 250
COMMON = "政协"  # in most articles' text
BULK_ROWS = 5_000  # articles a batch of the catalogue benchmark's bulk path makes at once


@cache
def _corpus() -> str:
    text = "".join(corpus_paragraphs())
    if RARE_TWO in text or RARE_FOUR in text:
        raise RuntimeError("the rare search terms occur in the corpus: choose others")
    return text


def synthetic_article(index: int) -> Article:
    """Article `index`: a window of the corpus as its body, rare terms in a few of them."""
    corpus = _corpus()
    start = (index * 7919) % (len(corpus) - TEXT_CHARS)
    text = corpus[start : start + TEXT_CHARS]
    if index % RARE_EVERY == 7:
        text = f"{RARE_FOUR}实验网建成。" + text
    if index % RARE_EVERY == 131:
        text = f"{RARE_TWO}资源调查。" + text
    size = len(text) // PARAGRAPHS + 1
    return Article(
        url=_url(index),
        title=f"委员履职纪实第{index}期",
        published_at=published(index),
        content_id=str(5_000_000 + index),
        section=("要闻",),
        subtitle="与历史同向 与时代同行",
        source="人民政协网",
        author="王小明",
        editor="王晓",
        keywords=("政协", "履职"),
        paragraphs=tuple(text[i : i + size] for i in range(0, len(text), size)),
    )


def published(index: int) -> datetime:
    return FIRST + STEP * index


def channel_of(index: int) -> str:
    return CHANNELS[index % len(CHANNELS)]


@lru_cache(maxsize=2 * BULK_ROWS)  # each article's rows ask for it three times
def capture_of(index: int) -> RecordLocation:
    """A made-up WARC location for the article's one page."""
    fetched = published(index).astimezone(UTC) + timedelta(hours=1)
    return RecordLocation(
        filename=f"CPPCC-bench-{index // 100_000:05d}.warc.gz",
        offset=index * 9_000,
        length=9_000,
        record_id=f"<urn:uuid:00000000-0000-4000-8000-{index:012d}>",
        payload_digest=f"sha1:{index:032d}",
        fetched_at=fetched,
        status=200,
        url=_url(index),
    )


def _url(index: int) -> str:
    # date().isoformat(): strftime on an aware datetime took a fifth of the rows' making.
    day = published(index).date().isoformat()
    return f"http://www.rmzxb.com.cn/c/{day}/{5_000_000 + index}.shtml"


def article_row(index: int, article: Article) -> dict[str, Any]:
    """The `articles` row save_article would write, with an explicit id (index + 1)."""
    seen = capture_of(index).fetched_at
    return {
        "id": index + 1,
        "url": article.url,
        "site": SITE,
        "channel": channel_of(index),
        "first_seen_at": seen,
        "last_seen_at": seen,
        **content_values(article, seen),
    }


def version_row(row: dict[str, Any]) -> dict[str, Any]:
    """Version 1 of an article row, as save_article writes it."""
    record_id = capture_of(row["id"] - 1).record_id  # its page 1's, as save_article keeps
    return version_heading(row["id"], 1, row, record_id=record_id, run_id=None)


def synthetic_capture_row(index: int) -> dict[str, Any]:
    """The `captures` row of article `index`'s page 1."""
    return capture_row(capture_of(index), article_id=index + 1, page_number=1, run_id=None)


def archived_of(index: int) -> ArchivedResponse:
    """The record a crawl wrote of the article's page, with the validators nginx sends."""
    fetched = capture_of(index).fetched_at
    return ArchivedResponse(
        capture_of(index),
        etag=f'"{int(fetched.timestamp()):x}-{900 + index % 5000:x}"',
        last_modified=f"{fetched:%a, %d %b %Y %H:%M:%S} GMT",
    )


def synthetic_record_row(index: int) -> dict[str, Any]:
    """The `records` row of article `index`'s page 1 (every page a crawl fetched has one)."""
    return record_row(archived_of(index), run_id=None)


def transient_record(row: dict[str, Any]) -> ArticleRecord:
    """An ArticleRecord not in any session, for the search indexer."""
    return ArticleRecord(**row)
