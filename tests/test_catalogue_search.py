"""Tests for pipelines.catalogue.search: Chinese full-text search, the same on both back ends."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from pipelines.catalogue.bigrams import query_phrases, terms
from pipelines.catalogue.search import (
    MatchCount,
    count_search,
    hit_view,
    make_snippet,
    search_articles,
    search_plan,
)
from pipelines.catalogue.writes import save_article
from pipelines.errors import UsageError
from pipelines.normalise.article import Image
from tests.db_fixtures import SHANGHAI, location, make_article

SITE = "http://www.rmzxb.com.cn/c"
# (key, fields): each article puts the words where a test looks for them.
ARTICLES = {
    "title": {
        "title": "河南省政协召开黄河流域生态保护座谈会",
        "paragraphs": ("会议听取了意见。",),
        "published_at": datetime(2024, 5, 1, 9, 0, tzinfo=SHANGHAI),
    },
    "body": {
        "title": "委员建言生态文明",
        "paragraphs": ("推动黄河流域生态保护和高质量发展,政协委员积极建言。",),
        "published_at": datetime(2024, 5, 3, 9, 0, tzinfo=SHANGHAI),
        "editor": "李京",
    },
    "caption": {
        "title": "一线调研",
        "paragraphs": ("调研组深入基层。",),
        "images": (Image("http://www.rmzxb.com.cn/upload/1.jpg", "政协委员在田间调研"),),
        "published_at": datetime(2024, 5, 2, 9, 0, tzinfo=SHANGHAI),
        "source": "人民政协报",
    },
    "subtitle": {
        "title": "与时代同行",
        "subtitle": "河南省政协以作风建设引领履职创新纪实",
        "paragraphs": ("作风建设常抓不懈。",),
        "published_at": datetime(2024, 4, 1, 9, 0, tzinfo=SHANGHAI),
        "section": ("协商", "政协动态"),
    },
    "other": {
        "title": "天气预报",
        "paragraphs": ("明天晴,气温回升。Weather is FINE.",),
        "published_at": datetime(2024, 5, 4, 9, 0, tzinfo=SHANGHAI),
    },
}


@pytest.fixture
def catalogued(session: Session) -> dict[str, str]:
    """The articles above in the catalogue; their URLs by key."""
    urls = {}
    for number, (key, fields) in enumerate(ARTICLES.items()):
        url = f"{SITE}/2024-05-0{number}/{number}.shtml"
        defaults = {"images": (), "section": ("要闻",), "source": "人民政协网", "editor": None}
        article = make_article(url, **(defaults | fields))
        save_article(
            session, article=article, site="rmzxb", channel="yw",
            captures=[(1, location(f"search-{number}", page_url=url))], run_id=None,
        )  # fmt: skip
        urls[key] = url
    session.flush()
    return urls


def found(session: Session, query: str, **filters: object) -> list[str]:
    return [hit.article.url for hit in search_articles(session, query, **filters)]  # type: ignore[arg-type]


def test_two_characters_are_found_in_every_field(
    session: Session, catalogued: dict[str, str]
) -> None:
    hits = found(session, "政协", sort="relevance")
    assert set(hits) == {catalogued[k] for k in ("title", "body", "caption", "subtitle")}
    assert hits[0] == catalogued["title"]  # the title hit first


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("河南省政协", ["title", "subtitle"]),  # title hit first, then the subtitle's
        ("黄河流域生态保护", ["title", "body"]),
        ("委员", ["body", "caption"]),
        ("田间调研", ["caption"]),
        ("河南 座谈会", ["title"]),  # every part must match
        ("河南 气温", []),
        ("weather fine", ["other"]),  # words of other scripts, any case
        ("流域保护", []),  # a phrase, not characters scattered through the text
    ],
)
def test_words_and_phrases_of_any_length(
    session: Session, catalogued: dict[str, str], query: str, expected: list[str]
) -> None:
    hits = found(session, query, sort="relevance")
    if len(expected) > 1 and expected[0] == "title":
        assert hits == [catalogued[key] for key in expected]
    else:
        assert set(hits) == {catalogued[key] for key in expected}


def test_filters_combine_with_search(session: Session, catalogued: dict[str, str]) -> None:
    assert found(session, "政协", source="人民政协报") == [catalogued["caption"]]
    assert found(session, "政协", editor="李京") == [catalogued["body"]]
    assert found(session, "政协", section="政协动态") == [catalogued["subtitle"]]
    assert found(session, "政协", since=date(2024, 5, 2), until=date(2024, 5, 2)) == [
        catalogued["caption"]
    ]
    assert found(session, "政协", site="other") == []
    assert found(session, "政协", channel="yw", limit=2) == found(session, "政协")[:2]


def test_pages_by_offset_and_the_count_of_all(session: Session, catalogued: dict[str, str]) -> None:
    everything = found(session, "政协", limit=100)
    assert len(everything) > 2
    assert found(session, "政协", limit=2, offset=1) == everything[1:3]
    assert found(session, "政协", offset=len(everything)) == []
    assert count_search(session, "政协") == MatchCount(len(everything), exact=True)
    assert count_search(session, "政协", source="人民政协报") == MatchCount(1, exact=True)
    with pytest.raises(UsageError):
        count_search(session, "政")


def test_a_hit_as_json_is_the_article_line_with_its_snippet(
    session: Session, catalogued: dict[str, str]
) -> None:
    hit = search_articles(session, "政协", limit=1)[0]
    view = hit_view(hit)
    assert view["url"] == hit.article.url and view["snippet"] == hit.snippet
    assert view["highlights"] == [list(span) for span in hit.highlights]
    assert view["title_match"] is hit.title_match


def test_an_edited_article_is_found_by_its_new_text_only(
    session: Session, catalogued: dict[str, str]
) -> None:
    url = catalogued["other"]
    edited = make_article(url, title="天气预报", paragraphs=("政协委员关心天气。",))
    save_article(
        session, article=edited, site="rmzxb", channel="yw",
        captures=[(1, location("search-edit", page_url=url))], run_id=None,
    )  # fmt: skip
    assert url in found(session, "关心天气")
    assert found(session, "气温回升") == []


def test_hits_carry_a_snippet_with_the_words_marked(
    session: Session, catalogued: dict[str, str]
) -> None:
    (hit,) = search_articles(session, "高质量发展")
    assert hit.article.url == catalogued["body"] and not hit.title_match
    start, end = hit.highlights[0]
    assert hit.snippet[start:end] == "高质量发展"
    assert "黄河流域" in hit.snippet


def test_search_goes_through_the_index(session: Session, catalogued: dict[str, str]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        assert "ix_article_search_document" in search_plan(session, "河南省政协")
    else:
        assert "VIRTUAL TABLE INDEX" in search_plan(session, "河南省政协")


def test_a_query_without_words_is_a_usage_error(session: Session) -> None:
    with pytest.raises(UsageError, match="no word"):
        search_articles(session, " ,。 ")


def test_bigrams_and_phrases() -> None:
    assert list(terms("河南省政协,ABC 2024年")) == [
        "河南",
        "南省",
        "省政",
        "政协",
        "abc",
        "2024",
        "年",
    ]
    assert query_phrases("河南省 政协") == [["河南", "南省"], ["政协"]]
    snippet, marks = make_snippet(
        {"title": "", "subtitle": "", "captions": "", "body": "前文。" * 30 + "政协委员" + "后文"},
        ["政协"],
    )
    assert snippet.startswith("…") and snippet[marks[0][0] : marks[0][1]] == "政协"


def test_overlapping_words_are_marked_once() -> None:
    # 政协 stands inside 河南省政协 too: one mark over the whole name there, not two that overlap.
    body = "河南省政协召开常委会议，政协委员出席"
    fields = {"body": body, "captions": "", "subtitle": "", "title": ""}
    snippet, spans = make_snippet(fields, ["政协", "河南省政协"])
    assert snippet == body
    assert [snippet[start:end] for start, end in spans] == ["河南省政协", "政协"]


def test_a_search_marks_each_hit_of_overlapping_words_once(
    session: Session, catalogued: dict[str, str]
) -> None:
    hits = search_articles(session, "政协 河南省政协")
    assert hits
    for hit in hits:
        marked = [hit.snippet[start:end] for start, end in hit.highlights]
        assert marked and all(text in ("政协", "河南省政协") for text in marked), marked
        ends = [end for _, end in hit.highlights]
        starts = [start for start, _ in hit.highlights]
        assert all(start > end for start, end in zip(starts[1:], ends, strict=False))


def test_a_single_chinese_character_is_refused_with_the_reason(session: Session) -> None:
    with pytest.raises(UsageError, match="two characters or more"):
        search_articles(session, "政 协商")
