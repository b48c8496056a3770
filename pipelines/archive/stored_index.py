"""CDXJ indexes of stored WARC files on a host that has no copy of them, for pywb to replay.

A web host that shares the catalogue but not the crawl hosts' disks needs an index of each
stored file before pywb can find a capture in it. The index is made as the crawl host makes
its own: by the same indexer, from the file's bytes, here downloaded from the store into a
temporary folder and removed once indexed; its `filename` is the file's name, which pywb
resolves against HOME/warc first and then against the store (web/replay.py). A stored object
is never overwritten (the put is conditional), so an index made of it once stays current, and
the next run downloads only the files stored since.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pipelines.storage.store import ObjectStore, StorageError
from pipelines.warc.cdxj import CdxjIndexError, IndexReport, index_archive, index_path, index_warc


def index_with_store(warc_dir: Path, index_dir: Path, store: ObjectStore) -> IndexReport:
    """Index the closed files of `warc_dir` (when there is such a folder) and the stored files
    it lacks that have no index in `index_dir` yet; indexes of stored files are kept."""
    stored = store.names()  # StorageError: the store cannot be listed, nothing is changed
    report = index_archive([warc_dir] if warc_dir.is_dir() else [], index_dir, kept=stored)
    report.storage = str(store.url)
    local = {*report.indexed, *report.up_to_date, *report.failed}
    wanted = [name for name in stored if name not in local]
    with tempfile.TemporaryDirectory(prefix="cppcc-index-") as folder:
        for name in wanted:
            if index_path(name, index_dir).exists():
                report.up_to_date.append(name)
                continue
            try:
                _index_stored(store, name, Path(folder), index_dir)
            except (StorageError, CdxjIndexError) as error:
                report.failed[name] = str(error)
            else:
                report.indexed.append(name)
                report.downloaded.append(name)
    report.indexed.sort()
    report.up_to_date.sort()
    return report


def _index_stored(store: ObjectStore, name: str, folder: Path, index_dir: Path) -> None:
    """Download the stored file `name`, index it, and remove the copy (one on disk at a time)."""
    copy = folder / name
    try:
        store.download(name, copy)
        index_warc(copy, index_dir)
    finally:
        copy.unlink(missing_ok=True)
