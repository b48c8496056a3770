"""Tests for pipelines.warc.cdxj: CDXJ as cdxj-indexer writes it, kept up to date."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tldextract

from pipelines.warc.cdxj import CdxjIndexError, index_archive, index_warc, write_index
from tests.test_warc_writer import make_exchange, make_writer

CDXJ_INDEXER = Path(sys.executable).with_name("cdxj-indexer")
PICTURE = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256))


def write_warc(directory: Path) -> Path:
    """One closed WARC file of three responses, not in URL order: HTML, HTML, a 404 picture."""
    with make_writer(directory) as writer:
        writer.write_exchange(make_exchange("http://www.rmzxb.com.cn/c/0.shtml"))
        writer.write_exchange(make_exchange("http://www.rmzxb.com.cn/"))
        location = writer.write_exchange(
            make_exchange(
                "http://www.rmzxb.com.cn/images/a.jpg",
                status=404,
                reason="Not Found",
                response_headers=[("Content-Type", "image/jpeg")],
                body=PICTURE,
            )
        )
    return directory / location.filename


def write_warcs(directory: Path, count: int) -> list[Path]:
    """`count` closed WARC files of one response each, `/c/<n>.shtml` in the n-th."""
    with make_writer(directory, max_size=1) as writer:  # rotates after every exchange
        names = [
            writer.write_exchange(make_exchange(f"http://www.rmzxb.com.cn/c/{n}.shtml")).filename
            for n in range(count)
        ]
    return [directory / name for name in names]


def set_mtime(path: Path, mtime_ns: int) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_index_is_what_cdxj_indexer_prints(tmp_path: Path) -> None:
    warc = write_warc(tmp_path / "warc")

    index = index_warc(warc, tmp_path / "indexes")
    printed = subprocess.run(
        [str(CDXJ_INDEXER), "--sort", str(warc)], capture_output=True, check=True
    ).stdout

    assert index == tmp_path / "indexes" / f"{warc.name}.cdxj"
    assert index.read_bytes() == printed
    lines = index.read_text().splitlines()
    # Responses only (no warcinfo, no requests), sorted by SURT key, the bare file name.
    assert [line.split(" ", 1)[0] for line in lines] == [
        "cn,com,rmzxb)/",
        "cn,com,rmzxb)/c/0.shtml",
        "cn,com,rmzxb)/images/a.jpg",
    ]
    picture = json.loads(lines[2].split(" ", 2)[2])
    assert (picture["status"], picture["mime"], picture["filename"]) == (
        "404",
        "image/jpeg",
        warc.name,
    )
    assert list(index.parent.iterdir()) == [index]  # no temporary file left beside it


def test_indexing_never_asks_tldextract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # surt imports tldextract, which would download the public-suffix list on first use; its
    # default canonicalisation (the one cdxj-indexer uses) must not call it at all.
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tldextract was called")

    monkeypatch.setattr(tldextract, "extract", no_network)
    monkeypatch.setattr(tldextract.TLDExtract, "__call__", no_network)
    warc = write_warc(tmp_path / "warc")

    assert index_warc(warc, tmp_path / "indexes").read_text().count("\n") == 3


def test_a_file_that_is_no_warc_is_refused_and_leaves_no_index(tmp_path: Path) -> None:
    junk = tmp_path / "junk.warc.gz"
    junk.write_bytes(b"<html>not a WARC file</html>\r\n\r\n")

    with pytest.raises(CdxjIndexError, match=r"cannot index .*junk\.warc\.gz.*warcio check"):
        index_warc(junk, tmp_path / "indexes")

    assert list((tmp_path / "indexes").iterdir()) == []


def test_index_archive_indexes_skips_and_removes(tmp_path: Path) -> None:
    warc_dir, index_dir = tmp_path / "warc", tmp_path / "indexes"
    missing, current, outdated = write_warcs(warc_dir, count=3)
    current_index = index_warc(current, index_dir)
    set_mtime(current_index, current.stat().st_mtime_ns + 10**9)
    current_before = current_index.stat().st_mtime_ns
    outdated_index = index_warc(outdated, index_dir)
    outdated_index.write_text("old\n")
    set_mtime(outdated_index, outdated.stat().st_mtime_ns - 10**9)
    open_file = warc_dir / "CPPCC-20240501090000000-00000-7~crawler.test~0.warc.gz.open"
    open_file.write_bytes(missing.read_bytes())
    stale = index_dir / "CPPCC-20230101000000000-00000-1~gone~0.warc.gz.cdxj"
    stale.write_text("x\n")
    unrelated = index_dir / "by-hand.cdxj"
    unrelated.write_text("x\n")

    report = index_archive(warc_dir, index_dir)

    assert report.indexed == [missing.name, outdated.name]
    assert report.up_to_date == [current.name]
    assert report.open_skipped == [open_file.name]
    assert report.stale_removed == [stale.name]
    assert report.failed == {}
    assert sorted(path.name for path in index_dir.iterdir()) == sorted(
        [f"{missing.name}.cdxj", f"{current.name}.cdxj", f"{outdated.name}.cdxj", unrelated.name]
    )
    assert current_index.stat().st_mtime_ns == current_before  # not rewritten
    assert outdated_index.read_text().startswith("cn,com,rmzxb)/c/2.shtml ")
    assert not (index_dir / f"{open_file.name}.cdxj").exists()

    again = index_archive(warc_dir, index_dir)
    assert (again.indexed, again.stale_removed) == ([], [])
    assert again.up_to_date == [missing.name, current.name, outdated.name]


def test_index_archive_goes_on_past_a_bad_file(tmp_path: Path) -> None:
    warc_dir = tmp_path / "warc"
    good = write_warc(warc_dir)
    (warc_dir / "junk.warc.gz").write_bytes(b"not a WARC file\r\n\r\n")

    report = index_archive(warc_dir, tmp_path / "indexes")

    assert report.indexed == [good.name]
    assert list(report.failed) == ["junk.warc.gz"]


def test_index_archive_refuses_a_missing_warc_folder(tmp_path: Path) -> None:
    index_dir = tmp_path / "indexes"
    index_dir.mkdir()
    kept = index_dir / "CPPCC-20230101000000000-00000-1~host~0.warc.gz.cdxj"
    kept.write_text("x\n")

    with pytest.raises(CdxjIndexError, match="no WARC folder"):
        index_archive(tmp_path / "unmounted", index_dir)

    assert kept.exists()  # an absent folder is not a folder without WARC files


def test_lines_made_while_writing_are_what_cdxj_indexer_prints(tmp_path: Path) -> None:
    # The crawl indexes a file from the lines its writer made (reading it back cost 0.4 ms of
    # CPU a page): they must be the lines cdxj-indexer prints, byte for byte.
    from datetime import timedelta

    from pipelines.warc.records import Original

    given: list[tuple[Path, list[str] | None]] = []
    writer = make_writer(
        tmp_path / "warc", on_close=lambda path, lines: given.append((path, lines))
    )
    first = writer.write_exchange(make_exchange("http://www.rmzxb.com.cn/c/0.shtml"))
    original = Original(first.record_id, first.url, first.fetched_at, first.payload_digest)
    later = first.fetched_at + timedelta(days=1, microseconds=999_999)
    for exchange, revisited in [
        (make_exchange("https://www.rmzxb.com.cn/"), None),
        (make_exchange("http://www.rmzxb.com.cn/c/0.shtml", fetched_at=later), original),
        (make_exchange(status=304, reason="Not Modified", response_headers=[], body=b""), original),
        (make_exchange("http://政协.cn/新闻?q=委员&p=1", status=599, reason=""), None),
        (make_exchange(response_headers=[("Location", "/c/1.shtml")], status=302), None),
        (make_exchange(response_headers=[("Content-Type", "")], body=PICTURE), None),
        (make_exchange(response_headers=[("content-type", "image/JPEG ;x")]), None),
        (make_exchange(response_headers=[("Content-Type", "text/html;charset=gbk")]), None),
        (make_exchange(body=b""), None),
    ]:
        writer.write_exchange(exchange, revisited)
    writer.close()

    ((warc, lines),) = given
    assert lines is not None and len(lines) == 10
    made = write_index(lines, warc, tmp_path / "made")
    read_back = index_warc(warc, tmp_path / "read")
    assert made.read_bytes() == read_back.read_bytes()


def test_a_record_out_of_the_plain_case_has_the_file_read_back(tmp_path: Path) -> None:
    given: list[list[str] | None] = []
    writer = make_writer(tmp_path, on_close=lambda path, lines: given.append(lines))
    writer.write_exchange(make_exchange(response_headers=[("Content-Type", " text/html")]))
    writer.close()

    assert given == [None]
