"""The object store's interface, a file's SHA-256, and the folder that implements it locally.

Storing is a conditional put: an object is written only where none is yet, so two processes
storing the same file (two launchers sweeping one folder, a retry after the catalogue missed
the first success) never overwrite anything; the second finds the object there, with the
same size and digest, and takes it as stored. An object of that name with other bytes is a
StorageConflict, never replaced.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from pipelines.errors import CppccArchiveError
from pipelines.storage.url import StorageUrl
from pipelines.warc.naming import WARC_SUFFIX

CHUNK = 1 << 20  # bytes read or written at a time: hashing a 1 GB file keeps 1 MB in memory


class StorageError(CppccArchiveError):
    """The object store could not be reached or refused a request; the message says which."""


class StorageConflict(StorageError):
    """An object of that name holds other bytes than the file: it is never overwritten."""


class ObjectMissing(StorageError):
    """The object the catalogue names is not in the store."""


@dataclass(frozen=True)
class Digest:
    """A file's or object's size and SHA-256 (hex)."""

    size: int
    sha256: str


def file_digest(path: Path) -> Digest:
    """The size and SHA-256 of the file at `path`."""
    with path.open("rb") as stream:
        return copy_digest(stream, None)


def copy_digest(source: IO[bytes], target: IO[bytes] | None) -> Digest:
    """Read `source` to its end (into `target`, when given); its size and SHA-256."""
    sha, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK):
        sha.update(chunk)
        size += len(chunk)
        if target is not None:
            target.write(chunk)
    return Digest(size, sha.hexdigest())


class ObjectStore(Protocol):
    """Where closed WARC files are stored, each as an object named after the file."""

    url: StorageUrl

    def put_if_absent(self, path: Path, name: str, digest: Digest) -> bool:
        """Store the file at `path` as `name` unless an object has that name: True when it was
        written now, False when the same bytes were there already; StorageConflict when other
        bytes are, StorageError when the store fails."""
        ...

    def download(self, name: str, target: Path) -> Digest:
        """Write the object `name` to `target`; its size and SHA-256 as read. ObjectMissing
        when there is none."""
        ...

    def names(self) -> list[str]:
        """The names of the WARC files stored, sorted."""
        ...


class FolderStore:
    """A folder as the store (`file:///srv/warc`: a disk of its own, a network mount).

    A file is copied beside its final name, then linked to it: link() fails when the name
    exists, which makes the put conditional, and a copy cut short is never under the name.
    """

    def __init__(self, url: StorageUrl) -> None:
        self.url = url
        self.folder = Path(url.prefix)

    def put_if_absent(self, path: Path, name: str, digest: Digest) -> bool:
        final = self.folder / name
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with (
                path.open("rb") as source,
                tempfile.NamedTemporaryFile(dir=self.folder, prefix=".put-") as temp,
            ):
                copied = copy_digest(source, temp)
                temp.flush()
                os.fsync(temp.fileno())
                if copied != digest:
                    raise StorageError(f"{path} changed while it was being stored")
                try:
                    os.link(temp.name, final)
                except FileExistsError:
                    return self._same(final, name, digest)
        except OSError as exc:
            raise StorageError(f"cannot store {name} in {self.folder}: {exc}") from None
        return True

    def _same(self, final: Path, name: str, digest: Digest) -> bool:
        if file_digest(final) != digest:
            raise StorageConflict(conflict_message(name, str(self.url)))
        return False

    def download(self, name: str, target: Path) -> Digest:
        try:
            with (self.folder / name).open("rb") as source, target.open("wb") as out:
                return copy_digest(source, out)
        except FileNotFoundError:
            raise ObjectMissing(f"{self.url.object_url(name)} is missing") from None
        except OSError as exc:
            raise StorageError(f"cannot read {self.url.object_url(name)}: {exc}") from None

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(path.name for path in self.folder.glob(f"*{WARC_SUFFIX}"))


def conflict_message(name: str, where: str) -> str:
    return (
        f"{where} already holds an object {name} with other bytes than the WARC file of that "
        "name: it is not overwritten; find out which is right before you remove either"
    )
