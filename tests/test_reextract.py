"""`cppcc-archive reextract`: re-normalise a crawled replica's articles from its WARC files."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from pipelines.archive import reextract
from pipelines.catalogue.engine import default_sqlite_url, make_engine, make_session_factory
from pipelines.catalogue.models import Capture
from replicas.rmzxb.articles import replica_articles
from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer
from tests.conftest import REPLICA_SEEDS, CliResult, run_cli, run_cli_reading
from tests.test_reindex import dump

ARTICLES = {article.key: article for article in replica_articles()}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(home, seeds) of one crawl of the replica; tests work on copies of the home."""
    home = tmp_path_factory.mktemp("crawled") / "home"
    with ReplicaServer(build_site, not_found_page) as server:
        seeds = home.parent / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        crawl = run_cli("--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/xs", "rmzxb/yw")
        assert crawl.returncode == 0, crawl.stderr
    yield home, seeds


class Home:
    """A copy of the crawled home, with the command line and SQL on its catalogue."""

    def __init__(self, path: Path, seeds: Path):
        self.path = path
        self.seeds = seeds

    def cli(self, *args: str) -> CliResult:
        return run_cli_reading("--home", str(self.path), "--seeds", str(self.seeds), *args)

    def reextract_json(self, *args: str) -> dict[str, Any]:
        result = self.cli("reextract", "--format", "json", *args)
        assert result.returncode == 0, result.stdout + result.stderr
        report: dict[str, Any] = json.loads(result.stdout)
        return report

    def sql(self, statement: str, **params: Any) -> list[Any]:
        engine: Engine = create_engine(default_sqlite_url(self.path))
        try:
            with engine.begin() as connection:
                result = connection.execute(text(statement), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            engine.dispose()


@pytest.fixture
def home(crawled: tuple[Path, Path], tmp_path: Path) -> Home:
    source, seeds = crawled
    shutil.copytree(source, tmp_path / "home")
    return Home(tmp_path / "home", seeds)


def test_fresh_crawl_is_unchanged(home: Home) -> None:
    count = home.sql("SELECT count(*) FROM articles")[0][0]
    result = home.cli("reextract")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        f"re-extracted {count} articles: 0 changed, {count} unchanged, 0 failed\n"
    )
    # The gzip-encoded page and the GBK page are among them: decoded as the crawl did.
    assert count == len(ARTICLES) - 1  # all but the one robots.txt forbids


def test_tampered_article_is_restored_from_its_warc_record(home: Home) -> None:
    url = home.sql("SELECT url FROM articles WHERE content_id = '3064624'")[0][0]
    title = home.sql("SELECT title FROM articles WHERE url = :url", url=url)[0][0]
    home.sql("UPDATE articles SET title = 'x' WHERE url = :url", url=url)
    report = home.reextract_json()
    assert (report["changed"], report["failed"]) == (1, 0)
    assert report["unchanged"] == report["examined"] - 1
    assert home.sql("SELECT title FROM articles WHERE url = :url", url=url)[0][0] == title
    assert title == "与历史同向 与时代同行 与人民同心"
    # Restored once, it stays so.
    assert home.reextract_json()["changed"] == 0


def test_field_outside_the_content_hash_is_restored_too(home: Home) -> None:
    home.sql("UPDATE articles SET content_id = '1' WHERE content_id = '3064624'")
    assert home.reextract_json()["changed"] == 1
    assert home.sql("SELECT count(*) FROM articles WHERE content_id = '3064624'")[0][0] == 1


def test_missing_warc_file_fails_each_article_in_it(home: Home) -> None:
    name = home.sql("SELECT warc_filename FROM captures WHERE article_id IS NOT NULL")[0][0]
    (home.path / "warc" / name).unlink()
    lost = {
        row[0]
        for row in home.sql(
            "SELECT DISTINCT a.url FROM articles a JOIN captures c ON c.article_id = a.id "
            "WHERE c.warc_filename = :name",
            name=name,
        )
    }
    result = home.cli("reextract")
    assert result.returncode == 1
    summary, *failures = result.stdout.splitlines()
    assert re.fullmatch(
        rf"re-extracted \d+ articles: 0 changed, \d+ unchanged, {len(lost)} failed", summary
    )
    assert len(failures) == len(lost)
    assert {line.split(": ")[1] for line in failures} == lost
    assert all(name in line and "missing" in line for line in failures)
    assert "Traceback" not in result.stderr


def test_record_that_no_longer_normalises_names_url_and_reason(home: Home) -> None:
    # Point an article's capture at the archived login page: a record that is no article.
    login = home.sql(
        "SELECT warc_filename, warc_offset, warc_length, record_id FROM rejections "
        "WHERE reason = 'no-date'"
    )[0]
    url = home.sql("SELECT url FROM articles WHERE content_id = '3064624'")[0][0]
    home.sql(
        "UPDATE captures SET warc_filename = :f, warc_offset = :o, warc_length = :l, "
        "record_id = :r WHERE article_id = (SELECT id FROM articles WHERE url = :url)",
        f=login[0],
        o=login[1],
        l=login[2],
        r=login[3],
        url=url,
    )
    result = home.cli("reextract", "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["failed"] == 1 and report["changed"] == 0
    [failure] = report["failures"]
    assert failure["url"] == url
    assert "no longer normalises: no-date" in failure["reason"]


def test_article_of_a_site_without_profile_fails_with_the_reason(home: Home) -> None:
    home.sql("UPDATE articles SET site = 'other' WHERE content_id = '3064624'")
    result = home.cli("reextract")
    assert result.returncode == 1
    assert ", 1 failed\n" in result.stdout.splitlines(keepends=True)[0]
    assert "no site profile named 'other'" in result.stdout.splitlines()[1]


def test_filters_choose_the_articles(home: Home) -> None:
    everything = home.reextract_json()["examined"]
    assert home.reextract_json("--site", "rmzxb")["examined"] == everything
    day = ARTICLES["seed"].published.isoformat()
    listed = json.loads(home.cli("articles", "--format", "json", "--since", day).stdout)
    assert 0 < home.reextract_json("--since", day)["examined"] == len(listed) < everything
    on_day = home.reextract_json("--since", day, "--until", day)["examined"]
    assert 0 < on_day <= len(listed)
    yw = home.sql("SELECT count(*) FROM articles WHERE channel = 'yw'")[0][0]
    assert 0 < home.reextract_json("--channel", "yw")["examined"] == yw < everything


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "nosuch"], "no site 'nosuch' in"),
        (["--site", "rmzxb", "--channel", "nosuch"], "no channel 'nosuch' in"),
        (["--channel", "nosuch"], "(channels: rmzxb/"),
    ],
)
def test_a_site_or_channel_the_seeds_lack_is_a_usage_error(
    home: Home, args: list[str], message: str
) -> None:
    result = home.cli("reextract", *args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_progress_is_reported(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reextract, "PROGRESS_EVERY", 5)
    seen: list[tuple[int, int]] = []
    engine = make_engine(default_sqlite_url(home.path))
    try:
        with make_session_factory(engine)() as session:
            report = reextract.reextract_articles(
                session, home.path / "warc", on_progress=lambda *done: seen.append(done)
            )
    finally:
        engine.dispose()
    assert seen and all(done % 5 == 0 and total == report.examined for done, total in seen)


def test_no_catalogue_is_one_line(tmp_path: Path) -> None:
    result = run_cli("--home", str(tmp_path), "reextract")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no catalogue" in result.stderr


def _capture(page: int, minute: int, capture_id: int) -> Capture:
    return Capture(
        id=capture_id, page_number=page, fetched_at=datetime(2026, 1, 1, 0, minute, tzinfo=UTC)
    )


def test_latest_capture_of_each_page_in_page_order() -> None:
    captures = [_capture(2, 5, 1), _capture(1, 9, 2), _capture(1, 3, 3), _capture(2, 7, 4)]
    assert [c.id for c in reextract.latest_captures(captures)] == [2, 4]


def test_two_jobs_leave_the_catalogue_one_job_leaves(
    crawled: tuple[Path, Path], tmp_path: Path
) -> None:
    source, seeds = crawled
    outcomes = {}
    for jobs in ("1", "2"):
        home = Home(tmp_path / f"jobs-{jobs}", seeds)
        shutil.copytree(source, home.path)
        # Some articles to restore, one that cannot be read: read by two processes, saved here.
        home.sql("UPDATE articles SET title = 'x' WHERE id % 3 = 0")
        home.sql("UPDATE articles SET content_id = '1' WHERE id % 4 = 1")
        home.sql("UPDATE articles SET site = 'other' WHERE id = 2")
        result = home.cli("reextract", "--jobs", jobs, "--format", "json")
        assert result.returncode == 1, result.stderr
        outcomes[jobs] = (json.loads(result.stdout), dump(home.path / "catalogue.sqlite3"))

    assert outcomes["2"] == outcomes["1"]
    report, tables = outcomes["2"]
    assert report["changed"] > 2 and report["failed"] == 1
    assert len(tables["versions"]) == len(tables["articles"]) + report["changed"]
