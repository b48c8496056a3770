"""A crawl's pages normalised in a process of its own: the same results as in Scrapy's
thread, and a process that dies costs no page (crawler/normalising.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.normalising import NormaliserCrashed, PageNormaliser
from pipelines.normalise import NormalisedPage, normalise_for_crawl, profile_named
from pipelines.processes import pid_is_alive
from pipelines.stats import NORMALISER_LOST
from replicas.rmzxb.articles import replica_articles
from replicas.rmzxb.site import LOGIN_PAGE_PATH, build_site, not_found_page
from replicas.server import ReplicaServer
from tests.conftest import REPLICA_SEEDS, GatedReplica, run_cli, start_cli
from tests.crashing_normaliser import CRASH_EXIT_CODE
from tests.faults import process_tree, wait_for

BASE = "http://127.0.0.1:1"
ROUTES = build_site(BASE)
PROFILE = profile_named("rmzxb")
HEADERS = [("Content-Type", "text/html; charset=utf-8")]
CRASHING = (sys.executable, "-m", "tests.crashing_normaliser")
Page = tuple[str, bytes]


def replica_pages() -> list[Page]:
    """Every page of the replica's articles, and pages that are none (a login page, a page
    off the article paths): what a crawl hands the normaliser."""
    pages = [(page.path, ROUTES[page.path].body) for a in replica_articles() for page in a.pages]
    return [*pages, (LOGIN_PAGE_PATH, ROUTES[LOGIN_PAGE_PATH].body), ("/x.html", b"<p>x</p>")]


def normalised(normaliser: PageNormaliser, pages: Sequence[Page]) -> list[NormalisedPage]:
    """What `normaliser` makes of `pages`, all given to it at once."""

    async def every_page() -> list[NormalisedPage]:
        return await asyncio.gather(
            *(
                normaliser.page(BASE + path, HEADERS, body, profile=PROFILE, fetched_at=None)
                for path, body in pages
            )
        )

    try:
        return asyncio.run(every_page())
    finally:
        normaliser.close()


def here(page: Page) -> NormalisedPage:
    return normalise_for_crawl(BASE + page[0], HEADERS, page[1], profile=PROFILE)


def comparable(result: NormalisedPage) -> tuple[object, ...]:
    rejected = result.rejected
    why = (type(rejected), rejected.url, rejected.detail) if rejected is not None else None
    return result.article, why, result.links


def test_pages_normalised_in_the_process_are_those_normalised_in_this_thread() -> None:
    pages = replica_pages()
    results = normalised(PageNormaliser(in_process=True), pages)
    assert [comparable(result) for result in results] == [comparable(here(p)) for p in pages]
    # Articles and rejections both crossed the pipe: the rejections kept their reasons.
    assert sum(result.article is not None for result in results) >= 10
    assert {type(result.rejected).__name__ for result in results} >= {
        "NoTitle",
        "NoDate",
        "NotAnArticleUrl",
    }


def test_a_page_that_kills_the_process_is_rejected_alone_and_the_others_are_normalised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = replica_pages()[:3]
    crash = ("/c/crash/0.shtml", good[0][1])
    lost: list[int] = []
    normaliser = PageNormaliser(True, on_lost=lambda: lost.append(1), command=CRASHING)
    results = normalised(normaliser, [good[0], crash, good[1], good[2]])

    assert [comparable(results[i]) for i in (0, 2, 3)] == [comparable(here(p)) for p in good]
    assert results[1].article is None and isinstance(results[1].rejected, NormaliserCrashed)
    assert results[1].rejected.reason == "normaliser-crashed"
    assert lost == [1]  # one process died under the pages: replaced once, said once
    assert f"exit code {CRASH_EXIT_CODE}" in caplog.text and "/c/crash/0.shtml" in caplog.text
    # The replacement works on: pages after it are normalised as before.
    after = normalised(PageNormaliser(True, command=CRASHING), good[:1])
    assert comparable(after[0]) == comparable(here(good[0]))


def test_a_normalising_process_killed_mid_crawl_is_replaced_and_no_article_is_lost(
    tmp_path: Path,
) -> None:
    articles = {article.key: article for article in replica_articles()}
    held = articles["author"].pages[0].path  # an article of xs, held until the kill is done
    reference, home = tmp_path / "reference", tmp_path / "home"
    with ReplicaServer(build_site, not_found_page) as server:
        uninterrupted = run_cli(*_crawl_of_xs(server, reference))
    with GatedReplica(held) as server:
        crawl = start_cli(*_crawl_of_xs(server, home))
        try:
            process = wait_for(lambda: _normaliser_of(crawl.pid), what="the normalising process")
            assert isinstance(process, int)
            os.kill(process, signal.SIGKILL)
            wait_for(lambda: not pid_is_alive(process), what="the killed process to go")
        finally:
            server.gate.set()
            out, err = crawl.communicate(timeout=120)

    assert crawl.returncode == uninterrupted.returncode, err
    assert out.splitlines()[1] == uninterrupted.stdout.splitlines()[1]  # the same counts
    assert _catalogued(home) == _catalogued(reference)
    assert held in _catalogued(home)
    assert "normalising process ended" in _log(home) and _stat(home, NORMALISER_LOST) == 1


def _crawl_of_xs(server: ReplicaServer, home: Path) -> tuple[str, ...]:
    seeds = home.parent / f"{home.name}-seeds.toml"
    seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
    return ("--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/xs")


def _normaliser_of(pid: int) -> int | None:
    """The normalising process under `pid`, once the crawl has started it."""
    for member in process_tree(pid):
        try:
            command = Path(f"/proc/{member}/cmdline").read_bytes()
        except OSError:
            continue
        if b"pipelines.normalise.process" in command:
            return member
    return None


def _catalogued(home: Path) -> list[str]:
    result = run_cli("--home", str(home), "articles", "--limit", "0", "--format", "json")
    assert result.returncode == 0, result.stderr
    return sorted(urlsplit(article["url"]).path for article in json.loads(result.stdout))


def _log(home: Path) -> str:
    return "".join(path.read_text(encoding="utf-8") for path in (home / "logs").glob("*.log"))


def _stat(home: Path, name: str) -> int:
    """The value the crawl's stats give `name`, from its report's last line."""
    [report] = (home / "logs").glob("*.report.jsonl")
    finished = json.loads(report.read_text(encoding="utf-8").splitlines()[-1])
    return int(finished["stats"].get(name, 0))
