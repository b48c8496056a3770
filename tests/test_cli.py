"""The command line as a user meets it: help, exit codes, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("crawl", "articles", "show", "runs", "demo"):
        assert command in result.stdout
    assert "Exit status" in result.stdout


def test_subcommand_help_shows_global_options() -> None:
    result = run_cli("articles", "--help")
    assert result.returncode == 0
    assert "--since" in result.stdout and "--home" in result.stdout


def one_line_error(result_stderr: str) -> str:
    lines = result_stderr.strip().splitlines()
    assert len(lines) == 1, result_stderr
    assert "Traceback" not in result_stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (["--seeds", "{tmp}/absent.toml", "crawl"], 2, "seeds file not found"),
        (["--seeds", "{tmp}/bad.toml", "crawl"], 2, "not valid TOML"),
        (["crawl", "rmzxb/nosuch"], 2, "no channel 'nosuch'"),
        (["crawl", "nosuch"], 2, "no site 'nosuch'"),
        (["--home", "{tmp}/empty", "articles"], 1, "no catalogue at"),
        (["--home", "{tmp}/empty", "articles", "--since", "yesterday"], 2, "not a date"),
        (["--home", "{tmp}/empty", "articles", "--limit", "-3"], 2, "whole number"),
        (["--db", "postgresql://nobody@127.0.0.1:1/none", "articles"], 1, "127.0.0.1:1"),
        (["--db", "nonsense://", "runs"], 1, "nonsense"),
    ],
)
def test_user_mistakes_get_one_line_and_non_zero_exit(
    tmp_path: Path, args: list[str], code: int, expected: str
) -> None:
    (tmp_path / "bad.toml").write_text("[sites\n", encoding="utf-8")
    result = run_cli(*[arg.format(tmp=tmp_path) for arg in args])
    assert result.returncode == code
    line = one_line_error(result.stderr)
    assert expected in line
    assert line.startswith(("cppcc-archive: error:", "usage:")) or "error:" in line


def test_show_of_an_unknown_article_says_how_to_list_them(
    tmp_path: Path, replica_seeds: Path
) -> None:
    home = tmp_path / "home"
    crawl = run_cli(
        "--home",
        str(home),
        "--seeds",
        str(replica_seeds),
        "crawl",
        "rmzxb/yw",
        "--max-list-pages",
        "1",
    )
    assert crawl.returncode == 0, crawl.stderr
    result = run_cli("--home", str(home), "show", "999999")
    assert result.returncode == 2
    assert "cppcc-archive articles" in one_line_error(result.stderr)


def test_environment_variables_stand_for_global_options(
    tmp_path: Path, replica_seeds: Path
) -> None:
    env = {"CPPCC_ARCHIVE_HOME": str(tmp_path / "envhome"), "CPPCC_SEEDS": str(replica_seeds)}
    crawl = run_cli("crawl", "rmzxb/yw", "--max-list-pages", "1", env=env)
    assert crawl.returncode == 0, crawl.stderr
    assert list((tmp_path / "envhome" / "warc").glob("*.warc.gz"))
    assert (tmp_path / "envhome" / "catalogue.sqlite3").exists()
    listed = run_cli("articles", "--format", "csv", env=env)
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[0].startswith("id,published_at,site,channel")


def test_crawl_of_an_unreachable_site_fails_and_says_why(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.toml"
    seeds.write_text(
        '[sites.rmzxb]\nname = "x"\nbase_url = "http://127.0.0.1:9"\ndownload_delay = 0\n'
        '[sites.rmzxb.channels.yw]\nname = "要闻"\nlist = "/yw_n/index.shtml"\n',
        encoding="utf-8",
    )
    result = run_cli("--home", str(tmp_path / "h"), "--seeds", str(seeds), "crawl")
    assert result.returncode == 1
    assert "failed" in result.stdout and "reachable" in result.stdout
