"""A WARC file read in spans on two processes gives what reading it whole gives, damage too."""

from __future__ import annotations

import random
from itertools import pairwise
from pathlib import Path

import pytest

from pipelines.archive import spans
from pipelines.archive.reading import Unreadable, read_files
from pipelines.archive.spans import file_spans
from pipelines.archive.verify import scan_files
from pipelines.warc.members import starts_record
from pipelines.warc.writer import WarcWriter
from tests.test_verify_damaged import article_exchange

SMALL_SPANS = 100_000  # bytes: the file below is cut in a dozen spans
GARBAGE, CORRUPT = 60, 200  # the articles whose response member is damaged


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A WARC file of 300 article pages, one response overwritten with garbage and one with a
    byte flipped in its compressed data."""
    folder = tmp_path_factory.mktemp("spans")
    with WarcWriter(folder, hostname="test", pid=1) as writer:
        locations = [writer.write_exchange(article_exchange(number)) for number in range(300)]
    (path,) = folder.glob("*.warc.gz")
    data = bytearray(path.read_bytes())
    garbage = locations[GARBAGE]
    noise = random.Random(3).randbytes(garbage.length).replace(b"\x1f\x8b", b"xx")
    data[garbage.offset : garbage.offset + garbage.length] = noise
    corrupt = locations[CORRUPT]
    data[corrupt.offset + corrupt.length // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return path


def test_spans_start_where_records_start_and_cover_the_file(
    damaged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spans, "SPAN_SIZE", SMALL_SPANS)

    cut = file_spans([damaged], jobs=2)

    assert len(cut) > 4
    assert cut[0].start == 0 and cut[-1].stop == damaged.stat().st_size
    assert all(before.stop == after.start for before, after in pairwise(cut))
    with damaged.open("rb") as file:
        assert all(starts_record(file, span.start) for span in cut)
    assert file_spans([damaged], jobs=1) == [spans.Span(damaged, 0, damaged.stat().st_size)]


def test_verify_reads_a_damaged_file_in_spans_as_it_reads_it_whole(
    damaged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = scan_files(damaged.parent, {}, jobs=1)
    monkeypatch.setattr(spans, "SPAN_SIZE", SMALL_SPANS)

    split = scan_files(damaged.parent, {}, jobs=2)

    assert split == whole
    (scan,) = whole.values()
    assert [problem.kind for problem in scan.problems] == ["garbage", "corrupt-member"]
    assert scan.records == 2 * 300 + 1 - 2  # requests, responses, warcinfo; less the damaged


def test_reindex_reads_a_damaged_file_in_spans_as_it_reads_it_whole(
    damaged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = list(read_files([damaged], (), jobs=1))
    monkeypatch.setattr(spans, "SPAN_SIZE", SMALL_SPANS)

    split = list(read_files([damaged], (), jobs=2))

    assert split == whole
    ((_, read),) = whole
    damage = [item for item in read.items if isinstance(item, Unreadable)]
    assert len(damage) == 2 and read.records == 2 * 300 + 1 - 2
