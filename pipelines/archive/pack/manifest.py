"""The manifest of a pack being made: which files it packs and where, written before the pack
so that a packing killed at any moment can be finished, or undone, by the next one."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

# Beside the pack in the WARC folder. Neither ends in `.warc.gz`, so verify, index, reindex and
# salvage, which read `*.warc.gz` and `*.warc.gz.open`, never take them for WARC files.
MANIFEST_SUFFIX = ".pack.json"
PARTIAL_SUFFIX = ".packing"  # the pack while it is written and checked, before its rename


@dataclass(frozen=True)
class Part:
    """One packed file: its name, and where its bytes start in the pack."""

    name: str
    start: int
    size: int


@dataclass(frozen=True)
class Manifest:
    """A pack: its final name, the bytes of its own warcinfo member, then its parts in order."""

    pack: str
    header: int
    parts: tuple[Part, ...]

    @property
    def size(self) -> int:
        return self.header + sum(part.size for part in self.parts)

    def as_json(self) -> dict[str, object]:
        parts = [{"name": p.name, "start": p.start, "size": p.size} for p in self.parts]
        return {"pack": self.pack, "header": self.header, "parts": parts}


def manifest_path(warc_dir: Path, pack: str) -> Path:
    return warc_dir / (pack + MANIFEST_SUFFIX)


def partial_path(warc_dir: Path, pack: str) -> Path:
    return warc_dir / (pack + PARTIAL_SUFFIX)


def manifests(warc_dir: Path) -> list[Path]:
    """The manifests in `warc_dir`: each one a pack that was begun and not finished."""
    return sorted(warc_dir.glob(f"*{MANIFEST_SUFFIX}"))


def write_manifest(warc_dir: Path, manifest: Manifest) -> Path:
    """Write `manifest` whole and durably (aside, fsync, rename, fsync the folder)."""
    path = manifest_path(warc_dir, manifest.pack)
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "w", encoding="utf-8") as out:
        json.dump(manifest.as_json(), out, ensure_ascii=False, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)
    fsync_directory(warc_dir)
    return path


def read_manifest(path: Path) -> Manifest:
    """The manifest at `path`; ValueError when it is not one, OSError when it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        parts = tuple(Part(str(p["name"]), int(p["start"]), int(p["size"])) for p in data["parts"])
        return Manifest(str(data["pack"]), int(data["header"]), parts)
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is no pack manifest ({error})") from error


def fsync_directory(directory: Path) -> None:
    """Make creations, renames and removals in `directory` survive a power cut (POSIX)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_file(path: Path) -> None:
    """Make the bytes of the file at `path` durable."""
    with open(path, "rb") as file:
        os.fsync(file.fileno())
