"""The configuration file through the command line: it reaches the crawl, and loses to the
environment and to options; a bad one is one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import run_cli

CRAWL_CONFIG = """
[archive]
home = "{home}"
seeds = "{seeds}"

[warc]
operator = "archivist@example.org"
description = "人民政协网 news, replica"
is_part_of = "cppcc-test"
prefix = "CONFIGURED"
max_size = "20k"
"""


def warcinfo_fields(path: Path) -> dict[str, str]:
    """The fields of the warcinfo record opening a WARC file, read back with warcio."""
    with path.open("rb") as stream:
        record = next(iter(ArchiveIterator(stream)))
        assert record.rec_type == "warcinfo"
        text = record.content_stream().read().decode("utf-8")
    return dict(line.split(": ", 1) for line in text.splitlines() if line)


def test_a_crawl_takes_its_warc_settings_from_the_config_file(
    tmp_path: Path, replica_seeds: Path
) -> None:
    home = tmp_path / "home"
    config = tmp_path / "cppcc.toml"
    config.write_text(CRAWL_CONFIG.format(home=home, seeds=replica_seeds), encoding="utf-8")
    crawl = run_cli("--config", str(config), "crawl", "rmzxb/yw", "--max-list-pages", "1")
    assert crawl.returncode == 0, crawl.stderr
    files = sorted((home / "warc").glob("*.warc.gz"))
    # 20k rotates the files: each crossing of the size starts a new one.
    assert len(files) > 1 and all(f.name.startswith("CONFIGURED-") for f in files)
    assert all(f.stat().st_size < 20_000 + 100_000 for f in files)
    info = warcinfo_fields(files[0])
    assert info["operator"] == "archivist@example.org"
    assert info["description"] == "人民政协网 news, replica"
    assert info["isPartOf"] == "cppcc-test"


def test_environment_beats_the_file_and_an_option_beats_both(
    tmp_path: Path, replica_seeds: Path
) -> None:
    config = tmp_path / "cppcc.toml"
    config.write_text(
        f'[archive]\nhome = "{tmp_path / "from-file"}"\nseeds = "{replica_seeds}"\n'
        '[warc]\noperator = "file"\n',
        encoding="utf-8",
    )
    env = {"CPPCC_CONFIG": str(config), "CPPCC_WARC_OPERATOR": "environment"}
    crawl = run_cli("crawl", "rmzxb/yw", "--max-list-pages", "1", env=env)
    assert crawl.returncode == 0, crawl.stderr
    (first, *_) = sorted((tmp_path / "from-file" / "warc").glob("*.warc.gz"))
    assert warcinfo_fields(first)["operator"] == "environment"
    home = tmp_path / "from-option"
    crawl = run_cli("--home", str(home), "crawl", "rmzxb/yw", "--max-list-pages", "1", env=env)
    assert crawl.returncode == 0, crawl.stderr
    assert list((home / "warc").glob("*.warc.gz"))


def test_the_homes_own_config_file_is_read(tmp_path: Path, replica_seeds: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        f'[archive]\nseeds = "{replica_seeds}"\n[service]\ngrace = 5\n', encoding="utf-8"
    )
    # An empty variable is an unset one: the file's value stands.
    listed = run_cli("--home", str(home), "schedule", "--format", "json", env={"CPPCC_SEEDS": ""})
    assert listed.returncode == 0, listed.stderr
    assert '"rmzxb/yw"' in listed.stdout  # the replica's seeds, named only in the file
    (home / "config.toml").write_text('[archive]\nhome = "/elsewhere"\n', encoding="utf-8")
    moved = run_cli("--home", str(home), "schedule")
    assert moved.returncode == 2
    assert "[archive] home cannot be set in the home's own config.toml" in moved.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[service]\ngrace = 'soon'\n", "[service] grace is 'soon'; expected a whole number"),
        ("[service]\ntidy_schedule = 'daily'\n", "tidy_schedule is 'daily'; expected 5 cron"),
        ("[crawl]\nspeed = 3\n", "unknown key 'speed' in [crawl]"),
        ("[webui]\nport = 1\n", "unknown section [webui]"),
        ("[crawl\n", "not valid TOML"),
        (None, "cannot read it"),
    ],
)
def test_a_bad_config_file_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str | None, expected: str
) -> None:
    config = tmp_path / "cppcc.toml"
    if text is not None:
        config.write_text(text, encoding="utf-8")
    result = run_cli("--home", str(tmp_path), "--config", str(config), "runs")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"cppcc-archive: error: configuration file {config}: ")
    assert expected in lines[0]


def test_documented_variables_work_from_the_environment(
    tmp_path: Path, replica_seeds: Path
) -> None:
    home = tmp_path / "home"
    env = {"CPPCC_WARC_MAX_SIZE": "20k", "CPPCC_WALK_KNOWN_LIST_PAGES": "1"}
    args = ("--home", str(home), "--seeds", str(replica_seeds), "crawl", "rmzxb/yw")
    crawl = run_cli(*args, "--max-list-pages", "1", env=env)
    assert crawl.returncode == 0, crawl.stderr
    assert len(list((home / "warc").glob("*.warc.gz"))) > 1  # rotated at 20 kB
    bad = run_cli(*args, env={"CPPCC_WARC_MAX_SIZE": "huge"})
    assert bad.returncode == 2
    assert "environment variable CPPCC_WARC_MAX_SIZE is 'huge'; expected a size" in bad.stderr
