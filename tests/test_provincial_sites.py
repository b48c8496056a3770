"""Two provincial sites, 上海政协 (GB2312, TRS-style) and 广东省政协 (UTF-8, another template):
their replicas over HTTP, and crawls of them from seeds entries and profiles alone."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from parsel import Selector
from w3lib.encoding import html_to_unicode
from warcio.archiveiterator import ArchiveIterator

from pipelines.normalise import fold_text
from replicas.gdszx import site as gdszx_site
from replicas.gdszx.articles import CHANNELS as GDSZX_CHANNELS
from replicas.gdszx.articles import SECTION as GDSZX_SECTION
from replicas.gdszx.articles import GdszxArticle
from replicas.gdszx.articles import channel_articles as gdszx_channel
from replicas.gdszx.articles import replica_articles as gdszx_articles
from replicas.server import ReplicaServer
from replicas.shszx import site as shszx_site
from replicas.shszx.articles import CHANNELS as SHSZX_CHANNELS
from replicas.shszx.articles import HOMEPAGE_FRAGMENT, ShszxArticle, resource
from replicas.shszx.articles import channel_articles as shszx_channel
from replicas.shszx.articles import replica_articles as shszx_articles
from replicas.sites import REPLICA_SITES
from tests.conftest import (
    SHARED_REFERENCE,
    CliResult,
    assert_clean_warc_files,
    run_cli,
    run_cli_in_process,
)

RARE = "镕堃喆"  # in GBK and GB18030, not in GB2312


@dataclass(frozen=True)
class Fetched:
    """A page as a browser gets it: status, Content-Type, bytes, and the text they decode to."""

    status: int
    content_type: str
    body: bytes
    encoding: str = ""
    text: str = ""
    headers: Message = field(default_factory=Message)


def fetch(url: str) -> Fetched:
    with urllib.request.urlopen(url, timeout=10) as reply:
        body = reply.read()
        content_type = reply.headers.get("Content-Type", "")
        if not content_type.startswith("text/html"):
            return Fetched(reply.status, content_type, body, headers=reply.headers)
        # Decoded as Scrapy decodes it: the declared gb2312 read as GB18030.
        encoding, text = html_to_unicode(content_type, body)
        return Fetched(reply.status, content_type, body, encoding, text, reply.headers)


@pytest.fixture(scope="module")
def shszx() -> Iterator[ReplicaServer]:
    with ReplicaServer(shszx_site.build_site, shszx_site.not_found_page) as server:
        yield server


@pytest.fixture(scope="module")
def gdszx() -> Iterator[ReplicaServer]:
    with ReplicaServer(gdszx_site.build_site, gdszx_site.not_found_page) as server:
        yield server


def walk_list(
    server: ReplicaServer, first: str, items: str
) -> tuple[list[str], list[str], list[str]]:
    """Follow a channel's 下一页 links from its first list page: the pages walked, the item
    links they list (absolute, resolved against the page) and every other link they hold."""
    walked, listed, others = [], [], []
    url: str | None = server.base_url + first
    while url and url not in walked:
        page = fetch(url)
        assert page.status == 200, url
        walked.append(url)
        selector = Selector(text=page.text)
        links = [urljoin(url, href) for href in selector.css(items).getall()]
        listed += links
        others += [urljoin(url, href) for href in selector.css("a::attr(href)").getall()]
        following = selector.xpath('//a[normalize-space(.)="下一页"]/@href').get()
        url = urljoin(url, following) if following else None
    return walked, listed, [link for link in others if link not in listed]


# -- 上海政协: the replica ------------------------------------------------------------------------


def test_shszx_ships_the_saved_homepage_head_as_it_is() -> None:
    # The replica ships its own copy (replica serve runs where ../shared is not): no drift.
    saved = SHARED_REFERENCE / "pages" / "shszx_homepage_head.fragment.html"
    if not saved.exists():
        pytest.skip(f"{saved} is not beside this checkout: nothing to compare with")
    assert resource(HOMEPAGE_FRAGMENT) == saved.read_text("utf-8")


def test_shszx_pages_open_with_the_saved_homepage_markup(shszx: ReplicaServer) -> None:
    fragment = resource(HOMEPAGE_FRAGMENT)
    home = fetch(shszx.base_url + "/")
    assert home.text.startswith(fragment)
    chrome = fragment.split("<body>\n", 1)[1]  # #container, #header, the skip links to mainNav
    article = shszx_articles()[0]
    for path in (article.path, shszx_site.list_page_path("zxyw", 1)):
        page = fetch(shszx.base_url + path)
        assert chrome in page.text, path
        selector = Selector(text=page.text)
        assert selector.css("#container > #header #skip a::text").getall()[0] == "无障碍操作说明"
        assert selector.css("#mainNav a")
        css = selector.css('link[rel="stylesheet"]::attr(href)').get()
        assert css == "/images/zx201405/zhengxie/css/zhengxie2.css"


def test_shszx_pages_say_gb2312_and_hold_gbk_characters(shszx: ReplicaServer) -> None:
    html_paths = [p for p, r in shszx.routes.items() if r.headers[0][1].startswith("text/html")]
    assert len(html_paths) > len(shszx_articles())
    for path in html_paths:
        page = fetch(shszx.base_url + path)
        assert page.content_type == "text/html; charset=gb2312", path
        assert 'content="text/html; charset=gb2312"' in page.text, path
        assert page.encoding == "gb18030", path
    [rare] = [a for a in shszx_articles() if any(ch in a.title for ch in RARE)]
    page = fetch(shszx.base_url + rare.path)
    with pytest.raises(UnicodeDecodeError):
        page.body.decode("gb2312")  # strictly GB2312, the page would not decode
    title = Selector(text=page.text).css("h2#ivs_title::text").get()
    assert title == rare.title and "镕" in title and "堃" in title
    assert all(char in page.text for char in RARE)


@pytest.mark.parametrize("channel", list(SHSZX_CHANNELS))
def test_shszx_lists_walk_by_their_next_page_link_to_index_1(
    shszx: ReplicaServer, channel: str
) -> None:
    walked, listed, others = walk_list(
        shszx, shszx_site.list_page_path(channel, 1), "ul.list-date li a::attr(href)"
    )
    folder = SHSZX_CHANNELS[channel][1]
    # TRS numbers the second list page 1.
    assert walked == [shszx.base_url + folder + name for name in ("index.html", "index_1.html")]
    assert listed == [shszx.base_url + a.path for a in shszx_channel(channel)]
    assert len(listed) == 12
    # Beside the list, the 热点推荐 box links articles of the other channel.
    article_paths = {a.path for a in shszx_articles()}
    beside = [link for link in others if urlsplit(link).path in article_paths]
    assert beside and not any(urlsplit(link).path.startswith(folder) for link in beside)


def test_shszx_articles_link_their_pages_pictures_and_files(shszx: ReplicaServer) -> None:
    articles = shszx_articles()
    assert sum(len(a.pictures) for a in articles) >= 3
    assert any(len(a.pages) > 1 for a in articles) and any(a.attachments for a in articles)
    for article in articles:
        for number, path in enumerate(article.page_paths, 1):
            url = shszx.base_url + path
            selector = Selector(text=fetch(url).text)
            linked = {
                urljoin(url, src) for src in selector.css("#ivs_content img::attr(src)").getall()
            }
            wanted = {shszx.base_url + p for p in article.page_pictures(number)}
            assert linked == wanted, path
            pager = {urljoin(url, h) for h in selector.css("#pagenav a::attr(href)").getall()}
            others = {shszx.base_url + p for p in article.page_paths if p != path}
            assert pager == others, path
            files = {urljoin(url, h) for h in selector.css("div.fujian a::attr(href)").getall()}
            last = number == len(article.pages)
            assert files == (
                {shszx.base_url + p for p in article.attachment_paths} if last else set()
            )
            for link in linked | pager | files:
                assert fetch(link).status == 200, link
    [notice] = [a for a in articles if a.attachments]
    attachment = fetch(shszx.base_url + notice.attachment_paths[0])
    assert attachment.content_type == "application/pdf" and attachment.body.startswith(b"%PDF")


# -- 广东省政协: the replica ----------------------------------------------------------------------


@pytest.mark.parametrize("channel", list(GDSZX_CHANNELS))
def test_gdszx_lists_walk_to_index_2_and_link_absolute_urls(
    gdszx: ReplicaServer, channel: str
) -> None:
    first = gdszx_site.list_page_path(channel, 1)
    walked, listed, others = walk_list(gdszx, first, "ul.news_list li > a::attr(href)")
    folder = GDSZX_CHANNELS[channel][1]
    assert walked == [gdszx.base_url + folder + name for name in ("index.html", "index_2.html")]
    assert listed == [gdszx.base_url + a.path for a in gdszx_channel(channel)]
    raw = Selector(text=fetch(gdszx.base_url + first).text)
    assert all(h.startswith(gdszx.base_url) for h in raw.css("ul.news_list a::attr(href)").getall())
    beside = [link for link in others if "/content/post_" in link]
    assert beside and not any(urlsplit(link).path.startswith(folder) for link in beside)


def test_gdszx_pages_are_utf8_with_a_time_line_to_the_second(gdszx: ReplicaServer) -> None:
    for channel in GDSZX_CHANNELS:
        for article in gdszx_channel(channel):
            page = fetch(gdszx.base_url + article.path)
            assert page.content_type == "text/html; charset=utf-8"
            assert page.encoding == "utf-8"
            selector = Selector(text=page.text)
            assert selector.css("h3.article_title::text").get() == article.title
            line = selector.css("div.article_info span.time::text").get()
            assert line == f"时间：{article.published_at:%Y-%m-%d %H:%M:%S}"
            for path, _ in article.pictures:
                assert fetch(gdszx.base_url + path).content_type == "image/png"


# -- crawls: each site from its seeds entry and bundled profile, through the command line -------

SHSZX = {article.key: article for article in shszx_articles()}
GDSZX = {article.key: article for article in gdszx_articles()}
# TRS writes page 2 of a long article as t…_<id>_1.html, which the profile format reads as page 1
# (no way yet to say a site numbers its later pages from 0): that page is not fetched.
TRS_SECOND_PAGE = SHSZX["two_pages"].page_path(2)


@dataclass
class Crawl:
    """One `cppcc-archive crawl` of replicas into an archive home, and what it left there."""

    home: Path
    seeds: Path
    result: CliResult

    def cli(self, *args: str) -> Any:
        result = run_cli_in_process("--home", str(self.home), "--seeds", str(self.seeds), *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def articles(self, site: str) -> dict[str, dict[str, Any]]:
        """The site's catalogued articles by URL, each as `show` prints it."""
        listed = self.cli("articles", "--site", site, "--format", "json", "--limit", "0")
        urls = [article["url"] for article in listed]
        assert len(urls) == len(set(urls)), "an article catalogued twice"
        return {url: self.cli("show", url) for url in urls}

    def responses(self) -> dict[str, tuple[Any, bytes]]:
        """Response records by target URI, with their payload as the server sent it."""
        found = {}
        for path in sorted((self.home / "warc").glob("*.warc.gz")):
            with path.open("rb") as stream:
                for record in ArchiveIterator(stream):
                    if record.rec_type == "response":
                        uri = record.rec_headers["WARC-Target-URI"]
                        found[uri] = (record, record.raw_stream.read())
        return found


def crawl(tmp: Path, seeds_text: str, *sites: str) -> Crawl:
    seeds = tmp / "seeds.toml"
    seeds.write_text(seeds_text, encoding="utf-8")
    home = tmp / "home"
    return Crawl(home, seeds, run_cli("--home", str(home), "--seeds", str(seeds), "crawl", *sites))


@pytest.fixture(scope="module")
def crawled(
    shszx: ReplicaServer, gdszx: ReplicaServer, tmp_path_factory: pytest.TempPathFactory
) -> Crawl:
    """Both replicas crawled with the seeds `replica serve` prints for them: no more than a
    seeds entry each, their profiles being bundled (seeds/profiles/shszx.toml, gdszx.toml)."""
    seeds = "\n".join(
        REPLICA_SITES[key].seeds.format(base_url=server.base_url)
        for key, server in (("shszx", shszx), ("gdszx", gdszx))
    )
    return crawl(tmp_path_factory.mktemp("provincial"), seeds, "shszx", "gdszx")


def test_both_crawls_finish_without_errors(crawled: Crawl) -> None:
    assert crawled.result.returncode == 0, crawled.result.stderr + crawled.result.stdout
    assert "HTTP errors 0, errors 0" in crawled.result.stdout
    for site in ("shszx", "gdszx"):
        [log] = (crawled.home / "logs").glob(f"run-*-{site}.log")
        errors = [line for line in log.read_text("utf-8").splitlines() if " ERROR: " in line]
        assert not errors, errors


def test_every_channel_is_walked_to_its_end_in_one_crawl(crawled: Crawl) -> None:
    # 广东's last list page links 下一页 to itself, as many CMS pagers do: no next page, and
    # the walk is complete (it stayed "walked to page 2 of 2" for ever before).
    backlogs = {
        row["channel"]: row["backlog"] for row in crawled.cli("schedule", "--format", "json")
    }
    assert backlogs == dict.fromkeys(backlogs, "complete") and len(backlogs) == 4, backlogs


def test_the_profiles_find_every_field_themselves(crawled: Crawl) -> None:
    # No field left to the generic fallbacks: each profile has selectors for all its pages show.
    for run in crawled.cli("runs", "--format", "json"):
        coverage = run["coverage"]
        assert coverage["channels"] and coverage["rejected"] == {}, run
        for ref, channel in coverage["channels"].items():
            assert channel["articles"] > 0 and channel["fallback"] == {}, (ref, channel)


def test_every_shszx_article_is_catalogued_as_the_replica_shows_it(
    crawled: Crawl, shszx: ReplicaServer
) -> None:
    catalogued = crawled.articles("shszx")
    assert set(catalogued) == {shszx.base_url + a.path for a in SHSZX.values()}
    for article in SHSZX.values():
        shown = catalogued[shszx.base_url + article.path]
        assert shown["channel"] == article.channel  # not the channel whose 热点推荐 box links it
        assert shown["title"] == fold_text(article.title)
        # To the minute, in Beijing time, as the page's 发布时间 says.
        assert shown["published_at"] == article.published_at.isoformat()
        assert shown["published_at"].endswith(":00+08:00")
        assert shown["source"] == article.source
        assert shown["author"] == article.author
        assert shown["section"] == ["新闻中心", SHSZX_CHANNELS[article.channel][0]]
        pictures = [(image["url"], image["caption"]) for image in shown["images"]]
        assert pictures == [(shszx.base_url + p, fold_text(c)) for p, c in article.pictures]
        files = [shszx.base_url + path for path in article.attachment_paths]
        assert shown["attachments"] == files
        # Both pages of two_pages: TRS numbers page 2 `_1` (second_page_suffix in the profile).
        assert shown["paragraphs"] == [fold_text(p) for p in article.paragraphs]


def test_gbk_characters_on_a_gb2312_page_read_right_and_are_archived_as_sent(
    crawled: Crawl, shszx: ReplicaServer
) -> None:
    article = SHSZX["rare_names"]
    url = shszx.base_url + article.path
    shown = crawled.cli("show", url)
    assert all(char in shown["title"] + "".join(shown["paragraphs"]) for char in RARE)
    assert shown["paragraphs"] == [fold_text(p) for p in article.paragraphs]
    record, payload = crawled.responses()[url]
    assert record.http_headers.get_header("Content-Type") == "text/html; charset=gb2312"
    assert payload == shszx.routes[article.path].body and "镕".encode("gb18030") in payload


def test_every_gdszx_article_is_catalogued_as_the_replica_shows_it(
    crawled: Crawl, gdszx: ReplicaServer
) -> None:
    catalogued = crawled.articles("gdszx")
    assert set(catalogued) == {gdszx.base_url + a.path for a in GDSZX.values()}
    for article in GDSZX.values():
        shown = catalogued[gdszx.base_url + article.path]
        assert shown["channel"] == article.channel
        assert shown["title"] == fold_text(article.title)
        # To the second, as its time line says (its PubDate meta stops at the minute).
        assert shown["published_at"] == article.published_at.isoformat()
        assert shown["source"] == article.source
        assert shown["section"] == [GDSZX_SECTION, GDSZX_CHANNELS[article.channel][0]]
        assert shown["paragraphs"] == [fold_text(p) for p in article.paragraphs]
        pictures = [(image["url"], image["caption"]) for image in shown["images"]]
        assert pictures == [(gdszx.base_url + p, fold_text(c)) for p, c in article.pictures]
    assert any(article.published_at.second for article in GDSZX.values())


def _fetched_paths(
    lists: list[str], articles: list[ShszxArticle] | list[GdszxArticle]
) -> list[str]:
    """The list pages, then every page, picture and attachment of the articles."""
    files = [
        (*article.page_paths, *(path for path, _ in article.pictures), *article.attachment_paths)
        for article in articles
    ]
    return lists + [path for paths in files for path in paths]


def test_the_warc_files_hold_every_page_as_sent(
    crawled: Crawl, shszx: ReplicaServer, gdszx: ReplicaServer
) -> None:
    assert_clean_warc_files(crawled.home)
    responses = crawled.responses()
    sites: list[tuple[ReplicaServer, Any, list[ShszxArticle] | list[GdszxArticle]]] = [
        (shszx, shszx_site, list(SHSZX.values())),
        (gdszx, gdszx_site, list(GDSZX.values())),
    ]
    for server, site, articles in sites:
        channels = SHSZX_CHANNELS if site is shszx_site else GDSZX_CHANNELS
        lists = [
            site.list_page_path(key, number)
            for key in channels
            for number in range(1, site.list_page_count(key) + 1)
        ]
        for path in _fetched_paths(lists, articles):
            record, payload = responses[server.base_url + path]
            assert payload == server.routes[path].body, path
            sent = server.routes[path].headers[0][1]
            assert record.http_headers.get_header("Content-Type") == sent, path


def test_trs_second_pages_are_read(crawled: Crawl, shszx: ReplicaServer) -> None:
    article = SHSZX["two_pages"]
    assert shszx.base_url + TRS_SECOND_PAGE in crawled.responses()
    shown = crawled.cli("show", shszx.base_url + article.path)
    assert shown["paragraphs"] == [fold_text(p) for p in article.paragraphs]


# -- crawls with no profile: a seeds entry alone, the generic extractor --------------------------


def _seeds_without_profile(key: str, server: ReplicaServer, replica: str) -> str:
    """The replica's seeds entry under a key no profile is bundled for."""
    return (
        REPLICA_SITES[replica]
        .seeds.format(base_url=server.base_url)
        .replace(f"sites.{replica}", f"sites.{key}")
    )


def test_shszx_is_crawled_from_a_seeds_entry_alone(shszx: ReplicaServer, tmp_path: Path) -> None:
    """What the generic extractor gets right on a TRS site it has no profile for. Not asserted,
    as it gets them wrong: the 热点推荐 box's articles land in the channel whose list links
    them first, and the breadcrumb (section) is not found."""
    done = crawl(tmp_path, _seeds_without_profile("shanghai", shszx, "shszx"), "shanghai")
    assert done.result.returncode == 0, done.result.stderr + done.result.stdout
    catalogued = done.articles("shanghai")
    assert set(catalogued) == {shszx.base_url + a.path for a in SHSZX.values()}
    for article in SHSZX.values():
        shown = catalogued[shszx.base_url + article.path]
        assert shown["title"] == fold_text(article.title)
        assert shown["published_at"] == article.published_at.isoformat()
        assert shown["source"] == article.source
        assert shown["author"] == article.author
        pictures = [(image["url"], image["caption"]) for image in shown["images"]]
        assert pictures == [(shszx.base_url + p, fold_text(c)) for p, c in article.pictures]
        # The generic profile's TRS pattern reads page 2 (`_1`) too.
        assert shown["paragraphs"] == [fold_text(p) for p in article.paragraphs]
        assert shown["attachments"] == [shszx.base_url + path for path in article.attachment_paths]


def test_gdszx_is_crawled_from_a_seeds_entry_alone(gdszx: ReplicaServer, tmp_path: Path) -> None:
    done = crawl(tmp_path, _seeds_without_profile("guangdong", gdszx, "gdszx"), "guangdong")
    assert done.result.returncode == 0, done.result.stdout
    catalogued = done.articles("guangdong")
    assert set(catalogued) == {gdszx.base_url + a.path for a in GDSZX.values()}
    # Written apart from the generic extractor: a held-out check of it, field by field.
    for article in GDSZX.values():
        shown = catalogued[gdszx.base_url + article.path]
        assert shown["title"] == fold_text(article.title)
        assert shown["published_at"] == article.published_at.isoformat()  # to the second
        assert shown["source"] == article.source
        assert shown["paragraphs"] == [fold_text(p) for p in article.paragraphs]
        pictures = [(image["url"], image["caption"]) for image in shown["images"]]
        assert pictures == [(gdszx.base_url + p, fold_text(c)) for p, c in article.pictures]
