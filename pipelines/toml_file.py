"""Read a TOML file of the project's (seeds, a site profile) into a table, or one clear line."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pipelines.errors import CppccArchiveError


def read_toml(
    path: Path, kind: str, error: type[CppccArchiveError], *, when_missing: str = ""
) -> dict[str, Any]:
    """The file's table; `error` naming the file and what is wrong when it cannot be read.

    `kind` names the file in messages ("seeds file"); `when_missing` is added to the message
    for a file that is not there (how to give one).
    """
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {kind} not found{when_missing}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read the {kind}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
