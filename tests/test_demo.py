"""`cppcc-archive demo`: a first try without the real sites."""

from __future__ import annotations

import re
import shlex
import shutil
import socket
from pathlib import Path

from tests.conftest import run_cli, run_cli_reading


def test_demo_archives_the_replica_and_prints_working_commands(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    result = run_cli("demo", "--home", str(home))
    assert result.returncode == 0, result.stderr + result.stdout
    assert re.search(r"demo crawl finished: pages \d+, new 1[0-9]", result.stdout)
    assert list((home / "warc").glob("*.warc.gz"))
    commands = [
        line.strip() for line in result.stdout.splitlines() if "cppcc-archive --home" in line
    ]
    assert len(commands) == 4
    for command in commands:
        # Each printed command works as printed.
        followed = run_cli(*shlex.split(command)[1:])
        assert followed.returncode == 0, (command, followed.stderr)
        assert followed.stdout.strip()
        if command.endswith(" schedule"):  # the demo's channels, not the real sites'
            channels = {line.split()[0] for line in followed.stdout.splitlines()[1:]}
            assert channels == {"rmzxb/xs", "rmzxb/yw"}, followed.stdout


def test_demo_without_home_uses_a_new_temporary_folder() -> None:
    result = run_cli("demo", env={"CPPCC_ARCHIVE_HOME": ""})
    assert result.returncode == 0, result.stderr
    match = re.search(r"archive home: (\S+)", result.stdout)
    assert match
    home = Path(match.group(1))
    try:
        assert home.name.startswith("cppcc-archive-demo-")
        assert (home / "catalogue.sqlite3").exists()
    finally:
        shutil.rmtree(home)


def test_demo_again_in_the_same_home_adds_no_duplicate(tmp_path: Path) -> None:
    home = str(tmp_path / "demo")
    assert run_cli("demo", "--home", home).returncode == 0
    first = run_cli_reading("--home", home, "articles", "--format", "csv").stdout.splitlines()
    again = run_cli("demo", "--home", home)
    assert again.returncode == 0, again.stderr
    assert "new 0" in again.stdout
    assert (
        run_cli_reading("--home", home, "articles", "--format", "csv").stdout.splitlines() == first
    )


def test_demo_again_while_its_old_port_is_taken_serves_on_a_free_one(tmp_path: Path) -> None:
    home = str(tmp_path / "demo")
    assert run_cli("demo", "--home", home).returncode == 0
    seeds = (tmp_path / "demo" / "demo-seeds.toml").read_text(encoding="utf-8")
    match = re.search(r"http://127\.0\.0\.1:(\d+)", seeds)
    assert match
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", int(match.group(1))))
        holder.listen()
        again = run_cli("demo", "--home", home)
    assert again.returncode == 0, again.stderr
    assert f"port {match.group(1)} of the earlier demo in this home is taken" in again.stderr
    assert "demo crawl finished" in again.stdout
