"""The object stores (pipelines/storage/): conditional puts, conflicts, downloads, listings.

The S3 store is tried against moto's S3 server on loopback (a real process); the folder
store on a real folder. Both answer to the same interface.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.storage.opening import open_store
from pipelines.storage.store import ObjectMissing, ObjectStore, StorageConflict, file_digest
from pipelines.storage.url import StorageUrlError, parse_storage_url
from tests.s3_server import S3Server, s3_server  # noqa: F401 (the fixture, used by name)

NAME = "CPPCC-20261208000000000-00000-1~host~0.warc.gz"


@pytest.fixture(params=["s3", "file"])
def store(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ObjectStore]:
    if request.param == "file":
        yield open_store(parse_storage_url((tmp_path / "store").as_uri()))
        return
    server: S3Server = request.getfixturevalue("s3_server")
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    bucket = f"store-{uuid.uuid4().hex[:12]}"  # a bucket per test: the server is shared
    server.client().create_bucket(Bucket=bucket)
    yield open_store(parse_storage_url(f"s3://{bucket}/warc"), server.endpoint)


def test_a_put_stores_the_file_once_and_a_second_put_of_it_changes_nothing(
    store: ObjectStore, tmp_path: Path
) -> None:
    path = tmp_path / NAME
    path.write_bytes(b"a WARC file's bytes" * 1000)
    digest = file_digest(path)
    assert store.put_if_absent(path, NAME, digest) is True
    assert store.put_if_absent(path, NAME, digest) is False  # there already: the same bytes
    assert store.names() == [NAME]
    assert store.download(NAME, tmp_path / "copy") == digest
    assert (tmp_path / "copy").read_bytes() == path.read_bytes()


def test_other_bytes_under_a_stored_name_are_a_conflict_and_never_overwrite(
    store: ObjectStore, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_bytes(b"one")
    second.write_bytes(b"two")
    store.put_if_absent(first, NAME, file_digest(first))
    with pytest.raises(StorageConflict, match="not overwritten"):
        store.put_if_absent(second, NAME, file_digest(second))
    assert store.download(NAME, tmp_path / "copy") == file_digest(first)


def test_a_missing_object_is_said_by_its_url(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(ObjectMissing, match=f"{NAME} is missing"):
        store.download(NAME, tmp_path / "copy")


@pytest.mark.parametrize(
    "text",
    ["s3://", "s3://AB", "s3://bucket/a/../b", "s3://bucket/x?y=1", "http://x/y", "file://rel"],
)
def test_a_url_that_names_no_store_is_refused(text: str) -> None:
    with pytest.raises(StorageUrlError):
        parse_storage_url(text)


def test_a_url_names_its_objects() -> None:
    url = parse_storage_url("s3://my-bucket/archive/warc/")
    assert (url.bucket, url.key(NAME)) == ("my-bucket", f"archive/warc/{NAME}")
    assert url.object_url(NAME) == f"s3://my-bucket/archive/warc/{NAME}"
    assert parse_storage_url("s3://my-bucket").key(NAME) == NAME
