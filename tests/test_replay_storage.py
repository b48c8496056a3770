"""Replay from object storage: a web host with no WARC file of its own (another home, the same
catalogue) replays a crawl's captures through pywb, which reads them from S3 (moto's server on
loopback) by the indexes `index --storage` made there."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer
from tests.conftest import REPLICA_SEEDS, run_cli
from tests.pywb_tools import pywb_tool
from tests.s3_server import S3Server, s3_server  # noqa: F401 (the fixture, used by name)
from tests.test_replay_pywb import fetch
from tests.test_web import WebServer, start_web
from web.replay import replay_path

BUCKET = "cppcc-archive-replay"
STORAGE = f"s3://{BUCKET}/warc"


@dataclass
class Crawled:
    seeds: Path
    db: str
    crawl_home: Path
    web_home: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def crawled(
    tmp_path_factory: pytest.TempPathFactory,
    s3_server: S3Server,  # noqa: F811
) -> Iterator[Crawled]:
    """rmzxb/yw crawled with --storage in one home; another home, empty, on its catalogue."""
    folder = tmp_path_factory.mktemp("replay-storage")
    s3_server.client().create_bucket(Bucket=BUCKET)
    db = f"sqlite:///{folder / 'catalogue.sqlite3'}"
    with ReplicaServer(build_site, not_found_page) as replica:
        seeds = folder / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=replica.base_url), encoding="utf-8")
        crawl_home = folder / "crawl-host"
        done = run_cli("--home", str(crawl_home), "--seeds", str(seeds), "--db", db, "crawl",
                       "rmzxb/yw", "--storage", STORAGE, env=s3_server.env)  # fmt: skip
        assert done.returncode == 0, done.stderr
    # The replica is gone: what is replayed can come from the archive only.
    yield Crawled(seeds, db, crawl_home, folder / "web-host", s3_server.env)


def committed_files(db: str) -> list[str]:
    with sqlite3.connect(db.removeprefix("sqlite:///")) as connection:
        rows = connection.execute(
            "SELECT name FROM warc_files WHERE committed_at IS NOT NULL ORDER BY name"
        ).fetchall()
    return [name for (name,) in rows]


def web(crawled: Crawled, *args: str) -> tuple[WebServer, str]:
    """`web` on the empty home with pywb; the server and the replay's origin."""
    server = start_web(crawled.web_home, crawled.seeds, "--replay-port", "0",
                       "--pywb", str(pywb_tool("wayback")), *args,
                       db=crawled.db, env=crawled.env)  # fmt: skip
    said = server.stderr.read_text(encoding="utf-8")
    found = re.search(r"replay (http://127\.0\.0\.1:\d+)/ by pywb", said)
    if not found:
        server.stop()
        pytest.fail(said)
    return server, found.group(1)


def words(paragraph: str) -> str:
    """The paragraph's longest run of Chinese characters: the catalogue folds its punctuation
    (full-width commas to ASCII ones), the page has it as published."""
    return max(re.findall(r"[\u4e00-\u9fff]+", paragraph), key=len)


def an_article(server: WebServer) -> Any:
    listed = server.get("/api/articles?limit=1").json()["articles"]
    return server.get(f"/api/articles/{listed[0]['id']}").json()


def replay_an_article(crawled: Crawled, *web_args: str) -> tuple[Any, dict[str, Any], Any]:
    """`web` on the empty home (with `web_args`), and pywb's answer for an article's first
    capture: the server (stopped), the article as the API gives it, and the reply."""
    server, origin = web(crawled, *web_args)
    try:
        article = an_article(server)
        capture = article["captures"][0]
        reply = fetch(origin + replay_path(capture["fetched_at"], article["url"], "mp_"))
    finally:
        server.stop()
    return server, article, reply


def test_a_host_without_warc_files_replays_a_stored_capture(crawled: Crawled) -> None:
    stored = committed_files(crawled.db)
    assert stored == sorted(p.name for p in (crawled.crawl_home / "warc").glob("*.warc.gz"))

    indexed = run_cli("--home", str(crawled.web_home), "--seeds", str(crawled.seeds),
                      "--db", crawled.db, "index", "--storage", STORAGE,
                      env=crawled.env)  # fmt: skip
    assert indexed.returncode == 0, indexed.stdout + indexed.stderr
    assert f"({len(stored)} downloaded from {STORAGE})" in indexed.stdout
    assert not list(crawled.web_home.rglob("*.warc.gz")), "a WARC file was left on the web host"

    server, article, reply = replay_an_article(crawled, "--storage", STORAGE)
    assert f", of HOME/warc and {STORAGE}" in server.stderr.read_text(encoding="utf-8")
    assert reply.status == 200, reply.body[-2000:]
    page = reply.body.decode("utf-8")
    assert article["title"] in page
    assert words(article["paragraphs"][0]) in page


def test_without_storage_the_same_capture_is_not_found(crawled: Crawled) -> None:
    # What the test above replayed came from the store: without it, pywb has the index
    # (left by the test above, or made now) but no file to read the record from.
    run_cli("--home", str(crawled.web_home), "--db", crawled.db, "index", "--storage", STORAGE,
            env=crawled.env)  # fmt: skip
    _, article, reply = replay_an_article(crawled)
    assert reply.status != 200
    assert words(article["paragraphs"][0]) not in reply.body.decode("utf-8", errors="replace")
