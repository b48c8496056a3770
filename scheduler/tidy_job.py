"""The service's tidy job: pack small WARC files and expire crawl logs, on a schedule.

scheduler/service.py adds it (by this target's name) to an executor of its own, so a long
packing never holds up a channel's crawl; it stops at its next step when the service is
stopping (packing resumes from its manifest next time, so stopping loses nothing).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from pipelines.archive.tidy import TidySettings, TidyStopped, tidy_archive
from pipelines.catalogue.engine import catalogue_failure, make_engine, make_session_factory
from pipelines.errors import CppccArchiveError
from pipelines.home import ArchiveHome
from scheduler.service import RUNNING

logger = logging.getLogger("cppcc_archive.service")


def run_tidy(
    home: str, database_url: str, pack_below: int, min_age_s: float, retention_s: float
) -> None:
    """Tidy the archive once and log what was done; no failure of it ends the service."""
    settings = TidySettings(
        pack_below, timedelta(seconds=min_age_s), timedelta(seconds=retention_s)
    )
    engine = make_engine(database_url)
    try:
        report = tidy_archive(
            ArchiveHome(Path(home)),
            make_session_factory(engine),
            settings,
            stop_requested=lambda: RUNNING.stopping,
        )
    except TidyStopped as stopped:
        logger.info("tidy: %s", stopped)
        return
    except SQLAlchemyError as exc:
        RUNNING.errors += 1
        logger.error("tidy: not done: %s", catalogue_failure(engine, exc))
        return
    except CppccArchiveError as exc:
        RUNNING.errors += 1
        logger.error("tidy: not done: %s", exc)
        return
    except Exception:  # a bug of ours must not end the service: logged in full, and counted
        RUNNING.errors += 1
        logger.exception("tidy: broke (errors so far: %s)", RUNNING.errors)
        return
    finally:
        engine.dispose()
    logger.info("tidy: %s", report.summary())
    for line in report.problems():
        logger.warning("tidy: %s", line)
