"""Local copies of stored WARC files, for the commands that read them (`reindex`, `export`).

A copy is downloaded into a temporary folder on first use, hashed on the way, and removed
with the folder when the command ends; the commands then read it as they read a local file.
A machine that holds the file itself (the one that wrote it) reads its own.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from pipelines.storage.store import Digest, ObjectStore


class StoredCopies:
    """The store's WARC files by name, each downloaded when first asked for."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.digests: dict[str, Digest] = {}  # name -> what was read, per copy made
        self._temp: tempfile.TemporaryDirectory[str] | None = None
        self._names: list[str] | None = None

    def names(self) -> list[str]:
        """The names of the stored WARC files (listed once)."""
        if self._names is None:
            self._names = self.store.names()
        return self._names

    def path(self, name: str) -> Path:
        """A local copy of the stored file `name` (ObjectMissing when there is none)."""
        if self._temp is None:
            self._temp = tempfile.TemporaryDirectory(prefix="cppcc-stored-")
        target = Path(self._temp.name) / name
        if name not in self.digests:
            self.digests[name] = self.store.download(name, target)
        return target

    def close(self) -> None:
        if self._temp is not None:
            self._temp.cleanup()
            self._temp = None
        self.digests.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
