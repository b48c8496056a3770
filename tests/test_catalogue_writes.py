"""Tests for pipelines/catalogue/writes.py: articles once per URL, captures once per record."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.models import (
    ArticleRecord,
    Capture,
    Channel,
    Rejection,
    Run,
    RunChannel,
    Site,
)
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writes import (
    ArticleOutcome,
    finish_run,
    save_article,
    save_rejection,
    start_run,
    upsert_site_channels,
)
from pipelines.errors import UsageError
from tests.db_fixtures import FETCHED, URL, location, make_article


def count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_upsert_site_channels_inserts_then_renames_without_duplicates(session: Session) -> None:
    seeds = [
        ("rmzxb", "人民政协网", [("yw", "要闻", "https://x/yw/"), ("xs", "协商", "https://x/xs/")])
    ]
    upsert_site_channels(session, seeds)
    upsert_site_channels(
        session, [("rmzxb", "人民政协网 (new)", [("yw", "要闻 2", "https://x/yw2/")])]
    )
    session.commit()
    assert count(session, Site) == 1
    assert session.get(Site, "rmzxb").name == "人民政协网 (new)"  # type: ignore[union-attr]
    channels = session.scalars(select(Channel).order_by(Channel.key)).all()
    assert [(c.key, c.name, c.list_url) for c in channels] == [
        ("xs", "协商", "https://x/xs/"),
        ("yw", "要闻 2", "https://x/yw2/"),
    ]


def test_new_article_is_saved_with_its_captures(session: Session) -> None:
    outcome = save_article(
        session,
        article=make_article(),
        site="rmzxb",
        channel="yw",
        captures=[(1, location("p1")), (2, location("p2", page_url=URL + "?page=2"))],
        run_id=None,
    )
    session.commit()
    assert outcome is ArticleOutcome.NEW
    row = session.scalars(select(ArticleRecord)).one()
    assert (row.url, row.site, row.channel, row.title) == (URL, "rmzxb", "yw", make_article().title)
    assert row.content_hash == make_article().content_hash
    # Every field of Image is kept (url, caption, and any added later such as position).
    assert row.images == [dataclasses.asdict(image) for image in make_article().images]
    assert row.images[0]["caption"] == "会场"
    assert row.first_seen_at == row.last_seen_at == row.updated_at == FETCHED
    assert [(c.page_number, c.record_id, c.article_id) for c in row.captures] == [
        (1, "<urn:uuid:p1>", row.id),
        (2, "<urn:uuid:p2>", row.id),
    ]


def test_same_content_again_is_unchanged_and_adds_only_new_captures(session: Session) -> None:
    save_article(
        session,
        article=make_article(),
        site="rmzxb",
        channel="yw",
        captures=[(1, location("p1"))],
        run_id=None,
    )
    later = FETCHED + timedelta(days=1)
    outcome = save_article(
        session,
        article=make_article(),
        site="rmzxb",
        channel="xs",
        captures=[(1, location("p1")), (1, location("p1-again", fetched_at=later))],
        run_id=None,
    )
    session.commit()
    assert outcome is ArticleOutcome.UNCHANGED
    row = session.scalars(select(ArticleRecord)).one()
    assert row.channel == "yw"  # the channel that found it first
    assert (row.first_seen_at, row.last_seen_at, row.updated_at) == (FETCHED, later, FETCHED)
    assert sorted(c.record_id for c in row.captures) == ["<urn:uuid:p1-again>", "<urn:uuid:p1>"]
    assert count(session, Capture) == 2


def test_changed_content_updates_the_row(session: Session) -> None:
    save_article(
        session,
        article=make_article(),
        site="rmzxb",
        channel="yw",
        captures=[(1, location("p1"))],
        run_id=None,
    )
    later = FETCHED + timedelta(hours=3)
    edited = make_article(title="全国政协十三届五次会议隆重开幕", page_count=2)
    outcome = save_article(
        session,
        article=edited,
        site="rmzxb",
        channel="xs",
        captures=[(1, location("p1b", fetched_at=later))],
        run_id=None,
    )
    session.commit()
    assert outcome is ArticleOutcome.UPDATED
    row = session.scalars(select(ArticleRecord)).one()
    assert (row.title, row.page_count, row.channel) == (edited.title, 2, "yw")
    assert row.content_hash == edited.content_hash != make_article().content_hash
    assert (row.updated_at, row.last_seen_at, row.first_seen_at) == (later, later, FETCHED)
    assert count(session, ArticleRecord) == 1


def test_older_capture_does_not_overwrite_newer_content(session: Session) -> None:
    newer = make_article(title="修订后的标题")
    save_article(
        session,
        article=newer,
        site="rmzxb",
        channel="yw",
        captures=[(1, location("new"))],
        run_id=None,
    )
    outcome = save_article(
        session,
        article=make_article(),
        site="rmzxb",
        channel="yw",
        captures=[(1, location("old", fetched_at=FETCHED - timedelta(days=1)))],
        run_id=None,
    )
    assert outcome is ArticleOutcome.UNCHANGED
    row = session.scalars(select(ArticleRecord)).one()
    assert row.title == "修订后的标题"
    assert row.first_seen_at == FETCHED - timedelta(days=1)


def test_a_save_that_waits_on_another_insert_of_the_url_updates_that_row(
    fresh_db_url: str,
) -> None:
    engine = make_engine(fresh_db_url)
    ensure_schema(engine)
    sessions = make_session_factory(engine)
    outcomes: list[ArticleOutcome] = []
    failures: list[BaseException] = []

    def second_writer() -> None:
        try:
            with sessions() as session:
                changed = make_article(title="新标题")
                later = location("p2", fetched_at=FETCHED + timedelta(hours=1))
                outcomes.append(
                    save_article(
                        session,
                        article=changed,
                        site="rmzxb",
                        channel="xs",
                        captures=[(1, later)],
                        run_id=None,
                    )
                )
                session.commit()  # its transaction survived the conflicting insert
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    first = sessions()
    try:
        article = make_article()
        captures = [(1, location("p1"))]
        save_article(first, article=article, site="rmzxb", channel="yw", captures=captures,
                     run_id=None)  # fmt: skip
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # waiting on the first writer's uncommitted insert
        first.commit()
        thread.join(timeout=60)
        assert failures == []
        assert outcomes == [ArticleOutcome.UPDATED]
        with sessions() as session:
            row = session.scalars(select(ArticleRecord)).one()
            assert (row.title, row.channel, len(row.captures)) == ("新标题", "yw", 2)
            assert len(row.versions) == 2
    finally:
        first.close()
        engine.dispose()


def test_capture_for_unknown_run_is_an_error_not_skipped(session: Session) -> None:
    with pytest.raises(IntegrityError):
        save_article(
            session,
            article=make_article(),
            site="rmzxb",
            channel="yw",
            captures=[(1, location("p1"))],
            run_id=999_999,
        )


def test_capture_archived_before_the_article_is_attached_to_it(session: Session) -> None:
    loc = location("orphan")
    session.add(
        Capture(
            url=loc.url,
            warc_filename=loc.filename,
            warc_offset=loc.offset,
            warc_length=loc.length,
            record_id=loc.record_id,
            payload_digest=loc.payload_digest,
            fetched_at=loc.fetched_at,
            status=loc.status,
            page_number=1,
        )
    )
    save_article(
        session,
        article=make_article(),
        site="rmzxb",
        channel="yw",
        captures=[(1, loc)],
        run_id=None,
    )
    row = session.scalars(select(ArticleRecord)).one()
    assert [c.record_id for c in session.scalars(select(Capture))] == [loc.record_id]
    assert session.scalars(select(Capture)).one().article_id == row.id


def test_rejection_rows_keep_reason_and_location(session: Session) -> None:
    run_id = start_run(
        session, trigger="manual", channels=["rmzxb/yw"], pid=1, host="h", started_at=FETCHED
    )
    save_rejection(
        session,
        url=URL,
        site="rmzxb",
        channel="yw",
        reason="no-title",
        detail="no <h1> and no <title>",
        location=location("r1"),
        run_id=run_id,
    )
    save_rejection(
        session,
        url=URL + "x",
        site="rmzxb",
        channel="yw",
        reason="not-html",
        detail=None,
        location=None,
        run_id=None,
    )
    session.commit()
    rows = session.scalars(select(Rejection).order_by(Rejection.id)).all()
    assert [(r.reason, r.record_id, r.warc_offset, r.run_id) for r in rows] == [
        ("no-title", "<urn:uuid:r1>", 1024, run_id),
        ("not-html", None, None, None),
    ]
    assert rows[0].seen_at == FETCHED


def test_run_start_and_finish(session: Session) -> None:
    run_id = start_run(
        session,
        trigger="schedule",
        channels=["rmzxb/yw", "rmzxb/xs"],
        pid=4242,
        host="archive-1",
        started_at=FETCHED,
    )
    session.commit()
    run = session.get(Run, run_id)
    assert run is not None
    assert (run.status, run.finished_at, run.pages_fetched) == ("running", None, 0)
    stats = {"finish_reason": "finished", "start_time": FETCHED, "downloader/response_count": 9}
    finish_run(
        session,
        run_id,
        status="finished",
        finished_at=FETCHED + timedelta(minutes=5),
        exit_code=0,
        finish_reason="finished",
        error=None,
        counts={"pages_fetched": 9, "articles_new": 7, "pages_rejected": 2},
        stats=stats,
    )
    session.commit()
    session.expire_all()
    run = session.get(Run, run_id)
    assert run is not None
    assert (run.status, run.exit_code, run.finish_reason) == ("finished", 0, "finished")
    assert (run.pages_fetched, run.articles_new, run.pages_rejected, run.errors) == (9, 7, 2, 0)
    assert run.finished_at == FETCHED + timedelta(minutes=5)
    assert run.stats == {**stats, "start_time": "2022-03-04T02:30:00+00:00"}


def test_start_run_records_its_channels_as_rows_and_a_first_heartbeat(session: Session) -> None:
    keys = ["rmzxb/yw", "cppcc/xs", "rmzxb/yw"]
    run_id = start_run(
        session, trigger="manual", channels=keys, pid=1, host="h", started_at=FETCHED
    )
    session.commit()
    session.expunge_all()
    run = session.get(Run, run_id)
    assert run is not None
    assert (run.channels, run.heartbeat_at) == (keys, FETCHED)
    rows = session.scalars(select(RunChannel).order_by(RunChannel.site)).all()
    assert [(r.run_id, r.site, r.channel) for r in rows] == [
        (run_id, "cppcc", "xs"),
        (run_id, "rmzxb", "yw"),
    ]


@pytest.mark.parametrize("key", ["rmzxb", "rmzxb/", "/yw", "rmzxb/yw/x", ""])
def test_start_run_refuses_a_channel_that_is_not_site_slash_channel(
    session: Session, key: str
) -> None:
    with pytest.raises(ValueError, match="site/channel"):
        start_run(session, trigger="manual", channels=[key], pid=1, host="h", started_at=FETCHED)
    assert count(session, Run) == 0


def test_run_arguments_are_checked(session: Session) -> None:
    with pytest.raises(ValueError, match="trigger"):
        start_run(session, trigger="cron", channels=[], pid=1, host="h", started_at=FETCHED)
    run_id = start_run(session, trigger="manual", channels=[], pid=1, host="h", started_at=FETCHED)
    with pytest.raises(ValueError, match="status"):
        finish_run(
            session, run_id, status="done", finished_at=FETCHED, exit_code=0, finish_reason=None
        )
    with pytest.raises(ValueError, match="pages_seen"):
        finish_run(
            session,
            run_id,
            status="failed",
            finished_at=FETCHED,
            exit_code=1,
            finish_reason=None,
            counts={"pages_seen": 1},
        )
    with pytest.raises(UsageError, match="no run #999999"):
        finish_run(
            session, 999_999, status="failed", finished_at=FETCHED, exit_code=1, finish_reason=None
        )


def test_concurrent_saves_of_one_url_make_one_row(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    ensure_schema(engine)
    sessions = make_session_factory(engine)
    barrier = threading.Barrier(4)
    outcomes: list[ArticleOutcome] = []
    failures: list[BaseException] = []

    def save(n: int) -> None:
        try:
            with sessions() as session:
                barrier.wait()
                outcomes.append(
                    save_article(
                        session,
                        article=make_article(),
                        site="rmzxb",
                        channel="yw",
                        captures=[(1, location(f"t{n}"))],
                        run_id=None,
                    )
                )
                session.commit()
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        assert sorted(outcomes) == ["new", "unchanged", "unchanged", "unchanged"]
        with sessions() as session:
            assert count(session, ArticleRecord) == 1
            assert count(session, Capture) == 4
    finally:
        engine.dispose()
