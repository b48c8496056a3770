"""S3-compatible object storage through boto3: conditional puts, downloads, listings.

Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a
profile, an instance role); the endpoint from CPPCC_S3_ENDPOINT (`[storage] endpoint`) for a
service other than AWS (MinIO, Ceph, a cloud's S3 API), else AWS_ENDPOINT_URL or AWS itself.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from pipelines.storage.store import (
    Digest,
    ObjectMissing,
    StorageConflict,
    StorageError,
    conflict_message,
    copy_digest,
)
from pipelines.storage.url import StorageUrl
from pipelines.warc.naming import WARC_SUFFIX

SHA256_META = "sha256"  # x-amz-meta-sha256: the digest, hex, as the catalogue records it
# A few retries with backoff for a store that hiccups; a store that is down fails the put in
# seconds, not minutes, and the file waits for the next run.
_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10)


class S3Store:
    """Objects `prefix/NAME` in one bucket."""

    def __init__(self, url: StorageUrl, endpoint: str | None = None) -> None:
        self.url = url
        self.endpoint = endpoint
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:  # made on first use: nothing connects when a store is named
            session = boto3.session.Session()
            self._client = session.client("s3", endpoint_url=self.endpoint, config=_CONFIG)
        return self._client

    def put_if_absent(self, path: Path, name: str, digest: Digest) -> bool:
        key = self.url.key(name)
        try:
            with path.open("rb") as body:
                self.client.put_object(
                    Bucket=self.url.bucket,
                    Key=key,
                    Body=body,
                    ContentLength=digest.size,
                    # If-None-Match: * makes the put conditional (S3 since 2024-08; MinIO,
                    # Ceph): the store refuses it (412) when the key exists.
                    IfNoneMatch="*",
                    # The store checks the bytes it got against this, where it can (S3 does).
                    ChecksumSHA256=base64.b64encode(bytes.fromhex(digest.sha256)).decode(),
                    Metadata={SHA256_META: digest.sha256},
                    ContentType="application/warc",
                )
        except ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412"):
                return self._same(name, digest)
            raise StorageError(self._failed("store", name, exc)) from None
        except (BotoCoreError, OSError) as exc:
            raise StorageError(self._failed("store", name, exc)) from None
        return True

    def _same(self, name: str, digest: Digest) -> bool:
        """False when the object there is this file (stored before); else StorageConflict."""
        try:
            head = self.client.head_object(Bucket=self.url.bucket, Key=self.url.key(name))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(self._failed("look at", name, exc)) from None
        stored = head.get("Metadata", {}).get(SHA256_META)
        if head.get("ContentLength") != digest.size or stored != digest.sha256:
            raise StorageConflict(conflict_message(name, str(self.url)))
        return False

    def download(self, name: str, target: Path) -> Digest:
        try:
            answer = self.client.get_object(Bucket=self.url.bucket, Key=self.url.key(name))
            with target.open("wb") as out:
                return copy_digest(answer["Body"], out)
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                raise ObjectMissing(f"{self.url.object_url(name)} is missing") from None
            raise StorageError(self._failed("read", name, exc)) from None
        except (BotoCoreError, OSError) as exc:
            raise StorageError(self._failed("read", name, exc)) from None

    def names(self) -> list[str]:
        start = f"{self.url.prefix}/" if self.url.prefix else ""
        found = []
        try:
            pages = self.client.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.url.bucket, Prefix=start):
                for item in page.get("Contents", []):
                    name = item["Key"][len(start) :]
                    if "/" not in name and name.endswith(WARC_SUFFIX):
                        found.append(name)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"cannot list {self.url}: {_one_line(exc)}") from None
        return sorted(found)

    def _failed(self, verb: str, name: str, exc: BaseException) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"cannot {verb} {self.url.object_url(name)}{where}: {_one_line(exc)}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
