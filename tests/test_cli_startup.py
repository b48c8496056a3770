"""What the command line loads before it does anything: `--help`, `--version` and a mistyped
option must not wait for SQLAlchemy, Alembic, APScheduler, the CDXJ indexer or Scrapy (over a
second in all), and a catalogue read loads the catalogue's packages and nothing else heavy."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from scheduler.cli import build_parser
from tests.conftest import REPO

HEAVY = (
    "apscheduler",
    "cdxj_indexer",
    "scrapy",
    "twisted",
    "sqlalchemy",
    "alembic",
    "surt",
    "lxml",
)
# Runs each argv through main() in one fresh interpreter and says, for each heavy package,
# the first argv after which it was loaded (None: build the parser, parse nothing).
PROBE = """
import contextlib, io, json, sys
import scheduler.cli
argvs, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
codes, loaded = [], {}
for argv in argvs:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            if argv is None:
                scheduler.cli.build_parser()
                codes.append(0)
            else:
                codes.append(scheduler.cli.main(argv))
        except SystemExit as exit:
            codes.append(exit.code)
    for name in heavy:
        if name in sys.modules:
            loaded.setdefault(name, argv)
print(json.dumps({"codes": codes, "loaded": loaded}))
"""


def probe(
    argvs: Sequence[Sequence[str] | None], heavy: Sequence[str], cwd: Path
) -> dict[str, object]:
    """Exit codes of `argvs` and which of `heavy` they loaded, run in a fresh interpreter."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CPPCC_")}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argvs), json.dumps(heavy)],
        capture_output=True, text=True, cwd=cwd, env={**env, "PYTHONPATH": str(REPO)},
        timeout=120, check=True,
    )  # fmt: skip
    return json.loads(completed.stdout)  # type: ignore[no-any-return]


def every_command(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Each command and action of the parser (`articles`, `db upgrade`, …)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name)
                yield from every_command(sub, (*path, name))


def test_building_the_parser_loads_no_heavy_package(tmp_path: Path) -> None:
    assert probe([None], HEAVY, tmp_path) == {"codes": [0], "loaded": {}}


def test_help_version_and_usage_errors_load_no_heavy_package(tmp_path: Path) -> None:
    helps = [[*command, "--help"] for command in every_command(build_parser())]
    mistakes = [[], ["nosuch"], ["articles", "--limit", "-1"], ["export", "zip", "-"]]
    found = probe([["--version"], ["--help"], *helps, *mistakes], HEAVY, tmp_path)
    assert found["loaded"] == {}
    assert found["codes"] == [0, 0] + [0] * len(helps) + [2] * len(mistakes)


def test_a_catalogue_read_loads_the_catalogue_and_no_scheduler_indexer_or_normaliser(
    tmp_path: Path,
) -> None:
    home = ["--home", str(tmp_path / "home")]
    heavy = ("sqlalchemy", "alembic", "apscheduler", "cdxj_indexer", "lxml", "scrapy", "twisted")
    created = probe([[*home, "db", "upgrade"]], heavy, tmp_path)
    assert created["codes"] == [0]
    assert set(created["loaded"]) == {"sqlalchemy", "alembic"}  # type: ignore[arg-type]
    # A catalogue at the newest schema is read without Alembic: one query says so.
    reads = [["articles"], ["articles", "--search", "政协"], ["runs"], ["show", "1"]]
    found = probe([[*home, *read] for read in reads], heavy, tmp_path)
    assert found["codes"] == [0, 0, 0, 2]  # `show 1`: no such article, a usage error
    assert set(found["loaded"]) == {"sqlalchemy"}  # type: ignore[arg-type]
