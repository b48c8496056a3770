"""Tests for pipelines.warc.writer: golden bytes, read-back, rotation, naming, warcio tools."""

from __future__ import annotations

import gzip
import io
import re
import subprocess
import sys
import zlib
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.warc.exchange import HttpExchange
from pipelines.warc.writer import WarcWriteError, WarcWriter

WARCIO = str(Path(sys.executable).with_name("warcio"))
FETCHED_AT = datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=UTC)
OPENED_AT = datetime(2024, 5, 1, 8, 0, 1, 987654, tzinfo=UTC)
# gzip.compress("<html><body>政协新闻</body></html>".encode(), mtime=0), frozen as bytes so the
# golden file does not depend on the zlib build.
GZIP_BODY = (
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xb3\xc9(\xc9\xcd\xb1\xb3I\xcaO\xa9\xb4{6e\xff"
    b"\xd3\xde\xfeg\xd36\xbc\x9c\xbe\xdbF\x1f,d\xa3\x0f\x96\x07\x00\xa5\x85\x13d&\x00\x00\x00"
)
GOLDEN_NAME = "CPPCC-20240501080001987-00000-4242~crawler.test~0.warc.gz"


def fixed_ids():
    numbers = count(1)
    return lambda: f"<urn:uuid:00000000-0000-4000-8000-{next(numbers):012d}>"


def make_writer(directory: Path, **options) -> WarcWriter:
    defaults = {
        "clock": lambda: OPENED_AT,
        "new_record_id": fixed_ids(),
        "hostname": "crawler.test",
        "pid": 4242,
        "software": "cppcc-archive/0.0.0",
        "warcinfo": {"operator": "archivist@example.org", "isPartOf": "cppcc"},
    }
    return WarcWriter(directory, **(defaults | options))


def make_exchange(url: str = "http://www.rmzxb.com.cn/c/2024-05-01/1.shtml", **changes):
    values = {
        "url": url,
        "method": "GET",
        "request_headers": [("User-Agent", "cppcc-archive"), ("Host", "www.rmzxb.com.cn")],
        "request_body": b"",
        "protocol": "HTTP/1.1",
        "status": 200,
        "reason": "OK",
        "response_headers": [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Encoding", "gzip"),
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; HttpOnly"),
            ("Content-Length", str(len(GZIP_BODY))),
        ],
        "body": GZIP_BODY,
        "fetched_at": FETCHED_AT,
        "ip_address": "10.0.0.7",
    }
    return HttpExchange(**(values | changes))


def records_of(path: Path) -> list:
    """Every record of a WARC file, digests checked, with its raw payload read out."""
    with open(path, "rb") as stream:
        records = []
        for record in ArchiveIterator(stream, check_digests="raise"):
            record.raw = record.raw_stream.read()
            records.append(record)
        return records


EXPECTED_WARC = (
    b"WARC/1.1\r\n"
    b"WARC-Type: warcinfo\r\n"
    b"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
    b"WARC-Date: 2024-05-01T08:00:01.987654Z\r\n"
    b"WARC-Filename: " + GOLDEN_NAME.encode() + b"\r\n"
    b"Content-Type: application/warc-fields\r\n"
    b"WARC-Block-Digest: sha1:GYYJSIN3LELFLHWMX2TZKCVIV3KJMSRT\r\n"
    b"Content-Length: 227\r\n"
    b"\r\n"
    b"software: cppcc-archive/0.0.0\r\n"
    b"format: WARC File Format 1.1\r\n"
    b"conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n"
    b"hostname: crawler.test\r\n"
    b"operator: archivist@example.org\r\n"
    b"isPartOf: cppcc\r\n"
    b"\r\n"
    b"\r\n"
    b"WARC/1.1\r\n"
    b"WARC-Type: response\r\n"
    b"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000002>\r\n"
    b"WARC-Date: 2024-05-01T08:00:00.123456Z\r\n"
    b"WARC-Target-URI: http://www.rmzxb.com.cn/c/2024-05-01/1.shtml\r\n"
    b"WARC-IP-Address: 10.0.0.7\r\n"
    b"WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
    b"Content-Type: application/http; msgtype=response\r\n"
    b"WARC-Block-Digest: sha1:NVRYSADK2AJZOGJIBA7DRS2VK6SB5N43\r\n"
    b"WARC-Payload-Digest: sha1:WXS5SBIUR2ZAHYW2H6IAXBD7W3QMEXNO\r\n"
    b"Content-Length: 208\r\n"
    b"\r\n"
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"Content-Encoding: gzip\r\n"
    b"Set-Cookie: a=1; Path=/\r\n"
    b"Set-Cookie: b=2; HttpOnly\r\n"
    b"Content-Length: 53\r\n"
    b"\r\n" + GZIP_BODY + b"\r\n"
    b"\r\n"
    b"WARC/1.1\r\n"
    b"WARC-Type: request\r\n"
    b"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000003>\r\n"
    b"WARC-Date: 2024-05-01T08:00:00.123456Z\r\n"
    b"WARC-Target-URI: http://www.rmzxb.com.cn/c/2024-05-01/1.shtml\r\n"
    b"WARC-Concurrent-To: <urn:uuid:00000000-0000-4000-8000-000000000002>\r\n"
    b"WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
    b"Content-Type: application/http; msgtype=request\r\n"
    b"WARC-Block-Digest: sha1:CW5F5PLHEW572PYZKUMNZHTNUDWLDKJI\r\n"
    b"WARC-Payload-Digest: sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ\r\n"
    b"Content-Length: 89\r\n"
    b"\r\n"
    b"GET /c/2024-05-01/1.shtml HTTP/1.1\r\n"
    b"User-Agent: cppcc-archive\r\n"
    b"Host: www.rmzxb.com.cn\r\n"
    b"\r\n"
    b"\r\n"
    b"\r\n"
)


def test_golden_bytes(tmp_path: Path) -> None:
    with make_writer(tmp_path) as writer:
        writer.write_exchange(make_exchange())

    written = gzip.decompress((tmp_path / GOLDEN_NAME).read_bytes())

    assert written == EXPECTED_WARC


def test_golden_file_reads_back_with_warcio(tmp_path: Path) -> None:
    with make_writer(tmp_path) as writer:
        writer.write_exchange(make_exchange())

    warcinfo, response, request = records_of(tmp_path / GOLDEN_NAME)

    assert [warcinfo.rec_type, response.rec_type, request.rec_type] == [
        "warcinfo",
        "response",
        "request",
    ]
    assert request.rec_headers["WARC-Concurrent-To"] == response.rec_headers["WARC-Record-ID"]
    assert response.rec_headers["WARC-Warcinfo-ID"] == warcinfo.rec_headers["WARC-Record-ID"]
    assert response.raw == GZIP_BODY
    assert response.http_headers["Content-Encoding"] == "gzip"
    cookies = [value for name, value in response.http_headers.headers if name == "Set-Cookie"]
    assert cookies == ["a=1; Path=/", "b=2; HttpOnly"]
    assert gzip.decompress(response.raw).decode() == "<html><body>政协新闻</body></html>"


def test_location_points_at_the_response_member(tmp_path: Path) -> None:
    with make_writer(tmp_path) as writer:
        writer.write_exchange(make_exchange("http://example.org/first"))
        location = writer.write_exchange(make_exchange("http://example.org/second"))

    with open(tmp_path / location.filename, "rb") as stream:
        stream.seek(location.offset)
        member = stream.read(location.length)
    (record,) = ArchiveIterator(io.BytesIO(member), check_digests="raise")

    assert location.filename == GOLDEN_NAME
    assert record.rec_headers["WARC-Record-ID"] == location.record_id
    assert record.rec_headers["WARC-Target-URI"] == location.url == "http://example.org/second"
    assert record.rec_headers["WARC-Payload-Digest"] == location.payload_digest
    assert location.payload_digest == "sha1:WXS5SBIUR2ZAHYW2H6IAXBD7W3QMEXNO"
    assert (location.status, location.fetched_at) == (200, FETCHED_AT)
    assert zlib.decompressobj(31).decompress(member).startswith(b"WARC/1.1\r\n")


def test_header_bytes_survive_unchanged(tmp_path: Path) -> None:
    gbk_filename = "政协.pdf".encode("gbk").decode("latin-1")  # as a server sends it, undecoded
    exchange = make_exchange(
        response_headers=[("Content-Disposition", f"attachment; filename={gbk_filename}")]
    )
    with make_writer(tmp_path) as writer:
        writer.write_exchange(exchange)

    written = gzip.decompress((tmp_path / GOLDEN_NAME).read_bytes())

    assert b"Content-Disposition: attachment; filename=" + "政协.pdf".encode("gbk") in written


def test_rotation_closes_files_between_pairs(tmp_path: Path) -> None:
    with make_writer(tmp_path, max_size=1) as writer:
        locations = [writer.write_exchange(make_exchange(f"http://a.test/{n}")) for n in range(3)]

    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == sorted(location.filename for location in locations)
    assert [name.split("-")[2] for name in names] == ["00000", "00001", "00002"]
    for name, n in zip(names, range(3), strict=True):
        records = records_of(tmp_path / name)
        assert [record.rec_type for record in records] == ["warcinfo", "response", "request"]
        assert records[0].rec_headers["WARC-Filename"] == name
        assert {record.rec_headers["WARC-Target-URI"] for record in records[1:]} == {
            f"http://a.test/{n}"
        }


def test_exchanges_prepared_for_a_file_that_closed_meanwhile_go_whole_into_the_next(
    tmp_path: Path,
) -> None:
    # A crawl prepares exchanges, compresses them in another thread, and appends them as they
    # come back: the first appended fills the file, the others were made for it.
    with make_writer(tmp_path, max_size=1) as writer:
        prepared = [writer.prepare_exchange(make_exchange(f"http://a.test/{n}")) for n in range(3)]
        prepared[1].compress()
        locations = [writer.append_prepared(exchange) for exchange in prepared]

    assert len({location.filename for location in locations}) == 3
    for location in locations:
        records = records_of(tmp_path / location.filename)
        warcinfo_id = records[0].rec_headers["WARC-Record-ID"]
        assert [record.rec_type for record in records] == ["warcinfo", "response", "request"]
        assert {r.rec_headers["WARC-Warcinfo-ID"] for r in records[1:]} == {warcinfo_id}
        assert records[1].rec_headers["WARC-Record-ID"] == location.record_id
        assert records[1].rec_headers["WARC-Target-URI"] == location.url


def test_rotation_waits_for_the_size_limit(tmp_path: Path) -> None:
    with make_writer(tmp_path, max_size=2_000) as writer:
        for n in range(10):
            writer.write_exchange(make_exchange(f"http://a.test/{n}"))
        sizes_while_open = writer.bytes_written
        files = writer.files_opened

    paths = sorted(tmp_path.iterdir())
    assert 1 < files == len(paths) < 10
    assert sum(path.stat().st_size for path in paths) == sizes_while_open
    assert all(path.stat().st_size < 2_000 + 1_000 for path in paths)
    responses = [r for path in paths for r in records_of(path) if r.rec_type == "response"]
    assert len(responses) == 10


def test_open_suffix_until_closed(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing created

    location = writer.write_exchange(make_exchange())
    assert [path.name for path in tmp_path.iterdir()] == [location.filename + ".open"]

    writer.close()
    writer.close()  # closing twice is harmless
    assert [path.name for path in tmp_path.iterdir()] == [location.filename]
    with pytest.raises(WarcWriteError, match="closed"):
        writer.write_exchange(make_exchange())


def test_file_name_follows_heritrix_convention(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, prefix="RMZXB")
    with writer:
        location = writer.write_exchange(make_exchange())

    pattern = r"RMZXB-(\d{17})-00000-(\d+)~([^~]+)~0\.warc\.gz"
    stamp, pid, hostname = re.fullmatch(pattern, location.filename).groups()
    opened = datetime.strptime(stamp + "000", "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - opened) < timedelta(minutes=1)
    assert (int(pid), hostname) == (writer.pid, writer.hostname)
    (warcinfo, *_) = records_of(tmp_path / location.filename)
    assert warcinfo.raw.startswith(b"software: cppcc-archive/")


def test_truncated_body_is_marked(tmp_path: Path) -> None:
    with make_writer(tmp_path) as writer:
        writer.write_exchange(make_exchange(body=GZIP_BODY[:20], truncated="disconnect"))

    response = records_of(tmp_path / GOLDEN_NAME)[1]

    assert response.rec_headers["WARC-Truncated"] == "disconnect"
    assert response.raw == GZIP_BODY[:20]


def test_compression_level_is_a_setting(tmp_path: Path) -> None:
    page = make_exchange(body=b"<p>" + "全国政协委员".encode() * 2_000 + b"</p>")
    sizes = {}
    for level in (1, 9):
        with make_writer(tmp_path / str(level), compress_level=level) as writer:
            sizes[level] = writer.write_exchange(page).length

    assert sizes[9] < sizes[1]


@pytest.mark.parametrize("command", ["check", "index"])
def test_warcio_tools_accept_the_file(tmp_path: Path, command: str) -> None:
    with make_writer(tmp_path, max_size=1) as writer:
        writer.write_exchange(make_exchange())
        writer.write_exchange(make_exchange(method="POST", request_body=b"q=%E6%94%BF"))
    paths = [str(path) for path in sorted(tmp_path.iterdir())]

    result = subprocess.run(
        [WARCIO, command, "-v", *paths] if command == "check" else [WARCIO, command, *paths],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    if command == "check":
        assert result.stdout.count("digest pass") == 6
        assert "fail" not in result.stdout
    else:
        assert result.stdout.count('"warc-type": "response"') == 2
        assert result.stdout.count('"warc-type": "warcinfo"') == 2


def test_naive_fetch_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_exchange(fetched_at=datetime(2024, 5, 1))  # noqa: DTZ001 (the mistake under test)


def test_revisits_refer_to_their_original_and_read_back_clean(tmp_path: Path) -> None:
    from pipelines.warc.records import Original

    writer = make_writer(tmp_path)
    first = writer.write_exchange(make_exchange())
    original = Original(first.record_id, first.url, first.fetched_at, first.payload_digest)
    later = FETCHED_AT + timedelta(days=1)
    same = writer.write_exchange(make_exchange(fetched_at=later), original)
    not_modified = make_exchange(
        fetched_at=later,
        status=304,
        reason="Not Modified",
        response_headers=[("ETag", '"v1"'), ("Date", "Thu, 02 May 2024 08:00:00 GMT")],
        body=b"",
    )
    unchanged = writer.write_exchange(not_modified, original)
    writer.close()
    (path,) = tmp_path.iterdir()
    records = records_of(path)
    revisits = [r for r in records if r.rec_type == "revisit"]
    (metadata,) = [r for r in records if r.rec_type == "metadata"]

    assert [r.rec_headers["WARC-Record-ID"] for r in revisits] == [
        same.record_id,
        unchanged.record_id,
    ]
    assert same.record_type == unchanged.record_type == "revisit"
    assert unchanged.refers_to == same.refers_to == first.record_id
    for revisit in revisits:
        assert revisit.rec_headers["WARC-Refers-To"] == first.record_id
        assert revisit.rec_headers["WARC-Refers-To-Target-URI"] == first.url
        assert revisit.rec_headers["WARC-Refers-To-Date"] == "2024-05-01T08:00:00.123456Z"
        assert revisit.rec_headers["WARC-Payload-Digest"] == first.payload_digest
        assert revisit.raw == b""
    profiles = [r.rec_headers["WARC-Profile"] for r in revisits]
    assert profiles == [
        "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
        "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
    ]
    # The identical payload's revisit keeps its own status line and headers; the 304's are in
    # a metadata record beside it, so replay tools replay the original for it.
    assert revisits[0].http_headers.get_statuscode() == "200"
    assert revisits[1].rec_headers["Content-Length"] == "0"
    assert metadata.rec_headers["WARC-Refers-To"] == unchanged.record_id
    assert metadata.raw.decode().splitlines() == [
        "http-status-line: HTTP/1.1 304 Not Modified",
        'http-header: ETag: "v1"',
        "http-header: Date: Thu, 02 May 2024 08:00:00 GMT",
    ]
    checked = subprocess.run([WARCIO, "check", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_metadata_records_are_warc_fields_about_a_record(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    page = writer.write_exchange(make_exchange())
    location = writer.write_metadata(page.url, page.record_id, [("cppcc-site", "rmzxb")])
    writer.close()
    (path,) = tmp_path.iterdir()
    (metadata,) = [r for r in records_of(path) if r.rec_type == "metadata"]

    assert location.record_type == "metadata" and location.refers_to == page.record_id
    assert metadata.rec_headers["WARC-Target-URI"] == page.url
    assert metadata.rec_headers["Content-Type"] == "application/warc-fields"
    assert metadata.raw == b"cppcc-site: rmzxb\r\n"


def test_on_close_is_told_each_closed_file(tmp_path: Path) -> None:
    closed: list[Path] = []
    writer = make_writer(tmp_path, max_size=1, on_close=lambda path, _: closed.append(path))
    writer.write_exchange(make_exchange())
    writer.write_exchange(make_exchange())
    writer.close()

    assert len(closed) == 2 and all(path.exists() for path in closed)
    assert {path.name for path in closed} == {path.name for path in tmp_path.iterdir()}
