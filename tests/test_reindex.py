"""End to end: `cppcc-archive reindex` rebuilds from WARC files the catalogue crawls made."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from pipelines.archive import spans
from pipelines.catalogue.engine import make_engine
from pipelines.processes import pid_is_alive
from pipelines.warc.writer import WarcWriter
from tests.conftest import run_cli_reading, start_cli
from tests.test_recrawl import Recrawl, recrawl  # noqa: F401 (the fixture: three crawls)
from tests.test_verify_damaged import SEEDS, article_exchange

# Every column a rebuilt catalogue must give back; ids and run links are not in the WARC.
DUMPS = {
    "articles": """SELECT url, site, channel, content_id, section, title, subtitle, published_at,
        source, author, editor, keywords, paragraphs, images, content_hash, page_count,
        first_seen_at, last_seen_at, updated_at FROM articles ORDER BY url""",
    "versions": """SELECT a.url, v.number, v.captured_at, v.record_id, v.content_hash, v.title,
        v.paragraphs
        FROM article_versions v JOIN articles a ON a.id = v.article_id ORDER BY a.url, v.number""",
    "captures": """SELECT a.url, c.url, c.page_number, c.record_id, c.warc_filename,
        c.warc_offset, c.warc_length, c.payload_digest, c.fetched_at, c.status
        FROM captures c JOIN articles a ON a.id = c.article_id ORDER BY c.record_id""",
    "records": """SELECT record_id, record_type, url, fetched_at, status, payload_digest,
        warc_filename, warc_offset, warc_length, refers_to, etag, last_modified
        FROM records ORDER BY record_id""",
    "rejections": """SELECT url, site, channel, reason, record_id, warc_offset FROM rejections
        ORDER BY record_id""",
}


def dump(database: Path | str) -> dict[str, list[Any]]:
    """Every table's DUMPS, alike on both back ends: a SQLite file, or any database's URL."""
    url = database if isinstance(database, str) else f"sqlite:///{database}"
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: sorted((tuple(map(_plain, row)) for row in connection.execute(text(query))),
                             key=repr)  # ORDER BY would sort text by each server's collation
                for name, query in DUMPS.items()
            }  # fmt: skip
    finally:
        engine.dispose()


def _plain(value: Any) -> Any:
    """A column as SQLite stores it: times as UTC text, JSON parsed from either."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, str) and value[:1] in ("[", "{"):
        return json.loads(value)
    return value


def test_the_rebuilt_catalogue_equals_the_original(recrawl: Recrawl, fresh_db_url: str) -> None:  # noqa: F811
    rebuilt = fresh_db_url  # the crawls' catalogue is SQLite; its rebuild, either back end
    result = run_cli_reading(
        *("--home", str(recrawl.home), "--seeds", str(recrawl.seeds)),
        *("--db", rebuilt, "reindex", "--format", "json"),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    original = dump(recrawl.home / "catalogue.sqlite3")

    assert original["articles"] and original["versions"] and original["records"]
    assert len(original["versions"]) > len(original["articles"])  # an edit made a version 2
    assert dump(rebuilt) == original
    assert report["renormalised"] == 0 and report["unreadable"] == [] and report["open_files"] == []


def test_reindexing_again_changes_nothing(recrawl: Recrawl) -> None:  # noqa: F811
    before = dump(recrawl.home / "catalogue.sqlite3")
    result = run_cli_reading(
        *("--home", str(recrawl.home), "--seeds", str(recrawl.seeds)),
        *("reindex", "--format", "json"),
    )
    assert result.returncode == 0, result.stderr
    saved = sum(
        run["counts"][f"articles_{outcome}"]
        for run in recrawl.runs
        for outcome in ("new", "updated", "unchanged")
    )
    # Every article a crawl saved has its metadata record; each is already in the catalogue.
    assert json.loads(result.stdout)["articles"] == {"unchanged": saved}
    assert dump(recrawl.home / "catalogue.sqlite3") == before


def test_pages_archived_without_metadata_are_normalised_again(
    recrawl: Recrawl,  # noqa: F811
    tmp_path: Path,
    fresh_db_url: str,
) -> None:
    # The first crawl's WARC file with its article metadata records left out, as if the crawl
    # had died between archiving the pages and the articles.
    first = sorted((recrawl.home / "warc").glob("*.warc.gz"))[0]
    (tmp_path / "warc").mkdir()
    stripped = tmp_path / "warc" / first.name
    stripped.write_bytes(b"".join(_members_without_article_metadata(first)))
    rebuilt = fresh_db_url
    result = run_cli_reading(
        *("--home", str(tmp_path), "--seeds", str(recrawl.seeds), "--db", rebuilt),
        *("reindex", str(tmp_path / "warc"), "--format", "json"),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    articles = dump(rebuilt)["articles"]
    first_crawl = recrawl.runs[0]["counts"]["articles_new"]
    assert report["renormalised"] == len(articles) == first_crawl
    # Only the pages under the site's article pattern became articles: no list page, no robots.
    assert all("/c/" in row[0] for row in articles)


def _members_without_article_metadata(path: Path) -> list[bytes]:
    from warcio.archiveiterator import ArchiveIterator

    data = path.read_bytes()
    kept = []
    with path.open("rb") as stream:
        records = ArchiveIterator(stream)
        for record in records:
            content = record.content_stream().read()
            offset, length = records.get_record_offset(), records.get_record_length()
            if record.rec_type == "metadata" and b"cppcc-kind" in content:
                continue
            kept.append(data[offset : offset + length])
    assert gzip.decompress(b"".join(kept))  # still a valid stream of gzip members
    return kept


# -- on several processes -------------------------------------------------------------------------

# Articles' and versions' ids and their order: what one process replaying the files gives.
ORDER = {
    "articles": "SELECT id, url, first_seen_at FROM articles ORDER BY id",
    "versions": "SELECT article_id, number, record_id FROM article_versions ORDER BY id",
    "captures": "SELECT article_id, record_id FROM captures ORDER BY id",
    "records": "SELECT id, record_id FROM records ORDER BY id",
}


def ordered(database: Path) -> dict[str, list[Any]]:
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return {
                name: [tuple(row) for row in connection.execute(text(query))]
                for name, query in ORDER.items()
            }
    finally:
        engine.dispose()


def test_two_jobs_rebuild_the_catalogue_one_job_rebuilds(
    recrawl: Recrawl,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spans, "SPAN_SIZE", 20_000)  # every file in several spans
    rebuilt = {}
    for jobs in ("1", "2"):
        database = tmp_path / f"jobs-{jobs}.sqlite3"
        result = run_cli_reading(
            *("--home", str(recrawl.home), "--seeds", str(recrawl.seeds)),
            *("--db", f"sqlite:///{database}", "reindex", "--jobs", jobs, "--format", "json"),
        )
        assert result.returncode == 0, result.stderr
        rebuilt[jobs] = (json.loads(result.stdout), dump(database), ordered(database))

    assert rebuilt["2"] == rebuilt["1"]
    report, tables, _ = rebuilt["2"]
    assert report["unreadable"] == [] and report["files"] > 1
    assert tables == dump(recrawl.home / "catalogue.sqlite3")
    assert len(tables["versions"]) > len(tables["articles"])  # an edit made a version 2


@pytest.mark.parametrize("stop", ["SIGTERM", "Ctrl-C"])
def test_a_parallel_reindex_stopped_while_reading_exits_130_and_leaves_no_process(
    big_archive: Path, tmp_path: Path, stop: str
) -> None:
    home = tmp_path / "home"
    shutil.copytree(big_archive / "warc", home / "warc")
    seeds = big_archive / "seeds.toml"
    command = start_cli("--home", str(home), "--seeds", str(seeds), "reindex", "--jobs", "2")
    workers = _children_once_started(command)
    if stop == "SIGTERM":
        command.send_signal(signal.SIGTERM)
    else:  # a terminal sends Ctrl-C's SIGINT to the whole foreground process group
        os.killpg(command.pid, signal.SIGINT)
    _, stderr = command.communicate(timeout=60)

    assert command.returncode == 130, stderr
    assert "cppcc-archive: interrupted" in stderr and "Traceback" not in stderr
    assert workers and _all_gone(workers)
    # The promise of reindex: run it again, and the catalogue is whole.
    again = run_cli_reading("--home", str(home), "--seeds", str(seeds), "reindex", "--jobs", "2")
    assert again.returncode == 0, again.stderr
    whole = tmp_path / "whole.sqlite3"
    result = run_cli_reading(
        *("--home", str(home), "--seeds", str(seeds), "--db", f"sqlite:///{whole}"),
        *("reindex", "--jobs", "1"),
    )
    assert result.returncode == 0, result.stderr
    assert dump(home / "catalogue.sqlite3") == dump(whole)
    assert len(dump(whole)["articles"]) == BIG_ARTICLES


BIG_ARTICLES = 600  # pages archived without metadata records: normalised again, in turn


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three WARC files of 200 article pages each, as crawls that died before cataloguing."""
    folder = tmp_path_factory.mktemp("big")
    (folder / "seeds.toml").write_text(SEEDS, encoding="utf-8")
    for part in range(3):
        with WarcWriter(folder / "warc", hostname="test", pid=part + 1) as writer:
            for number in range(part * 200, (part + 1) * 200):
                writer.write_exchange(article_exchange(number))
    return folder


def _children_once_started(command: subprocess.Popen[str]) -> list[int]:
    """The command's child processes, as soon as it has some (its workers)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and command.poll() is None:
        children = _children(command.pid)
        if children:
            return children
        time.sleep(0.005)
    raise AssertionError("the command started no worker process")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _all_gone(pids: list[int]) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not any(pid_is_alive(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False
