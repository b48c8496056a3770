"""Tests for pipelines/home.py: the archive home's folders and default catalogue."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import make_url

from pipelines.home import ArchiveHome


def test_the_home_names_its_folders_and_files(tmp_path: Path) -> None:
    home = ArchiveHome(tmp_path)
    assert (home.warc, home.indexes, home.logs) == (
        tmp_path / "warc", tmp_path / "indexes", tmp_path / "logs"
    )  # fmt: skip
    assert home.crawl_log(7, "rmzxb") == tmp_path / "logs" / "run-7-rmzxb.log"
    assert home.run_report(7, "rmzxb") == tmp_path / "logs" / "run-7-rmzxb.report.jsonl"


def test_the_default_catalogue_is_sqlite_in_the_home_unless_a_url_is_given(
    tmp_path: Path,
) -> None:
    home = ArchiveHome(tmp_path / "a home with spaces")
    url = make_url(home.catalogue_url())
    assert url.get_backend_name() == "sqlite"
    assert Path(url.database or "") == tmp_path / "a home with spaces" / "catalogue.sqlite3"
    assert home.catalogue_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_no_root_means_archive_in_the_current_folder() -> None:
    assert ArchiveHome.at(None).root == Path("archive")
    assert ArchiveHome.at("~/x").root == Path.home() / "x"
