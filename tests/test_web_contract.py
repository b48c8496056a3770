"""The API against its own OpenAPI document (schemathesis): whatever a client sends within or
outside the schema, no answer is a server error, every answer matches the schema, and what the
schema forbids is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("schemathesis")  # in the test extra; skipped only in a bare checkout

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
)
from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writes import save_article
from scheduler.timing import load_seeds
from tests.db_fixtures import location, make_article
from web.app import create_app
from web.settings import WebSettings


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    """A small catalogue: a few articles in two channels."""
    home = tmp_path_factory.mktemp("contract")
    engine = make_engine(f"sqlite:///{home / 'catalogue.sqlite3'}")
    ensure_schema(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        for number, channel in enumerate(("yw", "yw", "xs")):
            url = f"https://www.rmzxb.com.cn/c/2022-03-0{number + 1}/{number}.shtml"
            save_article(
                session, article=make_article(url, title=f"全国政协会议{number}"), site="rmzxb",
                channel=channel, captures=[(1, location(f"c{number}", page_url=url))], run_id=None,
            )  # fmt: skip
    yield factory
    engine.dispose()


@pytest.fixture(scope="module")
def schema(sessions: sessionmaker[Session], tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("contract-home")
    settings_ = WebSettings(home=Path(home), database_url="sqlite://", seeds_path=None)
    app = create_app(settings_, sessions, load_seeds(None))  # no token: writes are off
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode))
def test_no_request_is_a_server_error(schema: Any, mode: schemathesis.GenerationMode) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/articles", "/api/crawls", "/api/schedule"}
    for operation in operations:
        inputs = (operation.query, operation.path_parameters, operation.headers, operation.body)
        if mode is schemathesis.GenerationMode.NEGATIVE and not any(map(len, inputs)):
            continue  # nothing in it to get wrong (GET /api/schedule)

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=150, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case: Any) -> None:
            # Not positive_data_acceptance: a site or channel the seeds do not know is a 422
            # by design (as the CLI refuses it), though any string fits the schema.
            case.call_and_validate(
                checks=[not_a_server_error, response_schema_conformance, negative_data_rejection]
            )

        check()
