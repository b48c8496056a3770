"""Tests for pipelines/withdrawal.py: what makes a re-checked article withdrawn; the guard."""

from __future__ import annotations

import pytest

from pipelines.withdrawal import (
    REDIRECTED_HOME,
    REDIRECTED_LIST,
    OutageGuard,
    gone_reason,
    redirect_reason,
    says_not_found,
)
from replicas.rmzxb.lifecycle import NOT_FOUND_TEMPLATE
from replicas.rmzxb.site import LOGIN_PAGE

HTML = [("Content-Type", "text/html; charset=utf-8")]
BASE = "http://www.rmzxb.com.cn"
HOSTS = ("www.rmzxb.com.cn", "www.rmzxw.com.cn")
LISTS = (f"{BASE}/yw_n/index.shtml", f"{BASE}/xs/index.shtml")


@pytest.mark.parametrize(("status", "reason"), [(404, "http-404"), (410, "http-410"),
                                                (500, None), (503, None), (403, None)])  # fmt: skip
def test_only_404_and_410_say_gone(status: int, reason: str | None) -> None:
    assert gone_reason(status) == reason


@pytest.mark.parametrize(
    ("body", "charset", "said"),
    [
        (NOT_FOUND_TEMPLATE, "utf-8", True),
        ("<html><head><title>404 Not Found</title></head><body></body></html>", "utf-8", True),
        ("<html><head><title>提示</title></head><body><h1>该稿件已撤稿</h1></body></html>", "gbk",
         True),
        (LOGIN_PAGE, "utf-8", False),
        ("<html><body><p>正文里说到页面不存在</p></body></html>", "utf-8", False),  # not a heading
        ("", "utf-8", False),
    ],
)  # fmt: skip
def test_a_not_found_template_is_told_by_its_title_or_headings(
    body: str, charset: str, said: bool
) -> None:
    headers = [("Content-Type", f"text/html; charset={charset}")]
    assert says_not_found(headers, body.encode(charset)) is said


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"{BASE}/", REDIRECTED_HOME),
        (BASE, REDIRECTED_HOME),
        (f"{BASE}/index.shtml", REDIRECTED_HOME),
        ("http://www.rmzxw.com.cn/", REDIRECTED_HOME),  # the alias host
        (f"{BASE}/xs/index.shtml", REDIRECTED_LIST),
        (f"{BASE}/yw_n/index_3.shtml", REDIRECTED_LIST),
        (f"{BASE}/yw_n/", REDIRECTED_LIST),
        (f"{BASE}/c/2023-03-01/3301012.shtml", None),  # moved to another article URL
        (f"{BASE}/yw_n/sub/index.shtml", None),
        ("http://other.example.org/", None),
    ],
)
def test_a_redirect_to_the_home_or_a_list_page_is_a_withdrawal(
    url: str, reason: str | None
) -> None:
    assert redirect_reason(url, BASE, HOSTS, LISTS) == reason


def test_the_guard_holds_back_most_of_enough_rechecks() -> None:
    guard = OutageGuard(min_rechecks=5, max_percent=50)
    assert guard.holds_back(3, 5) and guard.holds_back(10, 10)
    assert not guard.holds_back(2, 4)  # too few to judge: 4 re-checks
    assert not guard.holds_back(5, 10)  # half is not most
    assert not guard.holds_back(1, 20)
