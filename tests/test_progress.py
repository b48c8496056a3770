"""The crawl's progress line and end-of-crawl summary."""

from __future__ import annotations

import io
from pathlib import Path

from scheduler.progress import ProgressPrinter, describe_counts, print_summary
from scheduler.run_record import RunResult

VIEW = {"id": 3, "status": "finished", "channels": ["rmzxb/yw"], "counts": {}}
COUNTS = {"pages_fetched": 12, "articles_new": 5, "http_errors": 1, "errors": 0}


def summary(result: RunResult) -> str:
    out = io.StringIO()
    print_summary(VIEW, result, 2.0, Path("home"), out)
    return out.getvalue()


def test_summary_lists_each_page_that_answered_an_error() -> None:
    pages = [{"url": "http://x/a.shtml", "status": 404}, {"url": "http://x/b.shtml", "status": 500}]
    text = summary(RunResult(3, "finished", None, COUNTS, http_errors=pages))
    assert "pages 12, new 5" in text and "HTTP errors 1" in text
    assert "    404 http://x/a.shtml\n    500 http://x/b.shtml\n" in text
    assert "robots.txt" not in text


def test_summary_notes_a_missing_robots_txt_apart_from_http_errors() -> None:
    text = summary(RunResult(3, "finished", None, COUNTS, robots_txt={"rmzxb": 404}))
    assert "robots.txt of rmzxb answered 404 (none: every page may be fetched)" in text
    assert "answered an HTTP error" not in text


def test_summary_says_why_a_run_failed() -> None:
    text = summary(RunResult(3, "failed", "rmzxb: hit its time limit of 5 s", COUNTS))
    assert "  why: rmzxb: hit its time limit of 5 s\n" in text


def test_progress_in_a_log_file_ends_with_the_last_counts() -> None:
    out = io.StringIO()  # not a terminal: lines, not a line rewritten in place
    printer = ProgressPrinter(out, every=60)
    printer.update("rmzxb", {"pages_fetched": 1})
    printer.update("rmzxb", COUNTS)
    printer.close()
    assert out.getvalue().splitlines() == [
        "crawling rmzxb: pages 1, new 0, updated 0, rejected 0, HTTP errors 0, errors 0",
        f"crawling rmzxb: {describe_counts(COUNTS)}",
    ]


def test_summary_shows_field_coverage_warnings_and_rejected_pages() -> None:
    coverage = {
        "channels": {
            "cppcc/yw": {
                "articles": 12,
                "missing": {"author": 2, "subtitle": 12},
                "fallback": {"title": 3},
            },
            "rmzxb/yw": {"articles": 4, "missing": {}, "fallback": {}},
        },
        "warnings": {"date-disagrees-with-url": 2},
        "rejected": {"no-date": 1},
        "rejected_pages": [{"url": "http://x/c.shtml", "channel": "cppcc/yw", "reason": "no-date"}],
    }
    out = io.StringIO()
    result = RunResult(3, "finished", None, COUNTS)
    print_summary({**VIEW, "coverage": coverage}, result, 2.0, Path("home"), out)
    text = out.getvalue()
    assert (
        "  cppcc/yw: 12 articles; missing subtitle ×12, author ×2; by fallback: title ×3\n" in text
    )
    assert "  rmzxb/yw:" not in text  # every field found by the profile: nothing to say
    assert "  warnings: date-disagrees-with-url ×2\n" in text
    assert "catalogued as articles (archived):\n    no-date http://x/c.shtml\n" in text
