"""WARC files in S3-compatible object storage (`--storage s3://bucket/prefix`), end to end.

The replica is crawled with `--storage` against moto's S3 server on loopback (a real process,
tests/s3_server.py), twice, the second time two months on (CPPCC_NOW), so the first crawl's
articles come back as revisits (the replica answers 304). Then `verify`, `reindex` and
`export` read the stored objects from a home that has no WARC file of its own.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer
from tests.conftest import (
    REPLICA_SEEDS,
    CliResult,
    GatedReplica,
    run_cli,
    run_cli_reading,
    start_cli,
)
from tests.s3_server import S3Server, s3_server  # noqa: F401 (the fixture, used by name)
from tests.test_export import WACZ

BUCKET = "cppcc-archive-test"
STORAGE = f"s3://{BUCKET}/warc"


@dataclass
class Stored:
    home: Path
    seeds: Path
    s3: S3Server
    client: Any

    def cli(self, *args: str, home: Path | None = None) -> CliResult:
        where = ("--home", str(home or self.home), "--seeds", str(self.seeds))
        return run_cli_reading(*where, *args, env=self.s3.env)

    def objects(self) -> dict[str, bytes]:
        listed = self.client.list_objects_v2(Bucket=BUCKET, Prefix="warc/").get("Contents", [])
        return {
            item["Key"].removeprefix("warc/"): self.client.get_object(
                Bucket=BUCKET, Key=item["Key"]
            )["Body"].read()
            for item in listed
        }


def catalogue_rows(home: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home / "catalogue.sqlite3") as connection:
        return list(connection.execute(query))


@pytest.fixture(scope="module")
def stored(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stored]:  # noqa: F811
    client = s3_server.client()
    client.create_bucket(Bucket=BUCKET)
    home = tmp_path_factory.mktemp("stored") / "home"
    with ReplicaServer(build_site, not_found_page) as server:
        seeds = home.parent / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        where = ("--home", str(home), "--seeds", str(seeds))
        first = run_cli(*where, "crawl", "rmzxb/xs", "rmzxb/yw", "--storage", STORAGE,
                        env=s3_server.env)  # fmt: skip
        assert first.returncode == 0, first.stderr
        later = (datetime.now(UTC) + timedelta(days=60)).isoformat()
        second = run_cli(*where, "crawl", "rmzxb/xs", "rmzxb/yw", "--storage", STORAGE,
                         env={**s3_server.env, "CPPCC_NOW": later})  # fmt: skip
        assert second.returncode == 0, second.stderr
    yield Stored(home, seeds, s3_server, client)


def test_every_closed_warc_file_is_in_the_bucket_with_the_catalogues_digest(
    stored: Stored,
) -> None:
    local = sorted(path.name for path in (stored.home / "warc").glob("*.warc.gz"))
    objects = stored.objects()
    assert len(local) >= 2 and sorted(objects) == local  # both crawls' files
    rows = catalogue_rows(
        stored.home, "SELECT name, size, sha256, stored_url, committed_at FROM warc_files"
    )
    assert sorted(row[0] for row in rows) == local
    for name, size, sha256, url, committed_at in rows:
        body = objects[name]
        assert (size, sha256) == (len(body), hashlib.sha256(body).hexdigest())
        assert body == (stored.home / "warc" / name).read_bytes()
        assert url == f"{STORAGE}/{name}" and committed_at is not None


def test_revisits_refer_only_to_records_of_committed_files(stored: Stored) -> None:
    revisits = catalogue_rows(
        stored.home,
        "SELECT r.warc_filename, o.warc_filename, o.run_id, r.run_id FROM records r "
        "JOIN records o ON o.record_id = r.refers_to WHERE r.record_type = 'revisit'",
    )
    assert revisits, "the second crawl wrote no revisit"
    # Each refers to a record of the first crawl, whose files were committed when it ended,
    # or to one of its own file: never to an earlier, uncommitted file of its own crawl.
    for revisit_file, original_file, original_run, revisit_run in revisits:
        assert original_run < revisit_run or original_file == revisit_file


def test_pack_leaves_the_stored_files_alone(stored: Stored) -> None:
    # Packing them would move their records to a pack the store does not hold yet.
    result = stored.cli("pack", "--pack-min-age", "0", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    skipped = {skip["file"]: skip["reason"] for skip in report["skipped"]}
    local = sorted(path.name for path in (stored.home / "warc").glob("*.warc.gz"))
    assert skipped == dict.fromkeys(local, "in-object-storage"), report
    assert sorted(stored.objects()) == local  # nothing packed, nothing removed


def test_verify_reads_the_stored_objects_and_finds_them_whole(stored: Stored) -> None:
    result = stored.cli("verify", "--storage", STORAGE, "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["clean"] and report["problems"] == []
    assert f"{len(stored.objects())} stored objects read from {STORAGE}" in report["notes"]


def test_reindex_from_stored_objects_rebuilds_the_catalogue(stored: Stored, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"  # another machine: no WARC file, no catalogue
    result = stored.cli("reindex", "--storage", STORAGE, "--format", "json", home=fresh)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (fresh / "warc").exists()
    query = "SELECT url, title FROM articles ORDER BY url"
    assert catalogue_rows(fresh, query) == catalogue_rows(stored.home, query)
    query = "SELECT record_id, warc_filename, warc_offset FROM records ORDER BY record_id"
    assert catalogue_rows(fresh, query) == catalogue_rows(stored.home, query)
    query = "SELECT name, size, sha256 FROM warc_files WHERE committed_at IS NOT NULL ORDER BY 1"
    assert catalogue_rows(fresh, query) == catalogue_rows(stored.home, query)
    # From there, a WACZ of stored files alone, which `wacz validate` accepts.
    out = tmp_path / "yw.wacz"
    exported = stored.cli(
        "export", "wacz", "--channel", "yw", str(out), "--storage", STORAGE, home=fresh
    )
    assert exported.returncode == 0, exported.stderr
    assert WACZ.exists(), f"{WACZ}: the test extra's `wacz` is not installed"
    check = subprocess.run(
        [str(WACZ), "validate", "-f", str(out)], capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0 and "Validation succeeded" in check.stdout, check.stdout


def test_verify_catches_a_damaged_and_a_missing_object(stored: Stored) -> None:
    objects = stored.objects()
    damaged, missing = sorted(objects)[:2]
    body = bytearray(objects[damaged])
    body[len(body) // 2] ^= 0xFF
    stored.client.put_object(Bucket=BUCKET, Key=f"warc/{damaged}", Body=bytes(body))
    stored.client.delete_object(Bucket=BUCKET, Key=f"warc/{missing}")
    try:
        result = stored.cli("verify", "--storage", STORAGE, "--format", "json")
        assert result.returncode == 1, result.stdout + result.stderr
        kinds = {(p["kind"], p["file"]) for p in json.loads(result.stdout)["problems"]}
        assert kinds == {("damaged-object", damaged), ("missing-object", missing)}
        text = stored.cli("verify", "--storage", STORAGE)
        assert f"{STORAGE}/{missing} is missing from the store" in text.stdout
    finally:
        for name in (damaged, missing):
            stored.client.put_object(Bucket=BUCKET, Key=f"warc/{name}", Body=objects[name])


def test_a_file_that_cannot_be_stored_stays_local_fails_the_run_and_is_stored_later(
    s3_server: S3Server,  # noqa: F811
    replica_seeds: Path,
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    where = ("--home", str(home), "--seeds", str(replica_seeds))
    absent = "s3://cppcc-no-such-bucket/warc"
    result = run_cli(*where, "crawl", "rmzxb/xs", "--storage", absent, env=s3_server.env)
    assert result.returncode == 1, result.stderr
    assert "could not be stored" in result.stderr and "NoSuchBucket" in result.stderr
    local = sorted(path.name for path in (home / "warc").glob("*.warc.gz"))
    rows = catalogue_rows(home, "SELECT name, committed_at, error FROM warc_files")
    assert [row[0] for row in rows] == local and len(local) == 1
    assert rows[0][1] is None and "NoSuchBucket" in rows[0][2]
    runs = catalogue_rows(home, "SELECT status, error FROM runs")
    assert runs[0][0] == "failed" and "stay in" in runs[0][1]
    # The store is back: verify says what is not stored, and --repair stores it.
    s3_server.client().create_bucket(Bucket="cppcc-no-such-bucket")
    env = s3_server.env
    found = run_cli_reading(*where, "verify", "--storage", absent, env=env)
    assert found.returncode == 1 and "not in s3://cppcc-no-such-bucket/warc yet" in found.stdout
    repaired = run_cli_reading(*where, "verify", "--repair", "--storage", absent, env=env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "repair: stored 1 WARC file(s)" in repaired.stdout
    committed = catalogue_rows(home, "SELECT committed_at, error FROM warc_files")
    assert committed[0][0] is not None and committed[0][1] is None


def test_a_file_the_rotation_closes_is_stored_while_the_crawl_goes_on(
    s3_server: S3Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    bucket = "cppcc-archive-rotation"
    client = s3_server.client()
    client.create_bucket(Bucket=bucket)
    home = tmp_path / "home"
    # The list's second page is held back: the crawl stays under way as long as the test needs.
    with GatedReplica("/yw_n/index_2") as server:
        seeds = tmp_path / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        env = {**s3_server.env, "CPPCC_WARC_MAX_SIZE": "20k", "CPPCC_STORAGE_SWEEP_EVERY": "0.5"}
        crawl = start_cli("--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/yw",
                          "--storage", f"s3://{bucket}/warc", env=env)  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not client.list_objects_v2(Bucket=bucket).get("KeyCount"):
                assert crawl.poll() is None, crawl.communicate()
                assert time.monotonic() < deadline, "no file was stored while the crawl ran"
                time.sleep(0.2)
            assert crawl.poll() is None  # stored mid-crawl, not at its end
            listed = client.list_objects_v2(Bucket=bucket)["Contents"]
            for item in listed:
                body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                assert body == (home / "warc" / item["Key"].removeprefix("warc/")).read_bytes()
        finally:
            server.gate.set()
            _, err = crawl.communicate(timeout=120)
    assert crawl.returncode == 0, err
    local = sorted(path.name for path in (home / "warc").glob("*.warc.gz"))
    stored = client.list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(item["Key"].removeprefix("warc/") for item in stored) == local
    assert len(local) > len(listed)  # the files closed after, and the last one, at the end
    rows = catalogue_rows(home, "SELECT name FROM warc_files WHERE committed_at IS NOT NULL")
    assert sorted(row[0] for row in rows) == local


def test_a_storage_url_that_names_no_bucket_is_one_line(tmp_path: Path) -> None:
    result = run_cli("--home", str(tmp_path), "crawl", "--storage", "s3://No_Bucket/x")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "is no S3 bucket name" in result.stderr
