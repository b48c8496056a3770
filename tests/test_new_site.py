"""A site nobody wrote code or a profile for: a seeds entry with its base_url and one channel
list is crawled with the generic profile, and the run says which fields it could not find.

The 河南 replica stands in for the new site, under a key no profile is bundled for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.normalise import fold_text
from replicas.hnzx import site as hnzx_site
from replicas.hnzx.articles import CHANNEL_ARTICLES, article_specs
from replicas.server import ReplicaServer
from tests.conftest import CliResult, run_cli, run_cli_reading

# All a user writes: no `profile`, no spider, a key of their choosing.
NEW_SITE = """\
[sites.xxzx]
name = "河南省政协"
base_url = "{base_url}"
download_delay = 0
autothrottle = false

[sites.xxzx.channels.news]
name = "政协要闻"
list = "/zxyw/"
"""


@dataclass
class Crawled:
    server: ReplicaServer
    home: Path
    seeds: Path
    crawl: CliResult

    def cli_json(self, *args: str) -> Any:
        result = run_cli_reading("--home", str(self.home), "--seeds", str(self.seeds), *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    home = tmp_path_factory.mktemp("new-site")
    with ReplicaServer(hnzx_site.build_site, hnzx_site.not_found_page) as server:
        seeds = home.parent / "new-site-seeds.toml"
        seeds.write_text(NEW_SITE.format(base_url=server.base_url), encoding="utf-8")
        crawl = run_cli("--home", str(home), "--seeds", str(seeds), "crawl", "xxzx")
        yield Crawled(server, home, seeds, crawl)


def test_the_new_site_is_crawled_from_its_seeds_entry_alone(crawled: Crawled) -> None:
    assert crawled.crawl.returncode == 0, crawled.crawl.stderr + crawled.crawl.stdout
    specs = {spec.key: spec for spec in article_specs()}
    listed = crawled.cli_json("articles", "--site", "xxzx", "--format", "json", "--limit", "100")
    expected = {
        crawled.server.base_url + specs[key].path: specs[key] for key in CHANNEL_ARTICLES["zxyw"]
    }
    assert {article["url"] for article in listed} == set(expected)
    for article in listed:
        spec = expected[article["url"]]
        assert article["title"] == fold_text(spec.title)
        # The replica prints the time to the minute: the generic profile reads it so.
        assert article["published_at"] == spec.published_at.isoformat(), article["url"]
        assert article["channel"] == "news"


def test_the_generic_profile_reads_the_body_and_the_source(crawled: Crawled) -> None:
    specs = {spec.key: spec for spec in article_specs()}
    key = CHANNEL_ARTICLES["zxyw"][0]
    url = crawled.server.base_url + specs[key].path
    shown = crawled.cli_json("show", url, "--format", "json")
    texts = [block for block in specs[key].blocks if isinstance(block, str)]
    assert shown["paragraphs"] == [fold_text(text) for text in texts]
    assert shown["source"] == specs[key].source


def test_the_run_says_which_fields_the_generic_profile_could_not_find(crawled: Crawled) -> None:
    # No page of the replica has an editor or keywords: the summary says so per channel.
    summary = crawled.crawl.stdout
    [line] = [line for line in summary.splitlines() if line.strip().startswith("xxzx/news:")]
    assert "missing" in line and "editor" in line and "keywords" in line


def test_every_page_is_in_the_warc_files(crawled: Crawled) -> None:
    uris = set()
    for path in sorted((crawled.home / "warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            uris |= {
                record.rec_headers["WARC-Target-URI"]
                for record in ArchiveIterator(stream)
                if record.rec_type in ("response", "revisit")
            }
    specs = {spec.key: spec for spec in article_specs()}
    for key in CHANNEL_ARTICLES["zxyw"]:
        assert crawled.server.base_url + specs[key].path in uris
