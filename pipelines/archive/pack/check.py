"""Check a pack against the files it packs: every record there, at its new offset, byte for byte."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipelines.archive.pack.manifest import Manifest, Part
from pipelines.warc.scan import Damage, scan_warc

CHUNK = 1 << 20
Records = dict[int, tuple[int, str]]  # offset -> (gzip member length, WARC-Record-ID)


def records_of(path: Path) -> tuple[Records, str | None]:
    """Every record of the file at `path` as the scanner reads it, digests checked; and what is
    wrong with the file (None: nothing), the first damage or digest mismatch found."""
    records: Records = {}
    try:
        for item in scan_warc(path, check_digests=True, keep_blocks=False):
            if isinstance(item, Damage):
                return records, f"{item.kind} at offset {item.offset}: {item.detail}"
            location = item.location
            if item.digest_problems:
                failed = "; ".join(item.digest_problems)
                return records, (
                    f"record {location.record_id} at offset {location.offset} fails its "
                    f"digests ({failed})"
                )
            records[location.offset] = (location.length, location.record_id)
    except OSError as error:
        return records, f"cannot be read ({error})"
    return records, None


def check_pack(
    pack: Path, manifest: Manifest, warc_dir: Path, known: Mapping[str, Records]
) -> tuple[int, str | None]:
    """(the packed records in `pack`, what is wrong with it or None).

    The pack must read back whole with its digests right, be as long as its parts, and hold
    the bytes of every part still in `warc_dir` (a part gone was checked and removed by the
    packing that began it) at the part's start, each of its records at its offset plus that
    start. `known` gives parts' records already read (by name), so they are not read twice.
    """
    size = pack.stat().st_size
    if size != manifest.size:
        return 0, f"the pack is {size:,} bytes, not the {manifest.size:,} of its parts"
    in_pack, problem = records_of(pack)
    if problem is not None:
        return 0, f"the pack does not read back whole: {problem}"
    if in_pack.get(0, (None,))[0] != manifest.header:
        return 0, "the pack does not start with its own warcinfo record"
    for part in manifest.parts:
        original = warc_dir / part.name
        if original.exists():
            problem = _check_part(pack, part, original, in_pack, known.get(part.name))
            if problem is not None:
                return 0, problem
    return len(in_pack) - 1, None


def _check_part(
    pack: Path, part: Part, original: Path, in_pack: Records, records: Records | None
) -> str | None:
    if original.stat().st_size != part.size:
        return f"{part.name} is no longer {part.size:,} bytes"
    if records is None:
        records, problem = records_of(original)
        if problem is not None:
            return f"{part.name}: {problem}"
    if not _same_bytes(pack, part.start, original):
        return f"the bytes of {part.name} are not the same in the pack"
    for offset, (length, record_id) in records.items():
        if in_pack.get(part.start + offset) != (length, record_id):
            return (
                f"record {record_id} of {part.name} (offset {offset}) is not at offset "
                f"{part.start + offset} of the pack"
            )
    return None


def _same_bytes(pack: Path, start: int, original: Path) -> bool:
    """Whether `original`'s bytes are those of `pack` from `start` on."""
    with pack.open("rb") as packed, original.open("rb") as source:
        packed.seek(start)
        while chunk := source.read(CHUNK):
            if packed.read(len(chunk)) != chunk:
                return False
    return True
