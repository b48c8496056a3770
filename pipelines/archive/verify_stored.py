"""Check the object store against the catalogue (`verify` with `--storage`): every committed
file's object there, whole (its size and SHA-256 as recorded), and every closed file stored.

Each object is read to its end (downloaded into a temporary folder, hashed on the way): a
digest the store keeps beside an object would say only what was sent, not what it holds now.
The copies of objects this machine has no file of are handed back, so `verify` reads their
records too, as it reads local files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from pipelines.archive.storing import closed_files
from pipelines.archive.verify import Problem, ScanCache, Verification, verify_archive
from pipelines.catalogue.warc_files import stored_files
from pipelines.seeds import Seeds
from pipelines.storage.store import ObjectMissing, ObjectStore, StorageError

REPAIR_HINT = "`cppcc-archive verify --repair` (or the next crawl) stores it"


@dataclass
class StoredCheck:
    """What checking the store found, and the copies of objects with no local file."""

    objects: int = 0
    problems: list[Problem] = field(default_factory=list)
    copies: list[Path] = field(default_factory=list)


def check_store(
    session: Session,
    store: ObjectStore,
    warc_dir: Path,
    copies_dir: Path,
    on_progress: Callable[[str], None] | None = None,
) -> StoredCheck:
    """Compare each file recorded for the store with its object; closed local files that
    are not committed are problems too (they would be lost with this machine)."""
    rows = [(r.name, r.size, r.sha256, r.committed_at, r.error) for r in stored_files(session)]
    session.rollback()  # the downloads take long: hold no transaction meanwhile
    check = StoredCheck()
    local = {path.name for path in closed_files(warc_dir)}
    committed = set()
    for name, size, sha256, committed_at, error in rows:
        if committed_at is None:
            why = f" (last try: {error})" if error else ""
            text = f"not in {store.url} yet{why}; {REPAIR_HINT}"
            where = name if name in local else f"{name} (not in {warc_dir} either)"
            check.problems.append(Problem("unstored-file", where, None, text))
            continue
        committed.add(name)
        check.objects += 1
        _check_object(store, name, size, sha256, name not in local, copies_dir, check)
        if on_progress:
            on_progress(f"verify: read {store.url.object_url(name)}")
    for name in sorted(local - committed - {row[0] for row in rows}):
        text = f"not in {store.url}: {REPAIR_HINT}"
        check.problems.append(Problem("unstored-file", name, None, text))
    return check


def _check_object(
    store: ObjectStore,
    name: str,
    size: int,
    sha256: str,
    keep: bool,
    copies_dir: Path,
    check: StoredCheck,
) -> None:
    url = store.url.object_url(name)
    target = copies_dir / name
    try:
        found = store.download(name, target)
    except ObjectMissing:
        text = f"{url} is missing from the store; the catalogue has it committed"
        check.problems.append(Problem("missing-object", name, None, text + _restore(keep)))
        target.unlink(missing_ok=True)
        return
    except StorageError as exc:
        check.problems.append(Problem("unreadable-object", name, None, str(exc)))
        target.unlink(missing_ok=True)
        return
    if found.size != size or found.sha256 != sha256:
        text = (
            f"{url} is not the file that was stored: {found.size} bytes, SHA-256 "
            f"{found.sha256}; the catalogue recorded {size} bytes, SHA-256 {sha256}"
        )
        check.problems.append(Problem("damaged-object", name, None, text + _restore(keep)))
        target.unlink()
        return
    if keep:
        check.copies.append(target)
    else:
        target.unlink()


def _restore(no_local_file: bool) -> str:
    if no_local_file:
        return ": restore it from a backup"
    return ": put back the local file of that name if its SHA-256 is the recorded one"


def verify_with_store(
    session: Session,
    warc_dir: Path,
    seeds: Seeds,
    store: ObjectStore,
    *,
    cache: ScanCache | None = None,
    on_progress: Callable[[str], None] | None = None,
    jobs: int | None = 1,
) -> Verification:
    """verify_archive over the local files and the copies of the stored objects this machine
    has no file of, with what checking the store found."""
    with tempfile.TemporaryDirectory(prefix="cppcc-verify-") as temp:
        stored = check_store(session, store, warc_dir, Path(temp), on_progress)
        result = verify_archive(
            session, warc_dir, seeds, cache=cache, on_progress=on_progress, jobs=jobs,
            extra_paths=stored.copies,
        )  # fmt: skip
    result.problems += stored.problems
    result.notes.append(f"{stored.objects} stored objects read from {store.url}")
    return result
