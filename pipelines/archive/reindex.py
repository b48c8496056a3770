"""Rebuild the catalogue from the WARC files alone: records, articles, versions, rejections.

Each article's normalised fields are archived in a `metadata` record beside its pages (see
pipelines/metadata.py); replaying those in WARC-Date order through the same writes a crawl
uses gives back the same articles, versions and captures. An article page archived without
one (the crawl died in between) is normalised again from its response, when its URL is one
of a seeded site's article URLs. Runs and channel locks are operational history, not in the
WARC files: rebuilt rows belong to no run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipelines.catalogue.records import ArchivedResponse, save_records
from pipelines.catalogue.writes import ArticleOutcome, save_article, save_rejection
from pipelines.metadata import ArchivedArticle, parse_fields
from pipelines.normalise import NotNormalisable, normalise_page
from pipelines.normalise.urls import seeded_article_site
from pipelines.seeds import Seeds, Site
from pipelines.warc.location import RecordLocation
from pipelines.warc.naming import OPEN_SUFFIX, WARC_SUFFIX
from pipelines.warc.reader import RecordUnreadable, read_stored_response
from pipelines.warc.records import parse_not_modified
from pipelines.warc.scan import Damage, ScannedRecord, scan_warc

logger = logging.getLogger(__name__)

COMMIT_EVERY = 200  # rows per transaction


@dataclass
class ReindexReport:
    """What a rebuild read and wrote."""

    files: int = 0
    records: int = 0
    articles: dict[str, int] = field(default_factory=dict)  # outcome -> count
    rejections: int = 0
    renormalised: int = 0  # article pages without a metadata record, normalised again
    open_files: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "file: why"

    def as_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "records": self.records,
            "articles": self.articles,
            "rejections": self.rejections,
            "renormalised": self.renormalised,
            "open_files": self.open_files,
            "unreadable": self.unreadable,
        }

    def summary(self) -> str:
        articles = sum(self.articles.values())
        return (
            f"reindexed {self.files} WARC file(s): {self.records} records, {articles} articles "
            f"({self.articles.get('new', 0)} new), {self.rejections} rejected pages, "
            f"{self.renormalised} normalised again"
        )


@dataclass
class _Scan:
    """Everything read from the files, before any of it is written."""

    responses: dict[str, ArchivedResponse] = field(default_factory=dict)  # by record id
    by_id: dict[str, RecordLocation] = field(default_factory=dict)
    described: list[tuple[RecordLocation, ArchivedArticle]] = field(default_factory=list)
    # 200 responses of article URLs by record id: (their folder, where, the site claiming them);
    # their blocks are read again only for the few without a metadata record.
    pages: dict[str, tuple[Path, RecordLocation, str]] = field(default_factory=dict)


def warc_files(paths: Iterable[Path], report: ReindexReport) -> list[Path]:
    """The closed WARC files of `paths` (folders, or WARC files themselves), oldest name first;
    `.open` ones noted in the report."""
    files = []
    for folder in paths:
        for path in sorted(folder.iterdir()) if folder.is_dir() else [folder]:
            if path.name.endswith(WARC_SUFFIX + OPEN_SUFFIX):
                report.open_files.append(str(path))
            elif path.name.endswith(WARC_SUFFIX):
                files.append(path)
    return sorted(files, key=lambda path: path.name)


def reindex(
    sessions: sessionmaker[Session],
    files: Sequence[Path],
    seeds: Seeds,
    report: ReindexReport,
    on_progress: Callable[[str], None] | None = None,
) -> ReindexReport:
    """Catalogue what `files` hold; safe to run again (records and captures are not doubled)."""
    scan = _Scan()
    for path in files:
        _read_file(path, scan, seeds, report)
        if on_progress:
            on_progress(f"read {path.name}")
    responses = list(scan.responses.values())
    for start in range(0, len(responses), COMMIT_EVERY):
        with sessions.begin() as session:
            save_records(session, responses[start : start + COMMIT_EVERY], run_id=None)
    described = {page for _, meta in scan.described for _, page in meta.pages}
    for index, (location, meta) in enumerate(sorted(scan.described, key=_by_date)):
        with sessions.begin() as session:
            _replay(session, location, meta, scan, report)
        if on_progress and (index + 1) % COMMIT_EVERY == 0:
            on_progress(f"catalogued {index + 1} articles")
    for record_id, (folder, location, site) in scan.pages.items():
        if record_id not in described:
            with sessions.begin() as session:
                _renormalise(session, folder, location, seeds.site(site), report)
    return report


def _by_date(item: tuple[RecordLocation, ArchivedArticle]) -> Any:
    return (item[0].fetched_at, item[0].filename, item[0].offset)


def _read_file(path: Path, scan: _Scan, seeds: Seeds, report: ReindexReport) -> None:
    report.files += 1
    try:
        for item in scan_warc(path):
            if isinstance(item, Damage):
                # One damaged member costs its own record: the scan goes on after it.
                report.unreadable.append(f"{path}:{item.offset}: {item.detail}")
                continue
            report.records += 1
            _take(item, scan, seeds, path.parent, report)
    except OSError as exc:
        report.unreadable.append(f"{path}: cannot be read: {exc}")


def _take(
    record: ScannedRecord, scan: _Scan, seeds: Seeds, folder: Path, report: ReindexReport
) -> None:
    location = record.location
    if record.record_type in ("response", "revisit"):
        _add_response(scan, location, record.http_headers)
        if record.record_type == "response" and record.http_status == 200:
            site = seeded_article_site(location.url, seeds.sites)
            if site is not None:  # list pages, pictures, robots.txt are never articles
                scan.pages[location.record_id] = (folder, location, site)
    elif record.record_type == "metadata":
        try:
            meta = parse_fields(record.block)
        except (ValueError, KeyError, TypeError) as exc:
            # One garbled record costs its article, not the rest of the file.
            report.unreadable.append(f"{folder / location.filename}:{location.offset}: {exc}")
            return
        if meta is not None:
            scan.described.append((location, meta))
            return
        not_modified = parse_not_modified(record.block)
        revisit = scan.by_id.get(location.refers_to or "")
        if not_modified is not None and revisit is not None:
            # A 304's status and headers sit beside its revisit, which has no HTTP head.
            status, headers = not_modified
            _add_response(scan, replace(revisit, status=status), headers)


def _add_response(
    scan: _Scan, location: RecordLocation, http_headers: Sequence[tuple[str, str]]
) -> None:
    headers = {name.lower(): value for name, value in http_headers}
    validators = (headers.get("etag"), headers.get("last-modified"))
    scan.responses[location.record_id] = ArchivedResponse(location, *validators)
    scan.by_id[location.record_id] = location


def _replay(
    session: Session, location: RecordLocation, meta: ArchivedArticle, scan: _Scan, report: Any
) -> None:
    captures = [(number, scan.by_id[rid]) for number, rid in meta.pages if rid in scan.by_id]
    if meta.article is not None and captures:
        outcome = save_article(
            session,
            article=meta.article,
            site=meta.site,
            channel=meta.channel,
            captures=captures,
            run_id=None,
        )
        report.articles[outcome.value] = report.articles.get(outcome.value, 0) + 1
    elif meta.reason is not None:
        first = captures[0][1] if captures else None
        save_rejection(
            session,
            url=first.url if first else location.url,
            site=meta.site,
            channel=meta.channel,
            reason=meta.reason,
            detail=meta.detail,
            location=first,
            run_id=None,
        )
        report.rejections += 1


def _renormalise(
    session: Session, folder: Path, location: RecordLocation, seeded: Site, report: Any
) -> None:
    """An article page with no metadata record, normalised again from its response."""
    url, site = location.url, seeded.key
    try:
        stored = read_stored_response(folder, location)
    except RecordUnreadable as exc:
        report.unreadable.append(str(exc))
        return
    try:
        # As archived: the normaliser undoes the content coding, or rejects it `undecodable`.
        article = normalise_page(
            url,
            stored.headers,
            stored.body,
            profile=seeded.profile,
            fetched_at=location.fetched_at,
        )
    except NotNormalisable as exc:
        save_rejection(
            session, url=url, site=site, channel="", reason=exc.reason, detail=str(exc),
            location=location, run_id=None,
        )  # fmt: skip
        report.rejections += 1
        return
    outcome = save_article(
        session, article=article, site=site, channel="", captures=[(1, location)],
        run_id=None,
    )  # fmt: skip
    report.renormalised += 1
    if outcome is ArticleOutcome.NEW:
        report.articles["new"] = report.articles.get("new", 0) + 1
