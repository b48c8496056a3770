"""Tests for web.replay's pywb configuration: where pywb looks for a record's WARC file, and
the S3 endpoint its boto3 is given (pywb itself reading them: tests/test_replay_storage.py)."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.home import ArchiveHome
from pipelines.storage.url import parse_storage_url
from web.replay import pywb_config, pywb_environment


def archive_paths(config: str) -> list[str]:
    line = next(line for line in config.splitlines() if "archive_paths:" in line)
    return list(json.loads(line.split(":", 1)[1]))  # JSON is YAML: the value as written


def test_without_storage_pywb_reads_the_home_only(tmp_path: Path) -> None:
    config = pywb_config(ArchiveHome(tmp_path))

    assert archive_paths(config) == [f"{tmp_path.resolve()}/warc/"]


def test_with_storage_the_home_comes_first_then_the_store(tmp_path: Path) -> None:
    home = ArchiveHome(tmp_path / "home")

    in_s3 = pywb_config(home, parse_storage_url("s3://bucket/some/prefix/"))
    in_bucket_root = pywb_config(home, parse_storage_url("s3://bucket"))
    in_folder = pywb_config(home, parse_storage_url((tmp_path / "stored").as_uri()))

    local = f"{tmp_path.resolve()}/home/warc/"
    assert archive_paths(in_s3) == [local, "s3://bucket/some/prefix/"]
    assert archive_paths(in_bucket_root) == [local, "s3://bucket/"]
    assert archive_paths(in_folder) == [local, f"{tmp_path.resolve()}/stored/"]


def test_the_endpoint_goes_where_pywbs_boto3_reads_it() -> None:
    ours = {"CPPCC_S3_ENDPOINT": "http://127.0.0.1:9000", "AWS_ACCESS_KEY_ID": "k", "PATH": "/bin"}

    assert pywb_environment(ours) == {**ours, "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"}
    # No endpoint of ours: boto3's own (AWS_ENDPOINT_URL, else AWS) stays as it was.
    assert pywb_environment({"AWS_ENDPOINT_URL": "http://x"}) == {"AWS_ENDPOINT_URL": "http://x"}
