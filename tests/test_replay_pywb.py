"""Replay through pywb: WARC files from WarcWriter, indexed by index_warc, served by `wayback`.

What pywb 2.x does with a `Content-Encoding: gzip` body in `id_` (identity) mode depends on
the client's Accept-Encoding (pywb/rewrite/content_rewriter.py, `__call__`): when the client
accepts the recorded encoding, the body is the archived bytes, still gzip, under the original
`Content-Encoding: gzip`; when it does not (urllib sends `Accept-Encoding: identity`), pywb
decodes the body and renames the header to `X-Archive-Orig-Content-Encoding`, so the client
gets a body it can read and still learns how the server sent it. Either way nothing else of
the payload changes, which is what an archivist asks of `id_`.
"""

from __future__ import annotations

import gzip
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.warc.cdxj import index_warc
from pipelines.warc.location import RecordLocation
from pipelines.warc.records import Original
from tests.pywb_tools import pywb_tool
from tests.test_warc_writer import FETCHED_AT, GZIP_BODY, make_exchange, make_writer

COLLECTION = "cppcc"
TIMESTAMP = FETCHED_AT.strftime("%Y%m%d%H%M%S")
LATER = FETCHED_AT + timedelta(days=1)
LATER_TIMESTAMP = LATER.strftime("%Y%m%d%H%M%S")
PAGE_URL = "http://www.rmzxb.com.cn/c/2024-05-01/plain.shtml"
GZIP_URL = "http://www.rmzxb.com.cn/c/2024-05-01/gzip.shtml"
PICTURE_URL = "http://www.rmzxb.com.cn/images/2024-05/photo.jpg"
PAGE = "<html><head><title>要闻</title></head><body><p>政协新闻</p></body></html>".encode()
PICTURE = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 4 + b"\xff\xd9"
START_TIMEOUT = 60.0  # seconds for pywb to answer; it loads gevent and its templates first


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def exchange(url: str, content_type: str, body: bytes, *headers: tuple[str, str]):
    response_headers = [
        ("Content-Type", content_type),
        *headers,
        ("Content-Length", str(len(body))),
    ]
    return make_exchange(url, response_headers=response_headers, body=body)


def write_archive(warc_dir: Path) -> None:
    """Three captures, and a day later a revisit of two of them: same bytes, and a 304."""
    with make_writer(warc_dir) as writer:
        page = writer.write_exchange(exchange(PAGE_URL, "text/html; charset=utf-8", PAGE))
        gzip_page = exchange(
            GZIP_URL, "text/html; charset=utf-8", GZIP_BODY, ("Content-Encoding", "gzip")
        )
        writer.write_exchange(gzip_page)
        picture = writer.write_exchange(exchange(PICTURE_URL, "image/jpeg", PICTURE))
        again = exchange(PAGE_URL, "text/html; charset=utf-8", PAGE)
        writer.write_exchange(replace(again, fetched_at=LATER), _original(page))
        not_modified = replace(
            exchange(PICTURE_URL, "image/jpeg", b"", ("ETag", '"p1"')),
            status=304,
            reason="Not Modified",
            fetched_at=LATER,
        )
        writer.write_exchange(not_modified, _original(picture))


def _original(location: RecordLocation) -> Original:
    return Original(location.record_id, location.url, location.fetched_at, location.payload_digest)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str, **headers: str) -> Reply:
    # No proxy: a proxy set in the environment must not stand between us and loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, dict(error.headers), error.read())


def wait_until_answering(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"wayback exited with {process.returncode}:\n{log.read_text()}")
        try:
            fetch(base + "/")
            return
        except OSError:  # not listening yet
            time.sleep(0.2)
    pytest.fail(f"wayback did not answer within {START_TIMEOUT} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def wayback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """pywb serving one collection of our WARC file and index; yields the collection's URL."""
    root = tmp_path_factory.mktemp("pywb")
    warc_dir, index_dir = root / "warc", root / "indexes"
    write_archive(warc_dir)
    for warc in warc_dir.glob("*.warc.gz"):
        index_warc(warc, index_dir)
    (root / "config.yaml").write_text(
        f"collections:\n  {COLLECTION}:\n"
        f"    index_paths: {index_dir}/\n"
        f"    archive_paths: {warc_dir}/\n"
    )
    port, log = free_port(), root / "wayback.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [str(pywb_tool("wayback")), "--bind", "127.0.0.1", "--port", str(port)],
            cwd=root,  # wayback reads ./config.yaml
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(base, process, log)
        yield f"{base}/{COLLECTION}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def replay(wayback: str, url: str, timestamp: str = TIMESTAMP, **headers: str) -> Reply:
    return fetch(f"{wayback}/{timestamp}id_/{url}", **headers)


def test_html_page_is_replayed_byte_for_byte(wayback: str) -> None:
    reply = replay(wayback, PAGE_URL)

    assert reply.status == 200
    assert reply.body == PAGE
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"


def test_picture_is_replayed_byte_for_byte(wayback: str) -> None:
    reply = replay(wayback, PICTURE_URL)

    assert (reply.status, reply.headers["Content-Type"]) == (200, "image/jpeg")
    assert reply.body == PICTURE


def test_gzip_body_is_the_archived_bytes_for_a_client_that_accepts_gzip(wayback: str) -> None:
    reply = replay(wayback, GZIP_URL, **{"Accept-Encoding": "gzip"})

    assert reply.status == 200
    assert reply.headers["Content-Encoding"] == "gzip"
    assert reply.body == GZIP_BODY


def test_gzip_body_is_decoded_for_a_client_that_does_not(wayback: str) -> None:
    reply = replay(wayback, GZIP_URL)  # urllib sends Accept-Encoding: identity

    assert reply.status == 200
    assert "Content-Encoding" not in reply.headers
    assert reply.headers["X-Archive-Orig-Content-Encoding"] == "gzip"
    assert reply.body == gzip.decompress(GZIP_BODY)


def test_an_unarchived_url_is_not_found(wayback: str) -> None:
    reply = replay(wayback, "http://www.rmzxb.com.cn/never-fetched.shtml")

    assert reply.status == 404


def test_a_revisit_of_the_same_bytes_replays_the_original_payload(wayback: str) -> None:
    reply = replay(wayback, PAGE_URL, LATER_TIMESTAMP)

    assert reply.status == 200
    assert reply.body == PAGE
    assert reply.headers["Memento-Datetime"] == "Thu, 02 May 2024 08:00:00 GMT"


def test_a_304_revisit_replays_the_page_it_stands_for(wayback: str) -> None:
    reply = replay(wayback, PICTURE_URL, LATER_TIMESTAMP)

    assert (reply.status, reply.headers["Content-Type"]) == (200, "image/jpeg")
    assert reply.body == PICTURE
    assert reply.headers["Memento-Datetime"] == "Thu, 02 May 2024 08:00:00 GMT"
