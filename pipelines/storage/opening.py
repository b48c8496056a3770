"""The object store a storage URL names: a folder's, or S3's (boto3 loaded only then)."""

from __future__ import annotations

from collections.abc import Mapping

from pipelines.storage.store import FolderStore, ObjectStore
from pipelines.storage.url import ENDPOINT_ENV, StorageUrl, storage_url_from


def open_store(url: StorageUrl, endpoint: str | None = None) -> ObjectStore:
    """The store `url` names (an S3 one through `endpoint`, when given)."""
    if url.scheme == "file":
        return FolderStore(url)
    # boto3 is imported with the S3 store only: a local archive never loads it.
    from pipelines.storage.s3 import S3Store

    return S3Store(url, endpoint)


def store_from(environ: Mapping[str, str]) -> ObjectStore | None:
    """The store CPPCC_STORAGE names (through CPPCC_S3_ENDPOINT); None: local only."""
    url = storage_url_from(environ)
    if url is None:
        return None
    return open_store(url, environ.get(ENDPOINT_ENV) or None)
