"""Pages dated more than a day after they were fetched: archived, rejected as `future-date`.

The rule is the pure normaliser's, fed the fetch time: unit tests on rendered replica pages,
then one real crawl of a replica channel serving an article dated three days ahead and one
dated now, whose WARC files `reindex` and `reextract` read again.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from warcio.archiveiterator import ArchiveIterator

from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.writes import save_article
from pipelines.normalise import SHANGHAI, FutureDate, normalise_page, profile_named
from pipelines.warc.scan import scan_warc
from replicas.rmzxb.articles import ArticleSpec, render_page
from replicas.rmzxb.site import not_found_page
from replicas.server import ReplicaServer, Reply, Routes
from tests.conftest import REPLICA_SEEDS, run_cli, run_cli_reading

HTML = (("Content-Type", "text/html; charset=utf-8"),)
RMZXB = profile_named("rmzxb")
NOW = datetime.now(SHANGHAI).replace(second=0, microsecond=0)
PARAGRAPHS = (
    "全国政协十四届常委会第五次会议在京开幕，委员们围绕推进中国式现代化建言资政。",
    "会议强调，要坚持团结和民主两大主题，在协商中增进共识，在履职中彰显担当。",
)


def spec(content_id: str, published_at: datetime, pages: int = 1) -> ArticleSpec:
    return ArticleSpec(
        key=content_id,
        content_id=content_id,
        published_at=published_at,
        title=f"政协委员履职纪实（{content_id}）",
        section=("要闻",),
        pages=(PARAGRAPHS,) * pages,
    )


def fetched(
    article: ArticleSpec, number: int = 1
) -> tuple[str, tuple[tuple[str, str], ...], bytes]:
    url = "http://www.rmzxb.com.cn" + article.page_path(number)
    return url, HTML, render_page(article, number).encode("utf-8")


# --- the rule ------------------------------------------------------------------------------------


def test_a_page_dated_days_after_its_fetch_is_rejected_naming_both_times() -> None:
    fetched_at = datetime(2026, 11, 1, 8, 0, tzinfo=SHANGHAI)
    page = spec("4100001", datetime(2026, 11, 4, 9, 30, tzinfo=SHANGHAI))
    with pytest.raises(FutureDate) as raised:
        normalise_page(*fetched(page), profile=RMZXB, fetched_at=fetched_at)
    assert raised.value.reason == "future-date"
    assert "2026-11-04T09:30:00+08:00" in raised.value.detail
    assert "2026-11-01T08:00:00+08:00" in raised.value.detail


@pytest.mark.parametrize(
    "ahead", [timedelta(0), timedelta(hours=20), timedelta(days=1), -timedelta(days=400)]
)
def test_a_page_dated_up_to_a_day_after_its_fetch_is_an_article(ahead: timedelta) -> None:
    fetched_at = datetime(2026, 11, 1, 8, 0, tzinfo=SHANGHAI)
    page = spec("4100002", fetched_at + ahead)
    article = normalise_page(*fetched(page), profile=RMZXB, fetched_at=fetched_at)
    assert article.published_at == fetched_at + ahead


def test_the_day_is_counted_in_time_not_in_calendar_days() -> None:
    # WARC-Date is UTC: fetched 1 November 20:00 UTC, 2 November 04:00 in Beijing.
    fetched_at = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)
    within = spec("4100003", datetime(2026, 11, 3, 3, 0, tzinfo=SHANGHAI))  # 23 h ahead
    assert normalise_page(*fetched(within), profile=RMZXB, fetched_at=fetched_at).title
    beyond = spec("4100003", datetime(2026, 11, 3, 5, 0, tzinfo=SHANGHAI))  # 25 h ahead
    with pytest.raises(FutureDate):
        normalise_page(*fetched(beyond), profile=RMZXB, fetched_at=fetched_at)


def test_only_page_one_is_held_to_it() -> None:
    # A later page's date is not the article's: its text is kept whatever the page says.
    fetched_at = datetime(2026, 11, 1, 8, 0, tzinfo=SHANGHAI)
    later = spec("4100004", datetime(2026, 11, 9, 8, 0, tzinfo=SHANGHAI), pages=2)
    page_two = normalise_page(*fetched(later, 2), profile=RMZXB, fetched_at=fetched_at)
    assert page_two.paragraphs


# --- a crawl, reindex, reextract ----------------------------------------------------------------

FUTURE = spec("4200001", NOW + timedelta(days=3))
TODAY = spec("4200002", NOW)
LIST_PAGE = "/yw_n/index.shtml"


def future_site(base_url: str) -> Routes:
    """要闻 with one list page: an article dated three days from now, and one dated now."""
    pages = (FUTURE, TODAY)
    routes = {page.path: Reply(200, HTML, render_page(page, 1).encode("utf-8")) for page in pages}
    links = "".join(f'<li><a href="{page.path}">{page.title}</a></li>' for page in pages)
    listing = f"<html><head><title>要闻</title></head><body><ul>{links}</ul></body></html>"
    routes[LIST_PAGE] = Reply(200, HTML, listing.encode("utf-8"))
    return routes


@dataclass
class Crawled:
    home: Path
    seeds: Path
    base_url: str
    summary: str

    def cli(self, *args: str) -> str:
        result = run_cli_reading("--home", str(self.home), "--seeds", str(self.seeds), *args)
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    tmp = tmp_path_factory.mktemp("future")
    with ReplicaServer(future_site, not_found_page) as server:
        seeds = tmp / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        home = ("--home", str(tmp / "home"), "--seeds", str(seeds))
        result = run_cli(*home, "crawl", "rmzxb/yw")
        assert result.returncode == 0, result.stdout + result.stderr
        yield Crawled(tmp / "home", seeds, server.base_url, result.stdout)


def _rejections(database: Path) -> list[tuple[str, str, str, str | None]]:
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT url, reason, detail, warc_filename FROM rejections ORDER BY url")
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_the_crawl_records_the_rejection_with_both_dates(crawled: Crawled) -> None:
    [(url, reason, detail, warc_filename)] = _rejections(crawled.home / "catalogue.sqlite3")
    assert (url, reason) == (crawled.base_url + FUTURE.path, "future-date")
    assert FUTURE.published_at.isoformat() in detail
    assert "after it was fetched (" in detail
    assert warc_filename  # the page is archived


def test_the_crawl_summary_names_the_page(crawled: Crawled) -> None:
    assert f"    future-date {crawled.base_url}{FUTURE.path}\n" in crawled.summary
    assert "new 1, updated 0, rejected 1" in crawled.summary


def test_the_crawl_counts_the_drop_under_its_reason(crawled: Crawled) -> None:
    engine = create_engine(f"sqlite:///{crawled.home / 'catalogue.sqlite3'}")
    with engine.connect() as connection:
        stats = json.loads(connection.execute(text("SELECT stats FROM runs")).scalar_one())
    engine.dispose()
    assert stats["rmzxb"]["item_dropped_reasons_count/FutureDate"] == 1


def test_articles_lists_the_page_dated_now_only(crawled: Crawled) -> None:
    listed = json.loads(crawled.cli("articles", "--format", "json"))
    assert [article["url"] for article in listed] == [crawled.base_url + TODAY.path]


def _without_article_metadata(path: Path) -> bytes:
    """The file's gzip members but the metadata records a crawl writes beside its articles."""
    data, kept = path.read_bytes(), []
    with path.open("rb") as stream:
        records = ArchiveIterator(stream)
        for record in records:
            content = record.content_stream().read()
            offset, length = records.get_record_offset(), records.get_record_length()
            if not (record.rec_type == "metadata" and b"cppcc-kind" in content):
                kept.append(data[offset : offset + length])
    assert gzip.decompress(b"".join(kept))
    return b"".join(kept)


def test_reindex_judges_a_page_by_when_its_record_was_fetched(
    crawled: Crawled, tmp_path: Path
) -> None:
    # Without the crawl's metadata records, reindex normalises the responses again.
    (tmp_path / "warc").mkdir()
    for path in (crawled.home / "warc").glob("*.warc.gz"):
        (tmp_path / "warc" / path.name).write_bytes(_without_article_metadata(path))
    rebuilt = tmp_path / "rebuilt.sqlite3"
    report = json.loads(
        crawled.cli(
            *("--db", f"sqlite:///{rebuilt}"),
            *("reindex", str(tmp_path / "warc"), "--format", "json"),
        )
    )
    assert report["renormalised"] == 1 and report["rejections"] == 1
    [(url, reason, _, _)] = _rejections(rebuilt)
    assert (url, reason) == (crawled.base_url + FUTURE.path, "future-date")


def test_reextract_rejects_a_future_article_catalogued_before_the_rule(
    crawled: Crawled, tmp_path: Path
) -> None:
    # A catalogue written before the rule holds the page as an article.
    home = tmp_path / "home"
    shutil.copytree(crawled.home, home)
    url = crawled.base_url + FUTURE.path
    [location] = [
        record.location
        for path in (home / "warc").glob("*.warc.gz")
        for record in scan_warc(path)
        if record.record_type == "response" and record.location.url == url
    ]
    article = normalise_page(*fetched(FUTURE), profile=RMZXB)  # no fetch time: no rule
    engine = make_engine(f"sqlite:///{home / 'catalogue.sqlite3'}")
    with make_session_factory(engine).begin() as session:
        save_article(
            session,
            article=replace(article, url=url),
            site="rmzxb",
            channel="yw",
            captures=[(1, location)],
            run_id=None,
        )
    engine.dispose()
    result = run_cli(
        "--home", str(home), "--seeds", str(crawled.seeds), "reextract", "--format", "json"
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["examined"] == 2 and report["unchanged"] == 1
    [failure] = report["failures"]
    assert failure["url"] == url
    assert failure["reason"].startswith("no longer normalises: future-date: ")
