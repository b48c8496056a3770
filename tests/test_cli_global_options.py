"""Global options of the command line: --version, --quiet and --verbose."""

from __future__ import annotations

import importlib.metadata

from tests.conftest import run_cli


def test_version_prints_the_installed_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"cppcc-archive {importlib.metadata.version('cppcc-archive')}\n"
