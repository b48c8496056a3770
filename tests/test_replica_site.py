"""The replica of 人民政协网: its copies of the reference pages, and its behaviours per path."""

from __future__ import annotations

import gzip

import pytest

from replicas.rmzxb.articles import replica_articles
from replicas.rmzxb.site import LEGACY_PATH, SERVER_ERROR_PATH, build_site
from tests.conftest import REPLICA_PAGES, SHARED_REFERENCE

REFERENCE_COPIES = [
    ("seed_article.txt", "seed_article.txt"),
    ("pages/rmzxb_article_2023-02-27_3299508.html", "rmzxb_article_2023-02-27_3299508.html"),
]


@pytest.mark.parametrize(("reference", "copy"), REFERENCE_COPIES)
def test_packaged_copies_equal_the_reference(reference: str, copy: str) -> None:
    # The replica ships its own copies (the demo runs where ../shared is not); they must not drift.
    if not SHARED_REFERENCE.exists():
        pytest.skip(f"{SHARED_REFERENCE} is not beside this checkout: nothing to compare with")
    assert (REPLICA_PAGES / copy).read_bytes() == (SHARED_REFERENCE / reference).read_bytes()


def test_each_behaviour_has_its_path() -> None:
    routes = build_site("http://127.0.0.1:8000")
    articles = {a.key: a for a in replica_articles()}
    gzip_reply = routes[articles["gzip"].pages[0].path]
    assert ("Content-Encoding", "gzip") in gzip_reply.headers
    assert b"<html" in gzip.decompress(gzip_reply.body)
    cookies = [v for n, v in routes[articles["cookies"].pages[0].path].headers if n == "Set-Cookie"]
    assert len(cookies) == 2
    legacy = routes[LEGACY_PATH]
    assert legacy.status == 301
    target = "http://127.0.0.1:8000" + articles["legacy"].pages[0].path
    assert ("Location", target) in legacy.headers
    assert routes[SERVER_ERROR_PATH].status == 500
    assert articles["robots"].pages[0].path in routes["/robots.txt"].body.decode()
    gbk = routes[articles["gbk"].pages[0].path]
    assert ("Content-Type", "text/html; charset=gb2312") in gbk.headers
    assert "镕".encode("gbk") in gbk.body
