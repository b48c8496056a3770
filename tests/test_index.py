"""Tests for scheduler.index: the `index` command's report and exit status."""

from __future__ import annotations

import io
import json
from pathlib import Path

from scheduler.cli.index import index_home as cmd_index
from tests.conftest import run_cli
from tests.test_cdxj import write_warc


def run_index(home: Path, fmt: str = "text") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = cmd_index(home, None, fmt, out, err)
    return status, out.getvalue(), err.getvalue()


def test_cmd_index_text_names_open_files_and_the_repair(tmp_path: Path) -> None:
    warc = write_warc(tmp_path / "warc")
    open_name = "CPPCC-20240501090000000-00000-7~crawler.test~0.warc.gz.open"
    (tmp_path / "warc" / open_name).write_bytes(b"")

    status, out, err = run_index(tmp_path)

    assert (status, err) == (0, "")
    summary, skipped = out.splitlines()
    assert summary == (
        f"index {tmp_path / 'indexes'}: 1 WARC file indexed, 0 up to date, "
        "1 open file skipped, 0 stale indexes removed, 0 failed"
    )
    assert skipped.startswith(f"skipped {open_name}: ")
    assert "`cppcc-archive verify --repair`" in skipped
    assert (tmp_path / "indexes" / f"{warc.name}.cdxj").exists()


def test_cmd_index_json_and_failure_exit(tmp_path: Path) -> None:
    warc = write_warc(tmp_path / "warc")
    (tmp_path / "warc" / "junk.warc.gz").write_bytes(b"not a WARC file\r\n\r\n")

    status, out, _ = run_index(tmp_path, "json")

    assert status == 1
    report = json.loads(out)
    assert report["indexed"] == [warc.name]
    assert [failure["file"] for failure in report["failed"]] == ["junk.warc.gz"]
    assert report["index_dir"] == str(tmp_path / "indexes")


def test_cmd_index_without_warc_folder_is_one_line(tmp_path: Path) -> None:
    status, out, err = run_index(tmp_path)

    assert (status, out) == (1, "")
    assert err.startswith("cppcc-archive: error: no WARC folder ")
    assert err.count("\n") == 1


def test_a_crawl_indexes_its_files_and_index_finds_them_up_to_date(
    tmp_path: Path, replica_seeds: Path
) -> None:
    home = tmp_path / "home"
    crawl = run_cli("--home", str(home), "--seeds", str(replica_seeds), "crawl", "rmzxb/yw")
    assert crawl.returncode == 0, crawl.stderr
    warcs = sorted(path.name for path in (home / "warc").glob("*.warc.gz"))
    indexes = sorted(path.name for path in (home / "indexes").glob("*.cdxj"))
    assert indexes == [f"{name}.cdxj" for name in warcs] and warcs

    again = run_cli("--home", str(home), "index", "--format", "json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["indexed"] == [] and sorted(report["up_to_date"]) == warcs
