"""Tests for pipelines/catalogue/versions.py: every version's content, read back as saved."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pipelines.catalogue.models import ArticleRecord
from pipelines.catalogue.queries import find_article
from pipelines.catalogue.versions import content_of, versions_view
from pipelines.catalogue.writes import VERSIONED_FIELDS, content_values, save_article
from pipelines.normalise.article import Article
from tests.db_fixtures import FETCHED, location, make_article

EDITS = (
    make_article(),
    make_article(paragraphs=("第一段。", "改过的第二段。")),
    make_article(title="全国政协十三届五次会议隆重开幕", author=None, page_count=2),
)


def save_edits(session: Session) -> ArticleRecord:
    """EDITS saved an hour apart: three versions of one article."""
    for hour, article in enumerate(EDITS):
        at = FETCHED + timedelta(hours=hour)
        save_article(session, article=article, site="rmzxb", channel="yw",
                     captures=[(1, location(f"p{hour}", fetched_at=at))], run_id=None)  # fmt: skip
    session.commit()
    session.expire_all()
    return session.scalars(select(ArticleRecord)).one()


def saved_content(article: Article) -> dict[str, object]:
    values = content_values(article, FETCHED)
    return {name: values[name] for name in VERSIONED_FIELDS}


def test_every_version_reads_back_the_content_it_was_saved_with(session: Session) -> None:
    record = save_edits(session)
    assert [v.number for v in record.versions] == [1, 2, 3]
    for version, article in zip(record.versions, EDITS, strict=True):
        holder = content_of(version)
        assert {name: getattr(holder, name) for name in VERSIONED_FIELDS} == saved_content(article)


def test_the_newest_version_keeps_its_content_in_the_article_row_only(session: Session) -> None:
    record = save_edits(session)
    rows = session.execute(
        text("SELECT number, title, content_hash, paragraphs IS NULL, published_at IS NULL "
             "FROM article_versions WHERE article_id = :id ORDER BY number"),
        {"id": record.id},
    ).all()  # fmt: skip
    assert [tuple(row) for row in rows] == [
        (1, EDITS[0].title, EDITS[0].content_hash, False, False),
        (2, EDITS[1].title, EDITS[1].content_hash, False, False),
        (3, EDITS[2].title, EDITS[2].content_hash, True, True),
    ]


def test_the_history_says_what_changed_in_each_version(session: Session) -> None:
    views = versions_view(save_edits(session).versions)
    assert [(v["number"], v["title"], v["changed_fields"]) for v in views] == [
        (1, EDITS[0].title, []),
        (2, EDITS[0].title, ["paragraphs"]),
        (3, EDITS[2].title, ["title", "author", "paragraphs"]),
    ]
    hunk, same = "@@ -1,2 +1,2 @@", " 第一段。"
    assert views[1]["paragraph_diff"] == [hunk, same, "-第二段。", "+改过的第二段。"]
    assert views[2]["paragraph_diff"] == [hunk, same, "-改过的第二段。", "+第二段。"]


def test_the_history_of_an_article_found_reads_once_its_session_is_closed(
    session: Session,
) -> None:
    record_id = save_edits(session).id
    session.expunge_all()
    found = find_article(session, str(record_id))
    assert found is not None
    session.expunge_all()  # as a page rendered after its request's session ended
    views = versions_view(found.versions)
    assert [v["changed_fields"] for v in views] == [
        [],
        ["paragraphs"],
        ["title", "author", "paragraphs"],
    ]
