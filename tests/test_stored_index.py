"""Tests for pipelines.archive.stored_index: indexes of stored WARC files on a host without
them, made by the indexer the crawl host uses, downloaded one at a time and kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipelines.archive.stored_index import index_with_store
from pipelines.storage.store import FolderStore, file_digest
from pipelines.storage.url import parse_storage_url
from pipelines.warc.cdxj import index_warc
from tests.conftest import run_cli
from tests.test_cdxj import write_warcs


def stored(tmp_path: Path, count: int) -> tuple[FolderStore, list[Path]]:
    """A folder store holding `count` WARC files, written on "another host" (`crawl-host`)."""
    store = FolderStore(parse_storage_url((tmp_path / "bucket").as_uri()))
    files = write_warcs(tmp_path / "crawl-host" / "warc", count)
    for path in files:
        assert store.put_if_absent(path, path.name, file_digest(path))
    return store, files


def test_stored_files_are_indexed_as_the_crawl_host_indexes_them(tmp_path: Path) -> None:
    store, files = stored(tmp_path, 2)
    index_dir = tmp_path / "web-host" / "indexes"

    report = index_with_store(tmp_path / "web-host" / "warc", index_dir, store)

    names = [path.name for path in files]
    assert (report.indexed, report.downloaded, report.failed) == (names, names, {})
    for path in files:  # line for line what indexing the file itself gives, its bare name
        expected = index_warc(path, tmp_path / "crawl-host" / "indexes").read_text()
        assert (index_dir / f"{path.name}.cdxj").read_text() == expected
        assert json.loads(expected.split(" ", 2)[2])["filename"] == path.name
    assert not (tmp_path / "web-host" / "warc").exists()  # no copy left behind


def test_a_stored_file_indexed_before_is_not_downloaded_again(tmp_path: Path) -> None:
    store, files = stored(tmp_path, 2)
    warc_dir, index_dir = tmp_path / "web-host" / "warc", tmp_path / "web-host" / "indexes"
    index_with_store(warc_dir, index_dir, store)
    (store.folder / files[0].name).unlink()  # gone from the store: a download would fail

    again = index_with_store(warc_dir, index_dir, store)

    assert (again.indexed, again.downloaded, again.failed) == ([], [], {})
    assert again.up_to_date == [files[1].name]
    assert again.stale_removed == [f"{files[0].name}.cdxj"]  # neither here nor stored


def test_local_files_are_read_from_disk_and_stored_indexes_are_not_stale(tmp_path: Path) -> None:
    store, files = stored(tmp_path, 2)
    warc_dir, index_dir = tmp_path / "web-host" / "warc", tmp_path / "web-host" / "indexes"
    warc_dir.mkdir(parents=True)
    shutil.copy2(files[0], warc_dir)  # this host has one of the two

    report = index_with_store(warc_dir, index_dir, store)
    plain = run_cli("--home", str(tmp_path / "web-host"), "index", "--format", "json")

    assert report.indexed == [files[0].name, files[1].name]
    assert report.downloaded == [files[1].name]
    # `index` without storage keeps to this host's files: the stored one's index is stale.
    assert json.loads(plain.stdout)["stale_removed"] == [f"{files[1].name}.cdxj"]


def test_a_file_that_cannot_be_read_from_the_store_is_a_failure_the_others_go_on(
    tmp_path: Path,
) -> None:
    store, files = stored(tmp_path, 2)
    (store.folder / files[0].name).write_bytes(b"not a WARC file\r\n\r\n")

    report = index_with_store(tmp_path / "w" / "warc", tmp_path / "w" / "indexes", store)

    assert report.indexed == [files[1].name]
    assert list(report.failed) == [files[0].name]
    assert "cannot index" in report.failed[files[0].name]


def test_index_storage_on_an_empty_home_says_what_it_downloaded(tmp_path: Path) -> None:
    store, files = stored(tmp_path, 1)
    home = tmp_path / "web-host"

    done = run_cli("--home", str(home), "index", "--storage", str(store.url))
    missing = run_cli("--home", str(home), "index")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"index {home / 'indexes'}: 1 WARC file indexed (1 downloaded from {store.url}), "
        "0 up to date, 0 open files skipped, 0 stale indexes removed, 0 failed"
    ]
    assert (home / "indexes" / f"{files[0].name}.cdxj").exists()
    assert (missing.returncode, missing.stdout) == (2, "")  # without storage: no WARC folder
    assert missing.stderr.startswith("cppcc-archive: error: no WARC folder ")
