"""Tests for crawler/capture.py: a real Scrapy crawl, in a subprocess, against loopback HTTP."""

from __future__ import annotations

import gzip
import ipaddress
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from crawler.capture import WarcCaptureMiddleware, exchange_from

REPO = Path(__file__).resolve().parents[1]
GZIP_PAGE = gzip.compress("<html><body>全国政协</body></html>".encode(), mtime=0)
PAGE = b"<html><body>new home</body></html>"
COOKIE_PAGE = b"<html><body>cookies set</body></html>"


class ReplicaHandler(BaseHTTPRequestHandler):
    """One behaviour per path: gzip, a permanent redirect, two cookies, not found."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/gzip":
            self.reply(200, [("Content-Encoding", "gzip")], GZIP_PAGE)
        elif self.path == "/old":
            self.reply(301, [("Location", "/new")], b"")
        elif self.path == "/new":
            self.reply(200, [], PAGE)
        elif self.path == "/cookies":
            self.reply(
                200, [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; HttpOnly")], COOKIE_PAGE
            )
        elif self.path == "/same-as-new":
            self.reply(200, [], PAGE)
        else:
            self.reply(404, [], b"not here")

    def reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output quiet
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ReplicaHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


CRAWL_SCRIPT = """
import json, sys, warnings
import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.exceptions import ScrapyDeprecationWarning

warnings.simplefilter("error", ScrapyDeprecationWarning)
base, warc_dir, out = sys.argv[1:4]

class ReplicaSpider(scrapy.Spider):
    name = "replica"
    start_urls = [base + path for path in ("/gzip", "/old", "/cookies", "/missing")]

    def parse(self, response):
        location = response.meta["cppcc_capture"]
        yield {"url": response.url, "record_id": location.record_id, "status": location.status}
        if response.url.endswith("/new"):  # the same payload again, once /new is archived
            yield scrapy.Request(base + "/same-as-new", callback=self.parse_same)

    def parse_same(self, response):
        location = response.meta["cppcc_capture"]
        yield {"url": response.url, "record_id": location.record_id, "status": location.status}

    custom_settings = {"HTTPERROR_ALLOWED_CODES": [404]}

process = CrawlerProcess({
    "DOWNLOADER_MIDDLEWARES": {"crawler.capture.WarcCaptureMiddleware": 1000},
    "CPPCC_WARC_DIR": warc_dir,
    "CPPCC_WARC_OPERATOR": "tests@example.org",
    "ROBOTSTXT_OBEY": False,
    "COOKIES_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "LOG_LEVEL": "INFO",
    "FEEDS": {out + "/items.jsonl": {"format": "jsonlines"}},
})
crawler = process.create_crawler(ReplicaSpider)
process.crawl(crawler)
process.start()
stats = crawler.stats.get_stats()
with open(out + "/stats.json", "w") as f:
    json.dump({k: v for k, v in stats.items() if k.startswith(("cppcc/", "finish_reason"))}, f)
"""


def run_crawl(server: str, out: Path, warc_dir: Path) -> dict:
    """Run the replica crawl in a child process; return its log, items and stats."""
    script = out / "crawl.py"
    script.write_text(CRAWL_SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script), server, str(warc_dir), str(out)],
        cwd=out,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    stats = json.loads((out / "stats.json").read_text())
    return {"warc_dir": warc_dir, "log": result.stderr, "items": items, "stats": stats}


@pytest.fixture(scope="module")
def crawl(server: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("crawl")
    return run_crawl(server, out, out / "warc")


def read_records(warc_dir: Path) -> list:
    records = []
    for path in sorted(warc_dir.iterdir()):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream, check_digests="raise"):
                record.raw = record.raw_stream.read()
                records.append(record)
    return records


def responses_by_path(records: list, server: str) -> dict:
    return {
        r.rec_headers["WARC-Target-URI"].removeprefix(server): r
        for r in records
        if r.rec_type == "response"
    }


def test_crawl_leaves_closed_warc_files(crawl: dict) -> None:
    names = [path.name for path in crawl["warc_dir"].iterdir()]
    assert len(names) == 1
    assert names[0].startswith("CPPCC-") and names[0].endswith(".warc.gz")
    assert " ERROR:" not in crawl["log"]


def test_gzip_body_is_archived_as_sent(crawl: dict, server: str) -> None:
    response = responses_by_path(read_records(crawl["warc_dir"]), server)["/gzip"]

    assert response.raw == GZIP_PAGE
    assert response.http_headers["Content-Encoding"] == "gzip"
    assert response.rec_headers["WARC-IP-Address"] == "127.0.0.1"


def test_redirect_is_its_own_exchange_before_the_target(crawl: dict, server: str) -> None:
    records = read_records(crawl["warc_dir"])
    uris = [
        (r.rec_type, r.rec_headers["WARC-Target-URI"].removeprefix(server))
        for r in records
        if r.rec_type != "warcinfo"
    ]
    moved = responses_by_path(records, server)["/old"]

    assert moved.http_headers.statusline == "301 Moved Permanently"
    assert moved.http_headers["Location"] == "/new"
    assert ("request", "/old") in uris
    assert uris.index(("response", "/old")) < uris.index(("response", "/new"))


def test_every_cookie_and_the_404_are_kept(crawl: dict, server: str) -> None:
    responses = responses_by_path(read_records(crawl["warc_dir"]), server)
    cookies = [v for n, v in responses["/cookies"].http_headers.headers if n == "Set-Cookie"]

    assert cookies == ["a=1; Path=/", "b=2; HttpOnly"]
    assert responses["/missing"].http_headers.get_statuscode() == "404"
    assert responses["/missing"].raw == b"not here"


def test_callbacks_get_the_capture_location(crawl: dict, server: str) -> None:
    responses = responses_by_path(read_records(crawl["warc_dir"]), server)

    seen = {item["url"].removeprefix(server): item for item in crawl["items"]}
    assert set(seen) == {"/gzip", "/new", "/cookies", "/missing", "/same-as-new"}
    del seen["/same-as-new"]  # a revisit, below
    for path, item in seen.items():
        assert item["record_id"] == responses[path].rec_headers["WARC-Record-ID"]
    assert seen["/missing"]["status"] == 404


def test_stats_count_records_bytes_and_files(crawl: dict) -> None:
    (path,) = crawl["warc_dir"].iterdir()

    assert crawl["stats"]["cppcc/warc/records"] == 12  # six exchanges, redirect included
    assert crawl["stats"]["cppcc/warc/revisits"] == 1
    assert crawl["stats"]["cppcc/warc/files"] == 1
    assert crawl["stats"]["cppcc/warc/bytes"] == path.stat().st_size
    assert "cppcc/warc/errors" not in crawl["stats"]
    assert crawl["stats"]["finish_reason"] == "finished"


def test_a_payload_archived_before_is_a_revisit_of_it(crawl: dict, server: str) -> None:
    records = read_records(crawl["warc_dir"])
    original = responses_by_path(records, server)["/new"]
    (revisit,) = [r for r in records if r.rec_type == "revisit"]
    fields = revisit.rec_headers

    assert fields["WARC-Target-URI"] == server + "/same-as-new"
    assert fields["WARC-Profile"].endswith("/revisit/identical-payload-digest")
    assert fields["WARC-Refers-To"] == original.rec_headers["WARC-Record-ID"]
    assert fields["WARC-Refers-To-Target-URI"] == server + "/new"
    assert fields["WARC-Refers-To-Date"] == original.rec_headers["WARC-Date"]
    assert fields["WARC-Payload-Digest"] == original.rec_headers["WARC-Payload-Digest"]
    assert revisit.http_headers.get_statuscode() == "200"  # the revisit's own status and headers
    assert revisit.raw == b""  # the payload is the original's, not repeated


def test_write_error_stops_the_crawl(server: str, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "warc"
    not_a_folder.write_text("a file where the WARC folder should be")

    crawl = run_crawl(server, tmp_path, not_a_folder)

    assert crawl["stats"]["finish_reason"] == "warc_write_error"
    assert crawl["stats"]["cppcc/warc/errors"] >= 1
    assert "cppcc/warc/records" not in crawl["stats"]
    assert "Cannot archive" in crawl["log"] and "CPPCC_WARC_DIR" in crawl["log"]


def test_exchange_keeps_every_header_value() -> None:
    request = Request(
        "http://www.cppcc.gov.cn:8080/zxww/index.shtml",
        headers={"Accept-Encoding": "gzip, deflate", "X-Twice": ["1", "2"]},
    )
    response = HtmlResponse(
        request.url,
        status=302,
        headers={"Set-Cookie": ["a=1", "b=2"], "Location": "/x"},
        body=b"",
        request=request,
        ip_address=ipaddress.ip_address("10.1.2.3"),
    )

    exchange = exchange_from(request, response, datetime(2024, 5, 1, tzinfo=UTC))

    assert exchange.request_headers == [
        ("Accept-Encoding", "gzip, deflate"),
        ("X-Twice", "1"),
        ("X-Twice", "2"),
        ("Host", "www.cppcc.gov.cn:8080"),
    ]
    assert exchange.response_headers == [
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Location", "/x"),
    ]
    assert (exchange.protocol, exchange.status, exchange.reason) == ("HTTP/1.1", 302, "Found")
    assert exchange.ip_address == "10.1.2.3"
    assert exchange.truncated is None


def test_incomplete_body_is_marked_truncated() -> None:
    request = Request("http://www.cppcc.gov.cn/")
    response = HtmlResponse(request.url, body=b"<html>", flags=["dataloss"], request=request)

    exchange = exchange_from(request, response, datetime(2024, 5, 1, tzinfo=UTC))

    assert exchange.truncated == "disconnect"


def test_extension_is_off_without_a_warc_folder() -> None:
    with pytest.raises(NotConfigured, match="CPPCC_WARC_DIR"):
        WarcCaptureMiddleware.from_crawler(get_crawler(settings_dict={"CPPCC_WARC_DIR": ""}))


def test_warc_folder_defaults_to_the_homes(tmp_path: Path) -> None:
    # `scrapy crawl rmzxb -s CPPCC_HOME=/x` archives into /x/warc, beside /x's catalogue.
    crawler = get_crawler(settings_dict={"CPPCC_HOME": str(tmp_path)})
    extension = WarcCaptureMiddleware.from_crawler(crawler)
    assert extension.writer.directory == tmp_path / "warc"
