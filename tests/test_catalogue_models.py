"""Tests for pipelines/catalogue/models.py: timezone-aware times round-trip on every back end."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from pipelines.catalogue.models import ArticleRecord, Run
from pipelines.catalogue.writes import save_article, start_run
from tests.db_fixtures import SHANGHAI, location, make_article


def test_published_at_comes_back_with_the_shanghai_offset(
    session: Session, db_backend: str
) -> None:
    published = datetime(2022, 3, 4, 15, 0, 5, tzinfo=SHANGHAI)
    save_article(
        session, article=make_article(published_at=published), site="rmzxb", channel="yw",
        captures=[(1, location("p1"))], run_id=None,
    )  # fmt: skip
    session.commit()
    session.expunge_all()
    row = session.scalars(select(ArticleRecord)).one()
    assert row.published_at.isoformat() == "2022-03-04T15:00:05+08:00"
    assert row.published_at == published
    # Stored as an instant: PostgreSQL `timestamptz`, SQLite UTC text that sorts as time.
    stored = session.execute(text("SELECT published_at FROM articles")).scalar()
    if db_backend == "sqlite":
        assert stored == "2022-03-04 07:00:05.000000"
    else:
        assert stored == published


def test_a_utc_time_comes_back_in_utc(session: Session) -> None:
    started = datetime(2022, 3, 4, 23, 59, 59, 123456, tzinfo=SHANGHAI)
    run_id = start_run(session, trigger="manual", channels=[], pid=1, host="h", started_at=started)
    session.commit()
    session.expunge_all()
    run = session.get(Run, run_id)
    assert run is not None
    assert run.started_at.isoformat() == "2022-03-04T15:59:59.123456+00:00"
    assert run.started_at.tzinfo is UTC


def test_naive_datetimes_are_refused(session: Session) -> None:
    naive = datetime(2022, 3, 4, 15, 0)  # noqa: DTZ001 — the mistake under test
    with pytest.raises(StatementError, match="naive datetime"):
        start_run(session, trigger="manual", channels=[], pid=1, host="h", started_at=naive)
