"""`cppcc-archive export`: WACZ packages that `wacz validate` accepts and pywb replays; JSONL, CSV.

The replica is crawled twice, the second time two months on (CPPCC_NOW), so the articles of
list page 1 are re-checked and archived again as revisits (the replica answers 304).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.metadata import parse_fields
from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer
from tests.conftest import REPLICA_SEEDS, CliResult, run_cli, run_cli_reading
from tests.pywb_tools import pywb_tool
from tests.test_replay_pywb import fetch, free_port, wait_until_answering

BIN = Path(sys.executable).parent
WACZ = BIN / "wacz"


@dataclass
class Archive:
    home: Path
    seeds: Path

    def cli(self, *args: str) -> CliResult:
        return run_cli_reading("--home", str(self.home), "--seeds", str(self.seeds), *args)

    def json(self, *args: str) -> Any:
        result = self.cli(*args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def articles(self, *filters: str) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.json(
            "articles", *filters, "--format", "json", "--limit", "1000"
        )
        return listed

    def export(self, *args: str) -> CliResult:
        result = self.cli("export", *args)
        assert result.returncode == 0, result.stderr
        return result


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    home = tmp_path_factory.mktemp("export") / "home"
    with ReplicaServer(build_site, not_found_page) as server:
        seeds = home.parent / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        archive = Archive(home, seeds)
        first = archive.cli("crawl", "rmzxb/xs", "rmzxb/yw")
        assert first.returncode == 0, first.stderr
        later = (datetime.now(UTC) + timedelta(days=60)).isoformat()
        second = run_cli(
            *("--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/xs", "rmzxb/yw"),
            env={"CPPCC_NOW": later},
        )
        assert second.returncode == 0, second.stderr
    yield archive


@dataclass
class Package:
    path: Path
    zip: zipfile.ZipFile
    warc: bytes
    stderr: str

    def pages(self) -> list[dict[str, Any]]:
        header, *pages = self.zip.read("pages/pages.jsonl").decode().splitlines()
        assert json.loads(header) == {
            "format": "json-pages-1.0",
            "id": "pages",
            "title": "All Pages",
        }
        return [json.loads(line) for line in pages]

    def records(self) -> list[Any]:
        """(type, headers, payload) of each record, digests checked."""
        found = []
        for record in ArchiveIterator(io.BytesIO(self.warc), check_digests="raise"):
            found.append((record.rec_type, record.rec_headers, record.content_stream().read()))
        return found

    def cdxj(self) -> list[tuple[str, dict[str, Any]]]:
        lines = gzip.decompress(self.zip.read("indexes/index.cdx.gz")).decode().splitlines()
        return [
            (line.split(" {", 1)[0], json.loads("{" + line.split(" {", 1)[1])) for line in lines
        ]


def export_package(archive: Archive, out: Path, *filters: str) -> Package:
    result = archive.export("wacz", *filters, str(out))
    package = zipfile.ZipFile(out)
    return Package(out, package, package.read("archive/data.warc.gz"), result.stderr)


@pytest.fixture(scope="module")
def yw(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Package:
    return export_package(archive, tmp_path_factory.mktemp("yw") / "yw.wacz", "--channel", "yw")


@pytest.mark.skipif(not WACZ.exists(), reason="py-wacz is not installed: pip install -e '.[test]'")
def test_wacz_validate_accepts_the_package(yw: Package) -> None:
    result = subprocess.run(
        [str(WACZ), "validate", "-f", str(yw.path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation succeeded" in result.stdout


def test_the_zip_stores_the_warc_and_index_uncompressed(yw: Package) -> None:
    kinds = {info.filename: info.compress_type for info in yw.zip.infolist()}
    assert kinds["archive/data.warc.gz"] == kinds["indexes/index.cdx.gz"] == zipfile.ZIP_STORED
    assert set(kinds) == {
        "archive/data.warc.gz", "indexes/index.cdx.gz", "indexes/index.idx",
        "pages/pages.jsonl", "datapackage.json", "datapackage-digest.json",
    }  # fmt: skip
    manifest = json.loads(yw.zip.read("datapackage.json"))
    assert manifest["wacz_version"] == "1.1.1" and manifest["software"].startswith("cppcc-archive")
    assert {r["path"]: r["bytes"] for r in manifest["resources"]}["archive/data.warc.gz"] == len(
        yw.warc
    )


def test_pages_list_every_article_with_its_title(archive: Archive, yw: Package) -> None:
    articles = archive.articles("--channel", "yw")
    assert len(articles) >= 5
    pages = yw.pages()
    assert sorted((p["url"], p["title"]) for p in pages) == sorted(
        (a["url"], a["title"]) for a in articles
    )
    assert all(datetime.fromisoformat(page["ts"]).tzinfo is not None for page in pages)


def test_the_warc_holds_captures_originals_requests_and_metadata(
    archive: Archive, yw: Package
) -> None:
    records = yw.records()
    assert records[0][0] == "warcinfo"
    by_id = {headers.get_header("WARC-Record-ID"): (kind, headers) for kind, headers, _ in records}
    requests = {h.get_header("WARC-Concurrent-To") for k, h, _ in records if k == "request"}
    about = {h.get_header("WARC-Refers-To"): h for k, h, _ in records if k == "metadata"}
    revisits = 0
    for article in archive.articles("--channel", "yw"):
        shown = archive.json("show", article["url"])
        for capture in shown["captures"]:
            kind, headers = by_id[capture["record_id"]]
            assert capture["record_id"] in requests
            if kind == "revisit":
                revisits += 1
                original = headers.get_header("WARC-Refers-To")
                assert by_id[original][0] == "response"
                assert original in requests
                if headers.get_header("WARC-Profile").endswith("server-not-modified"):
                    assert capture["record_id"] in about  # the 304's own head
        page_one = {c["record_id"] for c in shown["captures"] if c["page"] == 1}
        described = [
            parse_fields(payload)
            for kind, headers, payload in records
            if kind == "metadata" and headers.get_header("WARC-Refers-To") in page_one
        ]
        assert any(
            d is not None and d.article and d.article.url == article["url"] for d in described
        )
    assert revisits > 0  # the second crawl's 304s are in the package


def test_every_cdxj_line_points_at_a_readable_record(yw: Package) -> None:
    lines = yw.cdxj()
    assert lines and all(fields["filename"] == "data.warc.gz" for _, fields in lines)
    for _, fields in lines:
        start = int(fields["offset"])
        member = yw.warc[start : start + int(fields["length"])]
        (record,) = list(ArchiveIterator(io.BytesIO(member)))
        assert record.rec_type in ("response", "revisit")
        assert record.rec_headers.get_header("WARC-Target-URI") == fields["url"]
    for line in yw.zip.read("indexes/index.idx").decode().splitlines()[1:]:
        block = json.loads("{" + line.split(" {", 1)[1])
        index = yw.zip.read("indexes/index.cdx.gz")
        assert gzip.decompress(index[block["offset"] : block["offset"] + block["length"]])


def test_pictures_of_the_articles_are_in_the_package(archive: Archive, tmp_path: Path) -> None:
    package = export_package(archive, tmp_path / "xs.wacz", "--channel", "xs")
    pictures = {
        image["url"]
        for article in archive.articles("--channel", "xs")
        for image in archive.json("show", article["url"])["images"]
    }
    assert pictures
    records = package.records()
    ids = {h.get_header("WARC-Record-ID") for _, h, _ in records}
    captured = {
        h.get_header("WARC-Target-URI"): h for k, h, _ in records if k in ("response", "revisit")
    }
    assert pictures <= set(captured)
    # A picture whose bytes were archived before (under another URL) is a revisit of that.
    originals = {captured[url].get_header("WARC-Refers-To") for url in pictures} - {None}
    assert originals <= ids


def test_since_exports_fewer_articles(archive: Archive, yw: Package, tmp_path: Path) -> None:
    dates = sorted(
        date.fromisoformat(a["published_at"][:10]) for a in archive.articles("--channel", "yw")
    )
    since = dates[len(dates) // 2].isoformat()
    package = export_package(archive, tmp_path / "since.wacz", "--channel", "yw", "--since", since)
    expected = archive.articles("--channel", "yw", "--since", since)
    assert 0 < len(package.pages()) == len(expected) < len(yw.pages())
    assert len(package.warc) < len(yw.warc)


def test_pywb_replays_an_article_from_the_package(yw: Package, tmp_path: Path) -> None:
    records = yw.records()
    by_id = {h.get_header("WARC-Record-ID"): (k, h, p) for k, h, p in records}
    revisit = next(
        h for k, h, _ in records if k == "revisit" and "gzip" not in h.get_header("WARC-Target-URI")
    )
    url = revisit.get_header("WARC-Target-URI")
    _, _, original_body = by_id[revisit.get_header("WARC-Refers-To")]
    stamp = revisit.get_header("WARC-Date")[:19].translate(str.maketrans("", "", "-T:"))
    wb_manager = str(pywb_tool("wb-manager"))
    for command in (["init", "export"], ["add", "--unpack-wacz", "export", str(yw.path)]):
        done = subprocess.run([wb_manager, *command], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
    port, log = free_port(), tmp_path / "wayback.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [str(pywb_tool("wayback")), "--bind", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(base, process, log)
        reply = fetch(f"{base}/export/{stamp}id_/{url}")
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert reply.status == 200
    assert reply.body == original_body  # the revisit replays the page it stands for


def test_jsonl_and_csv_hold_the_articles_listed(archive: Archive, tmp_path: Path) -> None:
    listed = archive.articles("--channel", "yw")
    lines = archive.export("jsonl", "--channel", "yw", "-").stdout.splitlines()
    exported = [json.loads(line) for line in lines]
    summary_keys = listed[0].keys()
    assert [{k: e[k] for k in summary_keys} for e in exported] == listed
    shown = archive.json("show", listed[0]["url"])
    del shown["captures"]
    assert exported[0] == shown

    archive.export("csv", "--channel", "yw", str(tmp_path / "yw.csv"))
    with open(tmp_path / "yw.csv", encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [_from_csv(row, exported[0]) for row in rows] == exported


def _from_csv(row: dict[str, str], model: dict[str, Any]) -> dict[str, Any]:
    """A CSV row with its cells typed as in the JSON: lists and objects are JSON, None empty."""
    typed: dict[str, Any] = {}
    for name, cell in row.items():
        kind = type(model[name])
        if name == "section":
            typed[name] = cell.split(" > ") if cell else []
        elif kind in (list, dict):
            typed[name] = json.loads(cell)
        elif kind is int:
            typed[name] = int(cell)
        else:
            typed[name] = cell or None
    return typed


def test_export_csv_writes_the_section_as_articles_csv_does(
    archive: Archive, tmp_path: Path
) -> None:
    listed = archive.cli("articles", "--channel", "xs", "--limit", "1000", "--format", "csv")
    assert listed.returncode == 0, listed.stderr
    archive.export("csv", "--channel", "xs", str(tmp_path / "xs.csv"))
    with open(tmp_path / "xs.csv", encoding="utf-8", newline="") as stream:
        exported = {row["id"]: row["section"] for row in csv.DictReader(stream)}
    shown = {row["id"]: row["section"] for row in csv.DictReader(io.StringIO(listed.stdout))}
    assert exported == shown
    assert any(" > " in section for section in shown.values())  # a breadcrumb of two parts


def test_export_to_a_missing_folder_names_the_folder(archive: Archive, tmp_path: Path) -> None:
    for fmt in ("csv", "wacz"):
        out = tmp_path / "no-such-folder" / f"yw.{fmt}"
        result = archive.cli("export", fmt, "--channel", "yw", str(out))
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        [line] = result.stderr.splitlines()
        assert line.startswith("cppcc-archive: error: ") and str(out.parent) in line
        assert ".tmp" not in line and "mkdir" in line
    assert list(tmp_path.iterdir()) == []


def test_no_matching_article_is_one_line_and_exit_1(archive: Archive, tmp_path: Path) -> None:
    out = tmp_path / "none.wacz"
    result = archive.cli("export", "wacz", "--channel", "yw", "--since", "2999-01-01", str(out))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "--channel yw --since 2999-01-01" in result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_an_existing_out_is_kept_unless_forced(archive: Archive, tmp_path: Path) -> None:
    out = tmp_path / "taken.jsonl"
    out.write_text("keep me\n")
    refused = archive.cli("export", "jsonl", "--channel", "yw", str(out))
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert out.read_text() == "keep me\n"
    archive.export("jsonl", "--channel", "yw", "--force", str(out))
    assert len(out.read_text().splitlines()) == len(archive.articles("--channel", "yw"))
    assert archive.cli("export", "wacz", "-").returncode == 2  # a ZIP needs a file


def test_a_failed_export_leaves_no_half_package(archive: Archive, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(archive.home, home)
    for warc in sorted((home / "warc").glob("*.warc.gz"))[1:]:
        warc.unlink()  # the second crawl's file is gone
    out = tmp_path / "out" / "yw.wacz"
    out.parent.mkdir()
    result = Archive(home, archive.seeds).cli("export", "wacz", "--channel", "yw", str(out))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("cppcc-archive: error: WARC file ")
    assert list(out.parent.iterdir()) == []  # neither the package nor its pieces
