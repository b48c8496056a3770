"""End to end: `cppcc-archive reindex` rebuilds from WARC files the catalogue crawls made."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from pipelines.catalogue.engine import make_engine
from tests.conftest import run_cli_reading
from tests.test_recrawl import Recrawl, recrawl  # noqa: F401 (the fixture: three crawls)

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
