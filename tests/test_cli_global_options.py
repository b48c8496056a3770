"""Global options of the command line: --version, --quiet and --verbose."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from tests.conftest import CliResult, run_cli


def test_version_prints_the_installed_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"cppcc-archive {importlib.metadata.version('cppcc-archive')}\n"


def crawled_home(home: Path, seeds: Path, *options: str) -> tuple[Path, CliResult]:
    """`home` with one small crawl of the replica in several WARC files (rotated at 20 kB)."""
    crawl = run_cli(
        "--home", str(home), "--seeds", str(seeds), *options, "crawl", "rmzxb/yw",
        "--max-list-pages", "1", env={"CPPCC_WARC_MAX_SIZE": "20k"},
    )  # fmt: skip
    assert crawl.returncode == 0, crawl.stderr
    return home, crawl


def progress_lines(result: CliResult) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("crawling rmzxb")]


def test_crawl_quiet_prints_nothing_when_all_went_well_and_verbose_every_count(
    tmp_path: Path, replica_seeds: Path
) -> None:
    _, quiet = crawled_home(tmp_path / "quiet", replica_seeds, "--quiet")
    assert quiet.stdout == "" and not progress_lines(quiet), quiet
    home, verbose = crawled_home(tmp_path / "verbose", replica_seeds, "-v")
    _, normal = crawled_home(tmp_path / "normal", replica_seeds)
    assert verbose.stdout.startswith("run ") and normal.stdout.startswith("run ")  # summaries
    log = home / "logs" / "run-1-rmzxb.log"
    assert f"cppcc-archive: run 1 started; rmzxb's Scrapy log: {log}" in verbose.stderr
    assert "Scrapy log" not in normal.stderr and progress_lines(normal)


def test_verify_prints_a_summary_unless_verbose_and_only_problems_when_quiet(
    tmp_path: Path, replica_seeds: Path
) -> None:
    home, _ = crawled_home(tmp_path / "home", replica_seeds)
    files = sorted((home / "warc").glob("*.warc.gz"))
    assert len(files) > 1
    normal = run_cli("--home", str(home), "verify")
    assert normal.returncode == 0, normal.stderr
    assert "verify: read" not in normal.stderr  # no line per WARC file
    assert normal.stdout.splitlines() == [
        f"verify {home / 'warc'}: {len(files)} WARC files, "
        + normal.stdout.split("WARC files, ", 1)[1].split("\n")[0]
    ]
    assert normal.stdout.rstrip().endswith(": clean")
    verbose = run_cli("--home", str(home), "verify", "--verbose")
    read = [line for line in verbose.stderr.splitlines() if line.startswith("verify: read")]
    assert len(read) == len(files)
    assert run_cli("--home", str(home), "-q", "verify").stdout == ""
    (home / "warc" / "EMPTY-20261206000000000-00001-1~host~0.warc.gz").write_bytes(b"")
    quiet = run_cli("--home", str(home), "-q", "verify")
    assert quiet.returncode == 1
    assert len(quiet.stdout.splitlines()) == 1 and "EMPTY-" in quiet.stdout, quiet.stdout
    normal = run_cli("--home", str(home), "verify")
    assert normal.stdout.splitlines()[0].endswith(": 1 problem")
    assert any("EMPTY-" in line for line in normal.stdout.splitlines()[1:])
