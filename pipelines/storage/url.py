"""The storage URL (`--storage`, CPPCC_STORAGE, `[storage] url`): which bucket and prefix.

Light on purpose: the command line checks a URL before anything else is loaded, and boto3
(a third of a second to import) is loaded only by a command that stores or reads objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pipelines.errors import UsageError

STORAGE_ENV = "CPPCC_STORAGE"  # empty or unset: WARC files stay local only (the default)
ENDPOINT_ENV = "CPPCC_S3_ENDPOINT"  # an S3-compatible service's URL; unset: AWS's own
# S3's rules for bucket names: 3 to 63 lower-case letters, digits, dots and hyphens,
# beginning and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
EXAMPLE = "s3://BUCKET/PREFIX, or file:///FOLDER"


class StorageUrlError(UsageError):
    """A storage URL that names no bucket or folder this program can store in."""


@dataclass(frozen=True)
class StorageUrl:
    """`s3://bucket/prefix` (objects `prefix/NAME`), or `file:///folder` (files `folder/NAME`)."""

    scheme: str  # "s3" | "file"
    bucket: str  # the bucket; "" for a folder
    prefix: str  # the key prefix without slashes at its ends ("" for none); a folder's path

    def key(self, name: str) -> str:
        """The object key of the WARC file `name`."""
        return f"{self.prefix}/{name}" if self.prefix else name

    def object_url(self, name: str) -> str:
        """The URL that names the stored object of the WARC file `name` (what pywb reads)."""
        if self.scheme == "file":
            return (Path(self.prefix) / name).as_uri()
        return f"s3://{self.bucket}/{self.key(name)}"

    def __str__(self) -> str:
        if self.scheme == "file":
            return Path(self.prefix).as_uri()
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def parse_storage_url(text: str) -> StorageUrl:
    """The URL `text` names; StorageUrlError in one line for anything else."""
    parts = urlsplit(text.strip())
    if parts.scheme == "s3":
        bucket = parts.netloc
        if not _BUCKET.fullmatch(bucket) or ".." in bucket:
            raise StorageUrlError(
                f"storage URL {text!r}: {bucket!r} is no S3 bucket name (3 to 63 lower-case "
                f"letters, digits, `.` and `-`); expected {EXAMPLE}"
            )
        if parts.query or parts.fragment:
            raise StorageUrlError(f"storage URL {text!r}: no `?` or `#` part; expected {EXAMPLE}")
        prefix = unquote(parts.path).strip("/")
        if any(part in (".", "..") for part in prefix.split("/")) or "//" in prefix:
            raise StorageUrlError(f"storage URL {text!r}: a prefix of empty, `.` or `..` parts")
        return StorageUrl("s3", bucket, prefix)
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path.startswith("/"):
        return StorageUrl("file", "", unquote(parts.path).rstrip("/") or "/")
    raise StorageUrlError(f"storage URL {text!r} is not one of {EXAMPLE}")


def storage_url_from(environ: Mapping[str, str]) -> StorageUrl | None:
    """The storage CPPCC_STORAGE names; None when it is unset or empty (local only)."""
    text = environ.get(STORAGE_ENV, "").strip()
    return parse_storage_url(text) if text else None
