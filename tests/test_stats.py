"""Tests for pipelines/stats.py: one definition of a failed crawl, as the launcher and the
crawl's progress both read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.stats import crawl_failure, errors_raised, progress_counts
from scheduler.crawl_process import SiteOutcome
from scheduler.run_record import classify


def finished(**stats: Any) -> dict[str, Any]:
    return {"event": "finished", "finish_reason": "finished",
            "stats": {"response_received_count": 5, **stats}}  # fmt: skip


@pytest.mark.parametrize(
    "error",
    [
        "cppcc/errors/records_not_catalogued",
        "cppcc/errors/digest_lookup",
        "cppcc/errors/walk_not_recorded",
        "cppcc/errors/item",
        "cppcc/warc/errors",
        "spider_exceptions/ValueError",
    ],
)
def test_an_error_the_progress_counts_fails_the_run(error: str) -> None:
    # A run whose progress says `errors: 3` is failed, never `finished`: one definition.
    report = finished(**{error: 3})
    status, why = classify(SiteOutcome(0, report, Path("log")))
    assert progress_counts(report["stats"])["errors"] == 3
    assert status == "failed" and why == "3 errors raised in the crawler's own code (see the log)"


def test_pages_that_could_not_be_downloaded_are_counted_not_failed() -> None:
    # The site's trouble, listed by URL: counted in `errors`, and the run still finished.
    stats = {
        "response_received_count": 5,
        "downloader/exception_count": 3,
        "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest": 1,  # robots.txt
        "downloader/exception_type_count/twisted.internet.error.TimeoutError": 2,
    }
    assert progress_counts(stats)["errors"] == 2
    assert errors_raised(stats) == 0
    assert crawl_failure("finished", stats) is None


def test_a_clean_run_is_finished_with_no_error() -> None:
    report = finished(**{"cppcc/articles/new": 4, "cppcc/http_errors": 1})
    assert classify(SiteOutcome(0, report, Path("log"))) == ("finished", None)
    counts = progress_counts(report["stats"])
    assert counts == {"pages_fetched": 5, "articles_new": 4, "articles_updated": 0,
                      "articles_unchanged": 0, "pages_rejected": 0, "http_errors": 1,
                      "errors": 0}  # fmt: skip


def test_an_early_stop_says_what_its_reason_means() -> None:
    why = crawl_failure("catalogue_unreachable", {"response_received_count": 3})
    assert why is not None and "the catalogue stopped answering" in why
