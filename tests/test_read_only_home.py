"""An archive home nobody may write (another user's, a copy on read-only media) can be read:
`articles`, `show`, `runs` and `verify` open its SQLite catalogue read-only and change
nothing; a file that is no catalogue is one line that names it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import site
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer
from tests.conftest import CLI, REPLICA_SEEDS, REPO, CliResult, run_cli

# Reads what it must (the interpreter lives in root's home) and writes as `nobody` would.
AS_NOBODY = [
    "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
    "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search",
]  # fmt: skip
READS = [
    ("runs", "--format", "json"),
    ("articles", "--format", "json", "--limit", "100"),
    ("show", "1", "--format", "json"),
    ("verify",),
]


class Archive:
    """A crawled home and the seeds it was crawled with."""

    def __init__(self, home: Path, seeds: Path):
        self.home = home
        self.seeds = seeds

    def args(self, home: Path, *args: str) -> list[str]:
        return ["--home", str(home), "--seeds", str(self.seeds), *args]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    folder = tmp_path_factory.mktemp("archive")
    with ReplicaServer(build_site, not_found_page) as server:
        seeds = folder / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        archive = Archive(folder / "home", seeds)
        done = run_cli(*archive.args(archive.home, "crawl", "rmzxb/yw"))
        assert done.returncode == 0, done.stderr
        yield archive


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Path]:
    """A folder every user may reach, as a home another user reads would be.

    (SQLite checks its files with access(2), which ignores the capability `as_nobody` reads
    root's folders with: a path through pytest's private folder would look missing to it.)
    """
    folder = Path(tempfile.mkdtemp(prefix="cppcc-read-only-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            # SQLite removes its -wal and -shm files when the last connection closes, which
            # may be between the listing and this line: one gone is nothing to make writable.
            with contextlib.suppress(FileNotFoundError):
                path.chmod(path.stat().st_mode | 0o200)
        shutil.rmtree(folder)


def copy_home(archive: Archive, to: Path) -> Path:
    shutil.copytree(archive.home, to)
    return to


def freeze(folder: Path) -> None:
    """chmod -R a-w."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)


def contents(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def as_nobody(*args: str) -> CliResult:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("running as another user takes root and setpriv")
    completed = subprocess.run(
        [*AS_NOBODY, str(CLI), *args], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def as_nobody_without_privilege(*args: str) -> CliResult:
    """The CLI as `nobody` with no capability at all: through the system's Python, when it is
    the tests' version (the tests' own lives in root's home, which `nobody` may not read)."""
    system = Path("/usr/bin/python3")
    if os.geteuid() != 0 or shutil.which("setpriv") is None or not system.exists():
        pytest.skip("running as another user takes root, setpriv and /usr/bin/python3")
    version = subprocess.run(
        [str(system), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if version != str(sys.version_info[:2]):
        pytest.skip(f"/usr/bin/python3 is {version}, not the tests' Python")
    paths = [str(REPO), *site.getsitepackages()]
    program = f"import sys; sys.path[:0] = {paths!r}; from scheduler.cli import main; "
    program += "sys.exit(main(sys.argv[1:]))"
    completed = subprocess.run(
        [*AS_NOBODY[:4], str(system), "-c", program, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def reads(archive: Archive, home: Path, run: object = run_cli) -> list[tuple[int, str]]:
    results = [run(*archive.args(home, *args)) for args in READS]  # type: ignore[operator]
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    return [(r.returncode, r.stdout.replace(str(home), "HOME")) for r in results]


def test_a_home_nobody_may_write_reads_as_the_writable_one_and_stays_unchanged(
    archive: Archive, tmp_path: Path, shared: Path
) -> None:
    expected = reads(archive, copy_home(archive, tmp_path / "writable"))
    home = copy_home(archive, shared / "frozen")
    freeze(home)
    before = contents(home)
    assert reads(archive, home, as_nobody) == expected
    assert contents(home) == before  # not even a -shm file
    assert reads(archive, home) == expected  # root ignores the permissions: the usual path


def test_commits_still_in_the_write_ahead_log_are_read(
    archive: Archive, tmp_path: Path, shared: Path
) -> None:
    home = copy_home(archive, tmp_path / "home")
    catalogue = home / "catalogue.sqlite3"
    writer = sqlite3.connect(catalogue)
    try:
        # A crawl's writer was killed here: its last commit is in the -wal file only.
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("UPDATE articles SET title = 'WAL ' || title WHERE id = 1")
        writer.commit()
        copy = shared / "copy"
        copy.mkdir()
        for path in home.iterdir():
            if path.name.startswith("catalogue"):
                shutil.copy2(path, copy / path.name)
            elif path.is_dir():
                shutil.copytree(path, copy / path.name)
    finally:
        writer.close()
    assert (copy / "catalogue.sqlite3-wal").stat().st_size > 0
    freeze(copy)
    shown = as_nobody(*archive.args(copy, "show", "1", "--format", "text"))
    assert shown.returncode == 0, shown.stderr
    assert "WAL " in shown.stdout


def test_a_copy_on_read_only_media_can_be_read(archive: Archive, tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("mounting a file system read-only takes root and unshare")
    expected = reads(archive, copy_home(archive, tmp_path / "writable"))
    media = tmp_path / "media"
    media.mkdir()
    lines = []
    for args in READS:
        command = " ".join(f"'{arg}'" for arg in [str(CLI), *archive.args(media, *args)])
        lines.append(f'{command}; echo "exit $?"')
    # Even root cannot write a file system mounted read-only.
    script = (
        'mount -t tmpfs tmpfs "$1" && cp -a "$2"/. "$1" && mount -o remount,ro "$1" && '
        + " && ".join(lines)
    )
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(media), str(archive.home)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout.count("exit 0") == len(READS), result
    assert result.stdout.replace(str(media), "HOME") == "".join(
        f"{out}exit {code}\n" for code, out in expected
    )


def test_repairing_a_read_only_home_is_one_line(archive: Archive, shared: Path) -> None:
    home = copy_home(archive, shared / "home")
    with sqlite3.connect(home / "catalogue.sqlite3") as catalogue:
        catalogue.execute("DELETE FROM captures")  # something for the repair to write
    freeze(home)
    result = as_nobody(*archive.args(home, "verify", "--repair"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("cppcc-archive:")]
    assert len(errors) == 1, result.stderr
    assert "cannot write the catalogue database" in errors[0]
    assert "read-only here" in errors[0]


@pytest.mark.parametrize("what", ["text file", "folder", "unreadable"])
def test_a_catalogue_that_cannot_be_opened_is_one_line_without_server_advice(
    archive: Archive, shared: Path, what: str
) -> None:
    home = shared / "home"
    home.mkdir()
    catalogue = home / "catalogue.sqlite3"
    if what == "folder":
        catalogue.mkdir()
    else:
        catalogue.write_text("these are my notes, not a catalogue\n" * 100, encoding="utf-8")
    if what == "unreadable":
        shutil.copyfile(archive.home / "catalogue.sqlite3", catalogue)
        catalogue.chmod(0o600)  # root's: nobody may read it
        result = as_nobody_without_privilege(*archive.args(home, "articles"))
    else:
        result = run_cli(*archive.args(home, "articles"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cppcc-archive: error: cannot open the catalogue database")
    assert str(catalogue) in lines[0]
    assert "server" not in lines[0]


def test_crawling_a_home_nobody_may_write_is_one_line_that_says_so(
    archive: Archive, shared: Path
) -> None:
    home = copy_home(archive, shared / "home")
    freeze(home)
    before = contents(home)
    result = as_nobody(*archive.args(home, "crawl", "rmzxb/yw"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot be written here: run this where the archive can be written" in lines[0]
    assert contents(home) == before
