"""What a new user meets in a first week with the command line: every input ends in output or
in one line and an exit status, never a traceback, and nothing is created by reading."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer
from scheduler.cli import build_parser
from tests.conftest import REPLICA_SEEDS, REPO, CliResult, run_cli, run_cli_reading


@dataclass(frozen=True)
class Archive:
    home: Path
    seeds: Path

    def cli(self, *args: str) -> CliResult:
        # Reads in this process (the conventions are main's); crawls as processes.
        return run_cli_reading("--home", str(self.home), "--seeds", str(self.seeds), *args)

    def json(self, *args: str) -> list[dict[str, object]]:
        result = self.cli(*args, "--format", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    folder = tmp_path_factory.mktemp("conventions")
    with ReplicaServer(build_site, not_found_page) as server:
        seeds = folder / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        archive = Archive(folder / "home", seeds)
        crawled = archive.cli("crawl", "rmzxb/xs", "rmzxb/yw")
        assert crawled.returncode == 0, crawled.stderr
        yield archive


def one_line_error(result: CliResult, code: int) -> str:
    """The one stderr line of a command that failed with `code`."""
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- dates at the ends of the calendar --------------------------------------------------------


@pytest.mark.parametrize(
    "bounds",
    [
        ("--since", "0001-01-01"),
        ("--until", "9999-12-31"),
        ("--since", "0001-01-01", "--until", "9999-12-31"),
    ],
)
def test_dates_at_the_ends_of_the_calendar_bound_nothing(
    archive: Archive, bounds: tuple[str, ...]
) -> None:
    everything = archive.json("articles", "--limit", "100")
    assert archive.json("articles", "--limit", "100", *bounds) == everything
    found = archive.json("articles", "--search", "政协", *bounds)
    assert found == archive.json("articles", "--search", "政协")
    exported = archive.cli("export", "jsonl", "-", *bounds)
    assert exported.returncode == 0, exported.stderr
    assert len(exported.stdout.splitlines()) == len(everything)
    reextracted = archive.cli("reextract", *bounds)
    assert reextracted.returncode == 0, reextracted.stderr


def test_changed_since_the_first_day_lists_what_changed(archive: Archive) -> None:
    assert archive.json("articles", "--changed-since", "0001-01-01") == []
    assert archive.json("articles", "--changed-since", "9999-12-31") == []


# -- what reading never does -------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ("articles",),
        ("runs",),
        ("show", "1"),
        ("schedule",),
        ("reextract",),
        ("verify",),
        ("export", "jsonl", "-"),
        ("db", "current"),
    ],
)
def test_reading_a_home_that_does_not_exist_creates_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    home = tmp_path / "no-such-home"
    result = run_cli("--home", str(home), *command)
    assert "Traceback" not in result.stderr
    assert not home.exists()
    if command != ("schedule",):  # the schedule is the seeds' and shows without a catalogue
        line = one_line_error(result, result.returncode)
        assert result.returncode in (1, 2) and str(home) in line


# -- refusals and messages ---------------------------------------------------------------------


def test_a_channel_named_without_its_key_is_refused(archive: Archive) -> None:
    line = one_line_error(archive.cli("crawl", "rmzxb/"), 2)
    assert "rmzxb/" in line


@pytest.mark.parametrize("command", [("verify",), ("reindex",), ("index",)])
def test_a_home_without_warc_files_is_the_same_usage_error_everywhere(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    (tmp_path / "home").mkdir()
    line = one_line_error(run_cli("--home", str(tmp_path / "home"), *command), 2)
    assert f"no WARC folder {tmp_path / 'home' / 'warc'}" in line


def test_reindex_takes_a_warc_file_as_well_as_a_folder(archive: Archive, tmp_path: Path) -> None:
    [first, *_] = sorted((archive.home / "warc").glob("*.warc.gz"))
    copy = tmp_path / "home"
    result = run_cli("--home", str(copy), "--seeds", str(archive.seeds), "reindex", str(first))
    assert result.returncode == 0, result.stderr
    assert len(Archive(copy, archive.seeds).json("articles", "--limit", "100")) > 0


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("sqlite://", "in memory"),
        ("sqlite:///:memory:", "in memory"),
        ("mysql://user@127.0.0.1/archive", "SQLite or PostgreSQL"),
    ],
)
def test_a_catalogue_url_no_catalogue_can_live_at_is_refused(
    tmp_path: Path, url: str, words: str
) -> None:
    for command in (("articles",), ("runs",), ("crawl", "rmzxb/yw")):
        line = one_line_error(run_cli("--home", str(tmp_path), "--db", url, *command), 2)
        assert words in line and "[postgres]" not in line


def test_a_file_that_is_no_sqlite_database_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "catalogue.sqlite3").write_bytes(b"these are notes, not a database\n" * 100)
    line = one_line_error(run_cli("--home", str(tmp_path), "articles"), 1)
    assert "catalogue.sqlite3" in line and "not a" in line and "server" not in line


def test_scrapy_crawl_started_by_hand_is_refused_in_one_line(tmp_path: Path) -> None:
    # It would take no channel lock and record no run, beside the service's crawls.
    home = tmp_path / "home"
    argv = [sys.executable, "-m", "scrapy", "crawl", "rmzxb", "-a", "channels=yw"]
    result = subprocess.run(
        [*argv, "-s", f"CPPCC_HOME={home}"], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    line = one_line_error(CliResult(result.returncode, result.stdout, result.stderr), 2)
    assert "records no run" in line and "`cppcc-archive crawl rmzxb`" in line
    assert not home.exists()


def test_readme_lists_every_command_and_action() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, sub in commands.choices.items():
        actions = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        names = [f"{name} {action}" for a in actions for action in a.choices] or [name]
        for listed in names:
            assert f"| `{listed}" in readme, f"README's command table lacks `{listed}`"
