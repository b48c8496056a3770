"""Re-normalise catalogued articles from their archived WARC records, without the network.

After a site profile changes, the catalogue can be brought up to date from the WARC files
alone: each article's latest capture of each page is read back at its recorded offset,
normalised again with the site's profile, and saved when the result differs.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, selectinload

from pipelines.archive.spans import WorkerPool, jobs_for, worker_pool
from pipelines.catalogue.models import ArchivedRecord, ArticleRecord, Capture
from pipelines.catalogue.queries import article_ids
from pipelines.catalogue.records import IN_CHUNK, location_of
from pipelines.catalogue.views import article_to_article
from pipelines.catalogue.writes import ArticleOutcome, save_article
from pipelines.normalise import Article, NotNormalisable, merge_pages, normalise_page, profile_named
from pipelines.profiles.model import SiteProfile
from pipelines.warc.location import RecordLocation
from pipelines.warc.reader import RecordUnreadable, read_stored_response

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 100  # articles between two progress lines
COMMIT_EVERY = 50  # articles per transaction: a long run keeps what it did if stopped
# Articles worth reading on several processes when --jobs is not given: fewer are read
# before the workers would have started.
ENOUGH_ARTICLES = 4 * COMMIT_EVERY
TASKS_A_CHUNK = 10  # articles handed to a worker at a time: fewer, larger messages


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
    jobs: int | None = 1,
) -> ReextractReport:
    """Re-normalise the matching articles from the WARC files in `warc_dir`, saving changes.

    `profiles` are the seeded sites' profiles by site key; a site not among them is read with
    the bundled profile of its name. The pages are read and normalised on `jobs` processes
    (pipelines/archive/spans.py); this one reads and writes the catalogue, article by article
    in id order, as with one job.

    Commits every COMMIT_EVERY articles and at the end. `on_progress(done, total)` is called
    every PROGRESS_EVERY articles. Dates are inclusive days in Asia/Shanghai.
    """
    ids = article_ids(session, site=site, channel=channel, since=since, until=until)
    report = ReextractReport()
    profiles = dict(profiles or {})
    done = 0
    jobs = jobs_for(jobs, len(ids), ENOUGH_ARTICLES)
    with worker_pool(jobs, _set_reading, (warc_dir, profiles)) as pool:
        # A batch is read by the workers while the one before it is compared and saved here.
        waiting: deque[list[_Examined]] = deque()
        for start in range(0, len(ids), COMMIT_EVERY):
            waiting.append(_submitted(session, pool, ids[start : start + COMMIT_EVERY], profiles))
            while len(waiting) > 1 or (waiting and start + COMMIT_EVERY >= len(ids)):
                batch = waiting.popleft()
                _conclude(session, batch, report)
                session.commit()
                session.expunge_all()  # keep memory flat on a large catalogue
                for number in range(done + 1, done + len(batch) + 1):
                    if on_progress is not None and number % PROGRESS_EVERY == 0:
                        on_progress(number, len(ids))
                done += len(batch)
    session.commit()
    return report


@dataclass(frozen=True)
class _Page:
    """A page to normalise again: its capture's URL and time, where its payload is."""

    url: str
    fetched_at: datetime
    payload: RecordLocation


@dataclass(frozen=True)
class _Task:
    """What a worker needs to read an article again: plain values, no catalogue rows."""

    url: str
    site: str
    pages: tuple[_Page, ...]


@dataclass(frozen=True)
class _Examined:
    """An article on its way: its captures, and its fresh content or why there is none."""

    article_id: int
    url: str
    captures: list[tuple[int, RecordLocation]]
    outcome: Callable[[], Article | Failure] | None  # None: the row is gone


def _submitted(
    session: Session, pool: WorkerPool, ids: Sequence[int], profiles: Mapping[str, SiteProfile]
) -> list[_Examined]:
    """The articles `ids` (one batch, in order), their pages handed to the workers."""
    query = select(ArticleRecord).where(ArticleRecord.id.in_(ids))
    query = query.options(selectinload(ArticleRecord.captures))
    rows = {row.id: row for row in session.scalars(query)}
    latest = {row.id: latest_captures(row.captures) for row in rows.values()}
    payloads = _payloads(session, [c for captures in latest.values() for c in captures])
    examined, tasks = [], []
    for article_id in ids:
        row = rows.get(article_id)
        if row is None:
            examined.append(_Examined(article_id, "", [], None))
            continue
        try:
            task = _task(row, latest[row.id], payloads, profiles)
        except Exception as exc:  # as a failure to read the pages: see _failure
            examined.append(_Examined(article_id, row.url, [], _given(_failure(row.url, exc))))
            continue
        captures = [(capture.page_number, location_of(capture)) for capture in latest[row.id]]
        examined.append(_Examined(article_id, row.url, captures, None))
        tasks.append((len(examined) - 1, task))
    for start in range(0, len(tasks), TASKS_A_CHUNK):
        chunk = tasks[start : start + TASKS_A_CHUNK]
        results = pool.submit(_read_articles, [task for _, task in chunk])
        for number, (index, _) in enumerate(chunk):
            examined[index] = replace(examined[index], outcome=_nth(results, number))
    return examined


def _given(failure: Failure) -> Callable[[], Failure]:
    return lambda: failure


def _nth(
    results: Callable[[], list[Article | Failure]], number: int
) -> Callable[[], Article | Failure]:
    return lambda: results()[number]


def _conclude(session: Session, batch: Sequence[_Examined], report: ReextractReport) -> None:
    """Compare each article of the batch with what its pages give now; save the changed."""
    query = select(ArticleRecord).where(ArticleRecord.id.in_([e.article_id for e in batch]))
    rows = {row.id: row for row in session.scalars(query)}
    for examined in batch:
        if examined.outcome is None:
            continue  # deleted since it was listed
        report.examined += 1
        fresh = examined.outcome()
        row = rows.get(examined.article_id)
        if isinstance(fresh, Failure):
            report.failures.append(fresh)
        elif row is None:
            report.failures.append(Failure(examined.url, "deleted from the catalogue meanwhile"))
        elif _save_if_changed(session, row, fresh, examined.captures) is ArticleOutcome.UPDATED:
            report.changed += 1
        else:
            report.unchanged += 1


def _failure(url: str, exc: Exception) -> Failure:
    if isinstance(exc, CannotReextract | NotNormalisable):
        return Failure(url, _reason(exc))
    # A page the normaliser chokes on must not stop the run over every other article:
    # logged with its traceback, and counted as a failure like the others.
    logger.error("re-extracting %s failed", url, exc_info=exc)
    return Failure(url, f"unexpected {type(exc).__name__}: {exc}")


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
    session = object_session(row)
    latest = latest_captures(row.captures)
    payloads = _payloads(session, latest) if session is not None else {}
    task = _task(row, latest, payloads, {row.site: profile} if profile is not None else {})
    captures = [(capture.page_number, location_of(capture)) for capture in latest]
    return _normalised(task, warc_dir, profile or profile_named(row.site)), captures


def _task(
    row: ArticleRecord,
    latest: Sequence[Capture],
    payloads: Mapping[str, RecordLocation | CannotReextract],
    profiles: Mapping[str, SiteProfile],
) -> _Task:
    """What reading the row's latest captures again takes."""
    if row.site not in profiles:
        try:
            profile_named(row.site)
        except KeyError as exc:
            raise CannotReextract(f"{exc.args[0]}; is site {row.site!r} in the seeds?") from None
    if not latest or latest[0].page_number != 1:
        raise CannotReextract("no capture of page 1 in the catalogue")
    pages = []
    for capture in latest:
        payload = payloads[capture.record_id]
        if isinstance(payload, CannotReextract):
            raise payload
        pages.append(_Page(capture.url, capture.fetched_at, payload))
    return _Task(row.url, row.site, tuple(pages))


def _payloads(
    session: Session, captures: Sequence[Capture]
) -> dict[str, RecordLocation | CannotReextract]:
    """Where each capture's payload is (by its record id): its own response, or the original
    a revisit stands for; why not, for a revisit of a record the catalogue does not know."""
    records = _records_by_id(session, [capture.record_id for capture in captures])
    originals = _records_by_id(
        session, [r.refers_to or "" for r in records.values() if r.record_type == "revisit"]
    )
    payloads: dict[str, RecordLocation | CannotReextract] = {}
    for capture in captures:
        record = records.get(capture.record_id)
        if record is None or record.record_type != "revisit":
            payloads[capture.record_id] = location_of(capture)
            continue
        original = originals.get(record.refers_to or "")
        payloads[capture.record_id] = original or CannotReextract(
            f"capture {capture.record_id} is a revisit of {record.refers_to}, which the "
            "catalogue does not know; `cppcc-archive reindex` restores it from the WARC files"
        )
    return payloads


def _records_by_id(session: Session, record_ids: Sequence[str]) -> dict[str, RecordLocation]:
    found = {}
    for start in range(0, len(record_ids), IN_CHUNK):
        query = select(ArchivedRecord).where(
            ArchivedRecord.record_id.in_(record_ids[start : start + IN_CHUNK])
        )
        found.update({row.record_id: location_of(row) for row in session.scalars(query)})
    return found


# Set in each worker process (and in this one with one job) before it reads.
_reading: tuple[Path, Mapping[str, SiteProfile]] = (Path(), {})


def _set_reading(warc_dir: Path, profiles: Mapping[str, SiteProfile]) -> None:
    global _reading
    _reading = (warc_dir, profiles)


def _read_articles(tasks: Sequence[_Task]) -> list[Article | Failure]:
    """Each article as its pages read now, or why it cannot be read (in a worker)."""
    return [_read_article(task) for task in tasks]


def _read_article(task: _Task) -> Article | Failure:
    warc_dir, profiles = _reading
    try:
        profile = profiles.get(task.site) or profile_named(task.site)
        return _normalised(task, warc_dir, profile)
    except Exception as exc:  # reported as the article's failure: see _failure
        return _failure(task.url, exc)


def _normalised(task: _Task, warc_dir: Path, profile: SiteProfile) -> Article:
    pages = [
        normalise_page(page.url, *read_response(warc_dir, page.payload)[1:], profile=profile,
                       fetched_at=page.fetched_at)
        for page in task.pages
    ]  # fmt: skip
    return replace(merge_pages(pages), url=task.url)


def latest_captures(captures: Sequence[Capture]) -> list[Capture]:
    """The capture fetched last of each page number, in page order."""
    latest: dict[int, Capture] = {}
    for capture in captures:
        kept = latest.get(capture.page_number)
        if kept is None or (capture.fetched_at, capture.id) > (kept.fetched_at, kept.id):
            latest[capture.page_number] = capture
    return [latest[number] for number in sorted(latest)]


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
