"""The run report extension: what it counts as an error and which pages it lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.extensions import RunReportExtension, is_robots_txt
from pipelines.stats import progress_counts

BASE = "http://127.0.0.1:8000"


@pytest.fixture
def report(tmp_path: Path) -> RunReportExtension:
    crawler = get_crawler(Spider, {"CPPCC_REPORT_FILE": str(tmp_path / "report.jsonl")})
    return RunReportExtension.from_crawler(crawler)


def answer(extension: RunReportExtension, path: str, status: int) -> None:
    url = BASE + path
    spider = Spider("test")
    extension.response_downloaded(Response(url, status=status), Request(url), spider)


def finished_event(extension: RunReportExtension, tmp_path: Path) -> dict[str, Any]:
    spider = Spider("test")
    extension.spider_opened(spider)
    extension.spider_closed(spider, "finished")
    lines = (tmp_path / "report.jsonl").read_text(encoding="utf-8").splitlines()
    event = json.loads(lines[-1])
    assert event["event"] == "finished"
    return dict(event)


def test_a_page_robots_txt_forbids_is_not_an_error() -> None:
    stats = {
        "downloader/exception_count": 3,
        "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest": 2,
        "downloader/exception_type_count/twisted.internet.error.TimeoutError": 1,
        "spider_exceptions/ValueError": 1,
    }
    assert progress_counts(stats)["errors"] == 2  # the timeout and the ValueError


def test_each_page_that_answered_an_error_is_listed_once_with_its_last_status(
    report: RunReportExtension, tmp_path: Path
) -> None:
    for status in (500, 500, 500):  # a 500 retried twice
        answer(report, "/broken.shtml", status)
    answer(report, "/missing.shtml", 404)
    answer(report, "/flaky.shtml", 503)
    answer(report, "/flaky.shtml", 200)  # retried, and then it worked
    answer(report, "/fine.shtml", 200)
    event = finished_event(report, tmp_path)
    assert event["http_errors"] == [
        {"url": BASE + "/broken.shtml", "status": 500},
        {"url": BASE + "/missing.shtml", "status": 404},
    ]
    assert event["counts"]["http_errors"] == 2


def test_a_missing_robots_txt_is_noted_not_counted(
    report: RunReportExtension, tmp_path: Path
) -> None:
    answer(report, "/robots.txt", 404)
    event = finished_event(report, tmp_path)
    assert event["robots_txt_status"] == 404
    assert event["http_errors"] == []
    assert event["counts"]["http_errors"] == 0


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (BASE + "/robots.txt", True),
        (BASE + "/robots.txt?x=1", True),
        (BASE + "/c/robots.txt", False),
        (BASE + "/robots.txt.html", False),
    ],
)
def test_is_robots_txt(url: str, expected: bool) -> None:
    assert is_robots_txt(url) is expected
