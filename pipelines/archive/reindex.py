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

from pipelines.archive.reading import (
    Described,
    NotModified,
    Read,
    Response,
    Unreadable,
    read_files,
)
from pipelines.catalogue.article_batches import ArticleSave, save_articles
from pipelines.catalogue.records import ArchivedResponse, save_records
from pipelines.catalogue.writes import ArticleOutcome, save_article, save_rejection
from pipelines.metadata import ArchivedArticle
from pipelines.normalise import NotNormalisable, normalise_page
from pipelines.seeds import Seeds, Site
from pipelines.warc.location import RecordLocation
from pipelines.warc.naming import OPEN_SUFFIX, WARC_SUFFIX
from pipelines.warc.reader import RecordUnreadable, read_stored_response

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
    jobs: int | None = 1,
) -> ReindexReport:
    """Catalogue what `files` hold; safe to run again (records and captures are not doubled).

    The files are read on `jobs` processes (pipelines/archive/spans.py); this one writes the
    catalogue, in the order one process reading the files in turn would, so version numbers
    and first-seen dates do not depend on `jobs`.
    """
    scan = _Scan()
    for path, read in read_files(files, seeds.sites, jobs):
        report.files += 1
        report.records += read.records
        for item in read.items:
            _take(item, scan, path, report)
        if on_progress:
            on_progress(f"read {path.name}")
    responses = list(scan.responses.values())
    for start in range(0, len(responses), COMMIT_EVERY):
        with sessions.begin() as session:
            save_records(session, responses[start : start + COMMIT_EVERY], run_id=None)
    described = {page for _, meta in scan.described for _, page in meta.pages}
    replayed = sorted(scan.described, key=_by_date)
    for start in range(0, len(replayed), COMMIT_EVERY):
        # A batch a transaction: a stop (Ctrl-C, SIGTERM) keeps the batches before it whole.
        with sessions.begin() as session:
            _replay(session, replayed[start : start + COMMIT_EVERY], scan, report)
        if on_progress and start + COMMIT_EVERY <= len(replayed):
            on_progress(f"catalogued {start + COMMIT_EVERY} articles")
    for record_id, (folder, location, site) in scan.pages.items():
        if record_id not in described:
            with sessions.begin() as session:
                _renormalise(session, folder, location, seeds.site(site), report)
    return report


def _by_date(item: tuple[RecordLocation, ArchivedArticle]) -> Any:
    return (item[0].fetched_at, item[0].filename, item[0].offset)


def _take(item: Read, scan: _Scan, path: Path, report: ReindexReport) -> None:
    """One thing read from the file at `path`, into what is to be written."""
    if isinstance(item, Unreadable):
        report.unreadable.append(f"{path}{item.where}: {item.detail}")
        return
    location = item.location
    if isinstance(item, Response):
        _add_response(scan, location, item.validators)
        if item.article_site is not None:
            scan.pages[location.record_id] = (path.parent, location, item.article_site)
    elif isinstance(item, Described):
        scan.described.append((location, item.meta))
    elif isinstance(item, NotModified):
        revisit = scan.by_id.get(location.refers_to or "")
        if revisit is not None:
            # A 304's status and headers sit beside its revisit, which has no HTTP head.
            _add_response(scan, replace(revisit, status=item.status), item.validators)


def _add_response(
    scan: _Scan, location: RecordLocation, validators: tuple[str | None, str | None]
) -> None:
    scan.responses[location.record_id] = ArchivedResponse(location, *validators)
    scan.by_id[location.record_id] = location


def _replay(
    session: Session,
    described: Sequence[tuple[RecordLocation, ArchivedArticle]],
    scan: _Scan,
    report: ReindexReport,
) -> None:
    """Catalogue what the metadata records say, in their order: articles (a run of them saved
    together, see save_articles) and rejected pages."""
    saves: list[ArticleSave] = []
    for location, meta in described:
        captures = [(number, scan.by_id[rid]) for number, rid in meta.pages if rid in scan.by_id]
        if meta.article is not None and captures:
            saves.append(ArticleSave(meta.article, meta.site, meta.channel, captures, run_id=None))
        elif meta.reason is not None:
            _save_articles(session, saves, report)
            saves = []
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
    _save_articles(session, saves, report)


def _save_articles(session: Session, saves: Sequence[ArticleSave], report: ReindexReport) -> None:
    for outcome in save_articles(session, saves):
        report.articles[outcome.value] = report.articles.get(outcome.value, 0) + 1


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
