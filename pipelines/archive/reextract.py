"""Re-normalise catalogued articles from their archived WARC records, without the network.

After a site profile changes, the catalogue can be brought up to date from the WARC files
alone: each article's latest capture of each page is read back at its recorded offset,
normalised again with the site's profile, and saved when the result differs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, object_session

from pipelines.catalogue.models import ArticleRecord, Capture
from pipelines.catalogue.queries import article_ids
from pipelines.catalogue.records import location_of, record_by_id
from pipelines.catalogue.views import article_to_article
from pipelines.catalogue.writes import ArticleOutcome, save_article
from pipelines.normalise import Article, NotNormalisable, merge_pages, normalise_page, profile_named
from pipelines.profiles.model import SiteProfile
from pipelines.warc.location import RecordLocation
from pipelines.warc.reader import RecordUnreadable, read_stored_response

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 100  # articles between two progress lines
COMMIT_EVERY = 50  # articles per transaction: a long run keeps what it did if stopped


class CannotReextract(Exception):
    """An article cannot be re-read (WARC file gone, wrong record, no profile): says why."""


@dataclass(frozen=True)
class Failure:
    """An article that could not be re-read, and why."""

    url: str
    reason: str


@dataclass
class ReextractReport:
    """What a re-extraction examined and did."""

    examined: int = 0
    changed: int = 0
    unchanged: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def as_json(self) -> dict[str, Any]:
        return {
            "examined": self.examined,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "failures": [{"url": f.url, "reason": f.reason} for f in self.failures],
        }

    def summary(self) -> str:
        return (
            f"re-extracted {self.examined} article{'' if self.examined == 1 else 's'}: "
            f"{self.changed} changed, "
            f"{self.unchanged} unchanged, {self.failed} failed"
        )


def reextract_articles(
    session: Session,
    warc_dir: Path,
    *,
    site: str | None = None,
    channel: str | None = None,
    since: date | None = None,
    until: date | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    profiles: Mapping[str, SiteProfile] | None = None,
) -> ReextractReport:
    """Re-normalise the matching articles from the WARC files in `warc_dir`, saving changes.

    `profiles` are the seeded sites' profiles by site key; a site not among them is read with
    the bundled profile of its name.

    Commits every COMMIT_EVERY articles and at the end. `on_progress(done, total)` is called
    every PROGRESS_EVERY articles. Dates are inclusive days in Asia/Shanghai.
    """
    ids = article_ids(session, site=site, channel=channel, since=since, until=until)
    report = ReextractReport()
    for done, article_id in enumerate(ids, 1):
        row = session.get(ArticleRecord, article_id)
        if row is not None:
            _reextract_one(session, row, warc_dir, report, profiles or {})
        if done % COMMIT_EVERY == 0:
            session.commit()
            session.expunge_all()  # keep memory flat on a large catalogue
        if on_progress is not None and done % PROGRESS_EVERY == 0:
            on_progress(done, len(ids))
    session.commit()
    return report


def _reextract_one(
    session: Session,
    row: ArticleRecord,
    warc_dir: Path,
    report: ReextractReport,
    profiles: Mapping[str, SiteProfile],
) -> None:
    report.examined += 1
    try:
        fresh, captures = renormalise(row, warc_dir, profiles.get(row.site))
    except (CannotReextract, NotNormalisable) as exc:
        report.failures.append(Failure(row.url, _reason(exc)))
        return
    except Exception as exc:
        # A page the normaliser chokes on must not stop the run over every other article:
        # logged with its traceback, and counted as a failure like the others.
        logger.exception("re-extracting %s failed", row.url)
        report.failures.append(Failure(row.url, f"unexpected {type(exc).__name__}: {exc}"))
        return
    if _save_if_changed(session, row, fresh, captures) is ArticleOutcome.UPDATED:
        report.changed += 1
    else:
        report.unchanged += 1


def _reason(exc: Exception) -> str:
    if isinstance(exc, NotNormalisable):
        return f"no longer normalises: {exc.reason}: {exc}"
    return str(exc)


def renormalise(
    row: ArticleRecord, warc_dir: Path, profile: SiteProfile | None = None
) -> tuple[Article, list[tuple[int, RecordLocation]]]:
    """The article its latest captures hold now, under the catalogued canonical URL.

    Raises CannotReextract, or NotNormalisable for any page (a partial article is not saved
    over a whole one).
    """
    if profile is None:
        try:
            profile = profile_named(row.site)
        except KeyError as exc:
            raise CannotReextract(f"{exc.args[0]}; is site {row.site!r} in the seeds?") from None
    latest = latest_captures(row.captures)
    if not latest or latest[0].page_number != 1:
        raise CannotReextract("no capture of page 1 in the catalogue")
    pages = [_normalise_capture(capture, warc_dir, profile) for capture in latest]
    article = replace(merge_pages(pages), url=row.url)
    return article, [(capture.page_number, location_of(capture)) for capture in latest]


def latest_captures(captures: Sequence[Capture]) -> list[Capture]:
    """The capture fetched last of each page number, in page order."""
    latest: dict[int, Capture] = {}
    for capture in captures:
        kept = latest.get(capture.page_number)
        if kept is None or (capture.fetched_at, capture.id) > (kept.fetched_at, kept.id):
            latest[capture.page_number] = capture
    return [latest[number] for number in sorted(latest)]


def _normalise_capture(capture: Capture, warc_dir: Path, profile: SiteProfile) -> Article:
    _, headers, body = read_response(warc_dir, payload_location(capture))
    return normalise_page(
        capture.url, headers, body, profile=profile, fetched_at=capture.fetched_at
    )


def payload_location(capture: Capture) -> RecordLocation:
    """Where the capture's payload is: its own response, or the original a revisit stands for."""
    session = object_session(capture)
    record = record_by_id(session, capture.record_id) if session is not None else None
    if record is None or record.record_type != "revisit":
        return location_of(capture)
    original = record_by_id(session, record.refers_to or "") if session is not None else None
    if original is None:
        raise CannotReextract(
            f"capture {capture.record_id} is a revisit of {record.refers_to}, which the "
            "catalogue does not know; `cppcc-archive reindex` restores it from the WARC files"
        )
    return original


def read_response(
    warc_dir: Path, location: RecordLocation
) -> tuple[str, list[tuple[str, str]], bytes]:
    """(target URL, headers, body) of a response record, as archived: normalise_page undoes
    the body's content coding (or rejects it `undecodable`)."""
    try:
        stored = read_stored_response(warc_dir, location)
    except RecordUnreadable as exc:
        raise CannotReextract(str(exc)) from None
    return stored.url, stored.headers, stored.body


def _save_if_changed(
    session: Session,
    row: ArticleRecord,
    fresh: Article,
    captures: list[tuple[int, RecordLocation]],
) -> ArticleOutcome:
    if article_to_article(row) == fresh and row.content_hash == fresh.content_hash:
        return ArticleOutcome.UNCHANGED
    # save_article compares content hashes only, and the hash leaves out fields a profile
    # may fix (content_id, picture positions) and misses a row edited by hand: clearing it
    # makes save_article rewrite every field. Seen at no earlier than the row's last update,
    # so its "older capture never overwrites newer text" rule does not apply here.
    row.content_hash = ""
    seen_at = max(max(location.fetched_at for _, location in captures), row.updated_at)
    return save_article(
        session,
        article=fresh,
        site=row.site,
        channel=row.channel,
        captures=captures,
        run_id=None,
        seen_at=seen_at,
    )
