"""End to end: crawls into a PostgreSQL catalogue, one at a time and two at once.

`--db postgresql://…` is the plain scheme a user types; the `[postgres]` extra's psycopg 3 is
the driver. Skipped without a PostgreSQL server, failed instead with CPPCC_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from warcio.archiveiterator import ArchiveIterator

from pipelines.catalogue.engine import make_engine
from replicas.rmzxb.articles import replica_articles
from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer, Reply, Routes
from tests.conftest import REPLICA_SEEDS, GatedReplica, run_cli, run_cli_reading, start_cli

ARTICLES = {article.key: article for article in replica_articles()}
# One article of each channel, linked from the other channel's first list page as well.
SHARED = {"yw": ARTICLES["two_page"], "xs": ARTICLES["real"]}
LIST_PAGES = {"xs": "/xs/index.shtml", "yw": "/yw_n/index.shtml"}
# Articles whose `show` is compared (each is a subprocess): two pages, and GBK.
SHOWN = ("two_page", "gbk")
# What a catalogue's `show --format json` says the same way whichever crawl made it.
CRAWL_SPECIFIC = {"id", "captures", "first_seen_at", "last_seen_at", "updated_at"}


def shared_article_site(base_url: str) -> Routes:
    """The replica, each channel's first list page also linking an article of the other."""
    routes = dict(build_site(base_url))
    for channel, article in SHARED.items():
        listing = routes[LIST_PAGES[channel]]
        link = f'<li><a href="{article.pages[0].path}">{article.title}</a></li>'.encode()
        assert b"<li>" in listing.body
        routes[LIST_PAGES[channel]] = replace(
            listing, body=listing.body.replace(b"<li>", link + b"<li>", 1)
        )
    return routes


class MeetingReplica(ReplicaServer):
    """Holds each request for a shared article until both crawls have asked for it, so that
    both save it at the same moment."""

    def __init__(self) -> None:
        super().__init__(shared_article_site, not_found_page)
        self.both_asked = {article.pages[0].path: threading.Event() for article in SHARED.values()}
        self.asked: Counter[str] = Counter()
        self._lock = threading.Lock()

    def reply_for(self, path: str) -> Reply:
        met = self.both_asked.get(path.split("?", 1)[0])
        if met is not None:
            with self._lock:
                self.asked[path] += 1
                if self.asked[path] >= 2:
                    met.set()
            met.wait(timeout=60)
        return super().reply_for(path)


def catalogue(url: str, query: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def warc_records(home: Path) -> list[Any]:
    found = []
    for path in sorted((home / "warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                status = record.http_headers.get_statuscode() if record.http_headers else None
                found.append((record.rec_type, record.rec_headers, status))
    return found


def cli_json(home: Path, seeds: Path, db: str, *args: str) -> Any:
    result = run_cli_reading("--home", str(home), "--seeds", str(seeds), "--db", db, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_crawl_into_postgresql_catalogues_what_sqlite_does(
    replica: ReplicaServer, replica_seeds: Path, postgres_url: str, tmp_path: Path
) -> None:
    backends = {"postgresql": postgres_url, "sqlite": f"sqlite:///{tmp_path / 'c.sqlite3'}"}
    shown: dict[str, dict[str, Any]] = {}
    for backend, db in backends.items():
        home = tmp_path / backend
        run = cli_json(home, replica_seeds, db, "crawl", "rmzxb/xs", "rmzxb/yw", "--format", "json")
        assert run["status"] == "finished" and run["counts"]["articles_new"] > 10, run
        runs = cli_json(home, replica_seeds, db, "runs", "--format", "json")
        assert [(r["id"], r["status"]) for r in runs] == [(run["id"], "finished")]
        listed = cli_json(home, replica_seeds, db, "articles", "--format", "json", "--limit", "100")
        assert len(listed) == run["counts"]["articles_new"]
        summaries = sorted(({k: v for k, v in a.items() if k != "id"} for a in listed), key=str)
        shown[backend] = {"listed": summaries}
        for article in SHOWN:
            url = replica.base_url + ARTICLES[article].pages[0].path
            view = cli_json(home, replica_seeds, db, "show", url, "--format", "json")
            assert view["captures"] and view["published_at"].endswith("+08:00")
            shown[backend][article] = {k: v for k, v in view.items() if k not in CRAWL_SPECIFIC}
    assert shown["postgresql"] == shown["sqlite"]


def test_two_crawls_at_once_into_one_postgresql_catalogue_lose_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with MeetingReplica() as server:
        base_url = server.base_url
        seeds = tmp_path / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        crawls = [
            start_cli(
                *("--home", str(home), "--seeds", str(seeds), "--db", postgres_url),
                *("crawl", f"rmzxb/{channel}", "--format", "json"),
            )
            for channel in ("xs", "yw")
        ]
        outputs = [crawl.communicate(timeout=180) for crawl in crawls]
        assert [crawl.returncode for crawl in crawls] == [0, 0], [err for _, err in outputs]
        assert all(event.is_set() for event in server.both_asked.values()), server.asked
    runs = [json.loads(out) for out, _ in outputs]
    assert [run["status"] for run in runs] == ["finished", "finished"]

    urls = catalogue(postgres_url, "SELECT url FROM articles")
    assert len(urls) == len(set(urls))
    saved = sum(run["counts"][f"articles_{o}"] for run in runs for o in ("new", "unchanged"))
    # The shared articles were saved by both crawls, and catalogued once.
    assert len(urls) == saved - len(SHARED)
    for article in SHARED.values():
        shared_captures = catalogue(
            postgres_url,
            "SELECT c.run_id, c.page_number FROM captures c JOIN articles a ON a.id = c.article_id"
            f" WHERE a.url = '{base_url}{article.pages[0].path}'",
        )
        pages = range(1, len(article.pages) + 1)
        assert sorted(shared_captures) == sorted((r["id"], n) for r in runs for n in pages)

    records = warc_records(home)
    # A page the other crawl archived first may be a revisit: of the same payload, or of a
    # 304 to the conditional request its validators allowed (that record has no HTTP head).
    rejected = {row[0] for row in catalogue(postgres_url, "SELECT record_id FROM rejections")}
    article_pages = [
        headers["WARC-Record-ID"]
        for kind, headers, status in records
        if kind in ("response", "revisit")
        and "/c/" in headers["WARC-Target-URI"]
        and (status == "200" or headers.get("WARC-Profile", "").endswith("server-not-modified"))
    ]
    article_pages = [record_id for record_id in article_pages if record_id not in rejected]
    captured = [row[0] for row in catalogue(postgres_url, "SELECT record_id FROM captures")]
    assert sorted(captured) == sorted(article_pages)  # none lost, none twice

    responses = [h["WARC-Record-ID"] for kind, h, _ in records if kind in ("response", "revisit")]
    catalogued = [row[0] for row in catalogue(postgres_url, "SELECT record_id FROM records")]
    assert sorted(catalogued) == sorted(responses)

    versions = catalogue(postgres_url, "SELECT article_id, number FROM article_versions")
    ids = [row[0] for row in catalogue(postgres_url, "SELECT id FROM articles")]
    assert sorted(versions) == sorted((article_id, 1) for article_id in ids)


def test_a_second_crawl_of_a_channel_being_crawled_is_refused(
    postgres_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with GatedReplica("/yw_n/") as server:
        seeds = tmp_path / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        common = ("--home", str(home), "--seeds", str(seeds), "--db", postgres_url)
        first = start_cli(*common, "crawl", "rmzxb/yw", "--format", "json")
        try:
            holder = _lock_holder(postgres_url, first)
            second = run_cli(*common, "crawl", "rmzxb/yw")
            assert second.returncode == 1
            lines = second.stderr.strip().splitlines()
            assert len(lines) == 1, second.stderr
            assert f"rmzxb/yw is being crawled by run {holder}" in lines[0]
        finally:
            server.gate.set()
            out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert json.loads(out)["status"] == "finished"
    statuses = catalogue(postgres_url, "SELECT id, status FROM runs ORDER BY id")
    assert statuses == [(holder, "finished")]  # the refused crawl left no run behind


def _lock_holder(url: str, crawl: Any) -> int:
    """The run holding rmzxb/yw's lock, once the crawl `crawl` has taken it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert crawl.poll() is None, crawl.communicate()
        try:
            rows = catalogue(url, "SELECT run_id FROM channel_locks WHERE channel = 'yw'")
        except ProgrammingError:  # the crawl has not created the schema yet
            rows = []
        if rows:
            return int(rows[0][0])
        time.sleep(0.1)
    raise AssertionError("the first crawl never took its channel lock")
