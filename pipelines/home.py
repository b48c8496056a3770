"""The archive home: its folders and its default catalogue, named in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = "archive"  # relative to where a command runs: ./archive
CATALOGUE_FILE = "catalogue.sqlite3"


@dataclass(frozen=True)
class ArchiveHome:
    """`root/warc/` (WARC files), `root/indexes/` (their CDXJ), `root/logs/` (crawl logs and
    run reports) and, unless a database URL is given, `root/catalogue.sqlite3`."""

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike[str] | None) -> ArchiveHome:
        """The home at `root` (`~` expanded), or ./archive when none is given."""
        return cls(Path(root or DEFAULT_HOME).expanduser())

    @property
    def warc(self) -> Path:
        return self.root / "warc"

    @property
    def indexes(self) -> Path:
        return self.root / "indexes"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def catalogue_path(self) -> Path:
        return self.root / CATALOGUE_FILE

    def catalogue_url(self, database_url: str | None = None) -> str:
        """`database_url` when given, else the SQLite catalogue in the home."""
        if database_url:
            return database_url
        # Imported here: every command names its home, few open the catalogue (`--help`,
        # `--version` and `index` need no SQLAlchemy, a tenth of a second to load).
        from sqlalchemy import URL

        return URL.create("sqlite", database=str(self.catalogue_path)).render_as_string()

    def crawl_log(self, run_id: int, site: str) -> Path:
        """The Scrapy log of the crawl of `site` in run `run_id`."""
        return self.logs / f"run-{run_id}-{site}.log"

    def run_report(self, run_id: int, site: str) -> Path:
        """Where the crawl of `site` in run `run_id` writes its progress and final report."""
        return self.logs / f"run-{run_id}-{site}.report.jsonl"
