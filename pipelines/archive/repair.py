"""Repair what `verify` found: close `.open` files of dead writers, catalogue from the WARC
files what the catalogue misses, and check again. Nothing is ever deleted; a catalogue that
cannot be written (a full disk) is one CatalogueError line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.archive.reindex import ReindexReport, reindex, warc_files
from pipelines.archive.storing import store_closed_files
from pipelines.archive.verify import UNCATALOGUED, Problem, ScanCache, Verification, verify_archive
from pipelines.archive.verify_stored import verify_with_store
from pipelines.catalogue.engine import catalogue_failure
from pipelines.catalogue.writes import upsert_site_channels
from pipelines.errors import CatalogueError
from pipelines.seeds import Seeds, site_rows
from pipelines.storage.store import ObjectStore
from pipelines.warc.salvage import salvage_open_files


@dataclass(frozen=True)
class Repair:
    """One thing `--repair` did."""

    # "closed", "truncated", "damaged", "conflict" (salvage), "recatalogued", "stored"
    action: str
    file: str | None
    detail: str


@dataclass
class Outcome:
    """A verify run: what it found, what it repaired, and the check after repairing."""

    found: Verification
    repairs: list[Repair] = field(default_factory=list)
    after: Verification | None = None

    @property
    def final(self) -> Verification:
        return self.after or self.found

    @property
    def clean(self) -> bool:
        return not self.final.problems

    def problems(self) -> list[tuple[Problem, bool]]:
        """Every problem found, first or after repairing, and whether it is gone now."""
        remaining, first = set(self.final.problems), set(self.found.problems)
        listed = [(problem, problem not in remaining) for problem in self.found.problems]
        return listed + [(p, False) for p in self.final.problems if p not in first]


def repair_archive(
    sessions: sessionmaker[Session],
    warc_dir: Path,
    seeds: Seeds,
    found: Verification,
    *,
    cache: ScanCache,
    on_progress: Callable[[str], None] | None = None,
    store: ObjectStore | None = None,
) -> Outcome:
    """Close `.open` files of dead writers, catalogue what the catalogue misses, put in the
    object store (`store`) the closed files it lacks, check again."""
    outcome = Outcome(found)
    if any(problem.kind == "open-file" for problem in found.problems):
        outcome.repairs += _salvage(warc_dir)
    current = _verify_again(sessions, warc_dir, seeds, cache, on_progress, store)
    if any(problem.kind in UNCATALOGUED for problem in current.problems):
        outcome.repairs.append(_recatalogue(sessions, warc_dir, seeds, on_progress))
        current = _verify_again(sessions, warc_dir, seeds, cache, on_progress, store)
    if store is not None and any(p.kind == "unstored-file" for p in current.problems):
        report = store_closed_files(sessions, warc_dir, store)
        outcome.repairs.append(Repair("stored", None, report.summary(str(store.url))))
        current = _verify_again(sessions, warc_dir, seeds, cache, on_progress, store)
    outcome.after = current
    return outcome


def _salvage(warc_dir: Path) -> list[Repair]:
    # Salvage itself leaves alone the files whose writer still runs, or ran on another host.
    return [
        Repair(report.status, report.original.name, report.message)
        for report in salvage_open_files(warc_dir)
        if not report.status.startswith("skipped")
    ]


def _recatalogue(
    sessions: sessionmaker[Session],
    warc_dir: Path,
    seeds: Seeds,
    on_progress: Callable[[str], None] | None,
) -> Repair:
    report = ReindexReport()
    try:
        with sessions.begin() as session:
            upsert_site_channels(session, site_rows(seeds))
        reindex(sessions, warc_files([warc_dir], report), seeds, report, on_progress)
    except DBAPIError as exc:
        # A full disk (SQLite: "database or disk is full"), a server gone: what was committed
        # stays, and a second run catalogues the rest.
        failure = catalogue_failure(_engine_of(sessions), exc)
        raise CatalogueError(
            f"{failure} (verify --repair read {report.records} records and catalogued "
            f"{sum(report.articles.values())} articles before it stopped; they are kept)"
        ) from None
    return Repair("recatalogued", None, f"catalogued from WARC: {report.summary()}")


def _engine_of(sessions: sessionmaker[Session]) -> Engine:
    bind = sessions.kw.get("bind")
    assert isinstance(bind, Engine)  # the command binds its sessions to an engine
    return bind


def _verify_again(
    sessions: sessionmaker[Session],
    warc_dir: Path,
    seeds: Seeds,
    cache: ScanCache,
    on_progress: Callable[[str], None] | None,
    store: ObjectStore | None = None,
) -> Verification:
    with sessions() as session:
        if store is not None:
            return verify_with_store(
                session, warc_dir, seeds, store, cache=cache, on_progress=on_progress
            )
        return verify_archive(session, warc_dir, seeds, cache=cache, on_progress=on_progress)
