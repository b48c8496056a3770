"""Tests for pipelines.catalogue.records: what the archive holds, by URL and digest."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm import Session

from pipelines.catalogue.records import (
    ArchivedResponse,
    conditional_state,
    original_with_digest,
    record_by_id,
    save_records,
)
from tests.db_fixtures import FETCHED, location

PAGE = "http://www.rmzxb.com.cn/yw_n/index.shtml"
OTHER = "http://www.rmzxb.com.cn/xs/index.shtml"


def _revisit(name: str, original: ArchivedResponse, url: str, hours: int, status: int = 200):
    at = location(name, page_url=url, fetched_at=FETCHED + timedelta(hours=hours))
    return replace(at, record_type="revisit", refers_to=original.location.record_id, status=status)


def test_records_are_saved_once(session: Session) -> None:
    first = ArchivedResponse(location("r1"), '"v1"', "Fri, 04 Mar 2022 00:00:00 GMT")
    save_records(session, [first], run_id=None)
    save_records(session, [first, ArchivedResponse(location("r2"))], run_id=None)

    assert record_by_id(session, "<urn:uuid:r1>") == first.location
    assert record_by_id(session, "<urn:uuid:r2>") is not None
    assert original_with_digest(session, "sha1:AAAA") is not None
    assert original_with_digest(session, "sha1:NONE") is None


def test_validators_come_from_the_latest_capture(session: Session) -> None:
    original = ArchivedResponse(location("a", page_url=PAGE), '"v1"', None)
    later = _revisit("b", original, PAGE, hours=2, status=304)
    save_records(session, [original, ArchivedResponse(later, '"v2"', None)], run_id=None)

    state = conditional_state(session, PAGE)
    assert state is not None
    assert state.etag == '"v2"'  # the 304's own, newer ETag
    assert state.original == original.location  # the payload is the 200's


def test_a_revisit_of_another_urls_payload_does_not_borrow_its_validators(
    session: Session,
) -> None:
    other = ArchivedResponse(
        location("o", page_url=OTHER), '"other"', "Thu, 01 Jan 2015 00:00:00 GMT"
    )
    same_bytes = _revisit("s", other, PAGE, hours=1)
    save_records(session, [other, ArchivedResponse(same_bytes)], run_id=None)

    state = conditional_state(session, PAGE)
    assert state is not None and state.original == other.location
    assert (state.etag, state.last_modified) == (None, None)


def test_a_304_nobody_asked_for_is_no_original(session: Session) -> None:
    unasked = replace(location("u", page_url=PAGE), status=304)
    save_records(session, [ArchivedResponse(unasked, '"x"', None)], run_id=None)

    assert conditional_state(session, PAGE) is None
