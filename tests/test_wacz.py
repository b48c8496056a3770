"""Tests for pipelines/warc/wacz.py: a package of chosen records, byte for byte, with its
index, pages and a manifest whose digests hold; nothing left behind when it cannot be made."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.warc.scan import ScannedRecord, scan_warc
from pipelines.warc.wacz import (
    DATAPACKAGE,
    DIGEST,
    INDEX_PATH,
    PAGES_PATH,
    WARC_PATH,
    Page,
    RecordSpan,
    WaczError,
    write_wacz,
)
from tests.test_warc_writer import GOLDEN_NAME, make_exchange, make_writer

CREATED = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def records(tmp_path: Path) -> list[ScannedRecord]:
    """A WARC file of three exchanges, its records as the scanner reads them."""
    folder = tmp_path / "warc"
    folder.mkdir()
    with make_writer(folder) as writer:
        for number in range(3):
            writer.write_exchange(make_exchange(f"http://www.rmzxb.com.cn/c/{number}.shtml"))
    return [item for item in scan_warc(folder / GOLDEN_NAME) if isinstance(item, ScannedRecord)]


def span(record: ScannedRecord, path: Path) -> RecordSpan:
    return RecordSpan(path, record.location.offset, record.location.length)


def test_the_package_holds_the_chosen_records_byte_for_byte(
    records: list[ScannedRecord], tmp_path: Path
) -> None:
    source = tmp_path / "warc" / GOLDEN_NAME
    chosen = [r for r in records if r.record_type == "response"][1:]  # two of three pages
    page = Page(chosen[0].location.url, chosen[0].location.fetched_at, "要闻", id="7")
    out = tmp_path / "out.wacz"
    summary = write_wacz(out, [span(r, source) for r in chosen], [page], title="t",
                         created=CREATED)  # fmt: skip
    data = source.read_bytes()
    members = [data[r.location.offset : r.location.offset + r.location.length] for r in chosen]
    with zipfile.ZipFile(out) as package:
        warc = package.read(WARC_PATH)
        manifest = json.loads(package.read(DATAPACKAGE))
        digest = json.loads(package.read(DIGEST))
        pages = package.read(PAGES_PATH).decode().splitlines()
        names = set(package.namelist())
        resources = {r["path"]: r for r in manifest["resources"]}
        for path, resource in resources.items():
            assert resource["hash"] == "sha256:" + hashlib.sha256(package.read(path)).hexdigest()
        assert digest["hash"] == "sha256:" + hashlib.sha256(package.read(DATAPACKAGE)).hexdigest()
    warcinfo = records[0]
    head = data[: warcinfo.location.length]  # the source file's warcinfo opens the package
    assert warc == head + b"".join(members)
    assert summary.records == 3 and summary.pages == 1
    assert {WARC_PATH, INDEX_PATH, PAGES_PATH, DATAPACKAGE, DIGEST} <= names
    assert json.loads(pages[1]) == {"id": "7", "url": page.url, "ts": "2024-05-01T08:00:00Z",
                                    "title": "要闻"}  # fmt: skip
    assert manifest["created"] == "2024-05-02T08:00:00Z" and manifest["title"] == "t"


def test_nothing_chosen_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WaczError, match="nothing to package"):
        write_wacz(tmp_path / "out.wacz", [], [], title="t")
    assert not (tmp_path / "out.wacz").exists()


def test_a_span_that_is_no_record_leaves_no_package(
    records: list[ScannedRecord], tmp_path: Path
) -> None:
    source = tmp_path / "warc" / GOLDEN_NAME
    wrong = RecordSpan(source, records[1].location.offset + 1, records[1].location.length)
    out = tmp_path / "out.wacz"
    with pytest.raises(WaczError, match="the catalogue and the WARC file disagree"):
        write_wacz(out, [wrong], [], title="t")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warc"]  # no package, no staging
