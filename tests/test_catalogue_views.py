"""Tests for pipelines/catalogue/views.py: JSON shapes with offsets, Article rebuilt."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from pipelines.catalogue.queries import find_article, get_run, list_articles
from pipelines.catalogue.views import article_summary, article_to_article, article_view, run_view
from pipelines.catalogue.writes import finish_run, save_article, save_rejection, start_run
from tests.db_fixtures import FETCHED, URL, location, make_article

ARTICLE_KEYS = [
    "id", "url", "site", "channel", "content_id", "section", "title", "subtitle",
    "published_at", "source", "author", "editor", "keywords", "paragraphs", "images",
    "attachments", "content_hash", "page_count", "withdrawn_at", "events", "captures",
]  # fmt: skip
ATTACHMENT = "https://www.rmzxw.com.cn/files/%E5%BE%81%E9%9B%86%E8%A1%A8.docx"


def saved(session: Session) -> int:
    save_article(
        session, article=make_article(attachments=(ATTACHMENT,)), site="rmzxb", channel="yw",
        captures=[(2, location("p2", page_url=URL + "?p=2")), (1, location("p1"))], run_id=None,
    )  # fmt: skip
    session.commit()
    session.expunge_all()  # read back from the database, not from the identity map
    row = find_article(session, URL)
    assert row is not None
    return row.id


def test_article_view_keys_and_values(session: Session) -> None:
    row = find_article(session, str(saved(session)))
    assert row is not None
    view = article_view(row)
    assert list(view) == ARTICLE_KEYS
    assert view["published_at"] == "2022-03-04T15:00:00+08:00"
    assert view["subtitle"] is None
    assert view["section"] == ["要闻"]
    assert view["keywords"] == ["两会", "政协"]
    assert view["images"][0]["url"] == "https://www.rmzxw.com.cn/images/1.jpg"
    assert view["images"][0]["caption"] == "会场"
    assert view["attachments"] == [ATTACHMENT]
    assert (view["withdrawn_at"], view["events"]) == (None, [])
    assert view["captures"] == [
        {
            "warc_file": "cppcc-20220304-00000.warc.gz",
            "offset": 1024,
            "length": 2048,
            "record_id": f"<urn:uuid:{page}>",
            "fetched_at": "2022-03-04T10:30:00+08:00",
            "status": 200,
            "url": url,
            "page": number,
        }
        for number, page, url in [(1, "p1", URL), (2, "p2", URL + "?p=2")]
    ]
    json.dumps(view)  # JSON-ready as it is


def test_article_summary_keys(session: Session) -> None:
    saved(session)
    (row,) = list_articles(session)
    assert article_summary(row) == {
        "id": row.id,
        "url": URL,
        "site": "rmzxb",
        "channel": "yw",
        "section": ["要闻"],
        "title": make_article().title,
        "published_at": "2022-03-04T15:00:00+08:00",
        "source": "人民政协网",
        "withdrawn_at": None,
    }


def test_article_is_rebuilt_as_it_was_saved(session: Session) -> None:
    row = find_article(session, str(saved(session)))
    assert row is not None
    rebuilt = article_to_article(row)
    assert rebuilt == make_article()
    assert rebuilt.content_hash == row.content_hash
    assert rebuilt.published_at.isoformat() == "2022-03-04T15:00:00+08:00"


def test_run_view(session: Session) -> None:
    run_id = start_run(
        session, trigger="manual", channels=["rmzxb/yw"], pid=7, host="h", started_at=FETCHED
    )
    session.commit()
    run = get_run(session, run_id)
    assert run is not None
    running = run_view(run)
    assert running["finished_at"] is None
    assert running["counts"]["articles_new"] == 0
    finish_run(
        session, run_id, status="failed", finished_at=FETCHED + timedelta(seconds=90),
        exit_code=1, finish_reason="shutdown", error="spider raised", counts={"errors": 3},
        stats={"log_count/ERROR": 3, "cppcc/warc/records": 8, "cppcc/warc/revisits": 2,
               "cppcc/warc/bytes": 5120, "cppcc/warc/files": 1,
               "cppcc/walk/yw/state": "walked to page 4 of 6", "cppcc/walk/yw/pages": 3,
               "cppcc/walk/yw/reached": 4, "cppcc/walk/yw/stopped": "slice",
               "cppcc/lifecycle/yw/rechecked": 6, "cppcc/lifecycle/yw/withdrawn": 1,
               "cppcc/failed_pages": [{"url": "http://x/c/1.shtml", "why": "redirected"}]},
    )  # fmt: skip
    session.commit()
    session.expunge_all()
    run = get_run(session, run_id)
    assert run is not None
    assert run_view(run) == {
        "id": run_id,
        "trigger": "manual",
        "status": "failed",
        "channels": ["rmzxb/yw"],
        "started_at": "2022-03-04T10:30:00+08:00",
        "finished_at": "2022-03-04T10:31:30+08:00",
        "pid": 7,
        "host": "h",
        "exit_code": 1,
        "finish_reason": "shutdown",
        "error": "spider raised",
        "counts": {
            "pages_fetched": 0,
            "articles_new": 0,
            "articles_updated": 0,
            "articles_unchanged": 0,
            "pages_rejected": 0,
            "http_errors": 0,
            "errors": 3,
        },
        "coverage": {
            "channels": {"rmzxb/yw": {"articles": 0, "missing": {}, "fallback": {}}},
            "warnings": {},
            "rejected": {},
            "rejected_pages": [],
        },
        "warc": {"records": 8, "revisits": 2, "bytes": 5120, "files": 1},
        "walk": {  # flat stats are of an unnamed site, as for coverage
            "yw": {
                "state": "walked to page 4 of 6", "pages": 3, "reached": 4, "stopped": "slice"
            }
        },
        "lifecycle": {"yw": {"rechecked": 6, "withdrawn": 1}},
        "failed_pages": [{"url": "http://x/c/1.shtml", "why": "redirected"}],
        "retry_after": {"waits": 0, "seconds": 0, "capped": 0},
    }  # fmt: skip
    assert run_view(run, with_stats=True)["stats"]["log_count/ERROR"] == 3
    assert datetime.fromisoformat(run_view(run)["started_at"]) == FETCHED.astimezone(UTC)


def test_run_view_coverage_from_the_stats_of_each_site_and_the_rejections(
    session: Session,
) -> None:
    run_id = start_run(
        session, trigger="manual", channels=["cppcc/yw", "rmzxb/yw", "rmzxb/xw"], pid=7,
        host="h", started_at=FETCHED,
    )  # fmt: skip
    for url, reason in (("http://x/1.shtml", "no-date"), ("http://x/2.shtml", "no-title")):
        save_rejection(
            session, url=url, site="cppcc", channel="yw", reason=reason, detail=None,
            location=None, run_id=run_id,
        )  # fmt: skip
    stats = {
        "cppcc": {
            "cppcc/articles_normalised/yw": 3,
            "cppcc/fields_missing/yw/subtitle": 3,
            "cppcc/fields_fallback/yw/title": 1,
            "cppcc/fields_fallback/yw/paragraphs": 1,
            "cppcc/warnings/date-disagrees-with-url": 2,
            "item_dropped_reasons_count/NoDate": 1,
        },
        "rmzxb": {"cppcc/articles_normalised/yw": 5, "cppcc/warnings/date-disagrees-with-url": 1},
    }
    finish_run(
        session, run_id, status="finished", finished_at=FETCHED, exit_code=0,
        finish_reason="finished", error=None, counts={}, stats=stats,
    )  # fmt: skip
    session.commit()
    run = get_run(session, run_id)
    assert run is not None
    assert run_view(run)["coverage"] == {
        "channels": {
            "cppcc/yw": {
                "articles": 3,
                "missing": {"subtitle": 3},
                "fallback": {"title": 1, "paragraphs": 1},
            },
            # Same channel key on two sites: kept apart. A channel that yielded nothing is there.
            "rmzxb/xw": {"articles": 0, "missing": {}, "fallback": {}},
            "rmzxb/yw": {"articles": 5, "missing": {}, "fallback": {}},
        },
        "warnings": {"date-disagrees-with-url": 3},
        "rejected": {"no-date": 1, "no-title": 1},
        "rejected_pages": [
            {"url": "http://x/1.shtml", "channel": "cppcc/yw", "reason": "no-date"},
            {"url": "http://x/2.shtml", "channel": "cppcc/yw", "reason": "no-title"},
        ],
    }
