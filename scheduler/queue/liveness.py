"""A worker's standing in the queue: alive in the other workers' eyes, or taken for dead.

Every worker judges the others by their heartbeat in `procrastinate_workers`: one silent for a
lease is dead, and its jobs are queued again. A worker cut from the catalogue for a lease is
judged so too, though it lives: its crawls must then stop and its jobs be left to whoever runs
them now. `watch_standing` says when that happens; `GuardedWorker` never records the end of a
job that is no longer its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from pipelines.errors import CatalogueError, CatalogueUnreachable
from scheduler.queue.jobs import CRAWL_TASK

if TYPE_CHECKING:
    import procrastinate
    from procrastinate.worker import Worker

logger = logging.getLogger("cppcc_archive.worker")

_OWN_HEARTBEAT = """
SELECT extract(epoch FROM now() - last_heartbeat)::float8 AS age
  FROM procrastinate_workers WHERE id = %(worker)s
"""
# One statement, so that two workers never both release a job, nor release one a third worker
# claimed meanwhile (procrastinate's retry_job_by_id retries whatever job is `doing`). A job
# whose worker was pruned has no worker left (ON DELETE SET NULL).
_RELEASE_STALLED = """
UPDATE procrastinate_jobs AS job
   SET status = 'todo', attempts = job.attempts + 1, scheduled_at = now()
 WHERE job.status = 'doing' AND job.task_name = %(task)s
   AND job.worker_id IS DISTINCT FROM %(worker)s
   AND (job.worker_id IS NULL OR job.worker_id IN (
        SELECT id FROM procrastinate_workers
         WHERE last_heartbeat < now() - make_interval(secs => %(lease)s)))
RETURNING job.id, job.args ->> 'ref' AS ref
"""
_STILL_OURS = """
SELECT count(*) AS ours FROM procrastinate_jobs
 WHERE id = %(job)s AND status = 'doing' AND worker_id = %(worker)s
"""
DEAD = (
    "this worker was taken for dead: {why}; its crawls were stopped and its jobs run again "
    "on any worker; start it again (systemd: Restart=on-failure)"
)


async def watch_standing(app: procrastinate.App, worker: Worker, lease: float) -> None:
    """Every quarter lease, until cancelled: CatalogueError once the other workers may take
    this one for dead; meanwhile, every other time, queue again the jobs of silent workers."""
    from procrastinate.exceptions import ConnectorException

    last_answer, told, tick = time.monotonic(), False, 0
    while True:
        await asyncio.sleep(lease / 4)
        if worker.worker_id is None:  # not registered yet, or unregistered on its way out
            continue
        try:
            age = await _own_heartbeat_age(app, worker.worker_id)
            if tick % 2:
                await release_stalled_jobs(app, lease, worker.worker_id)
        except ConnectorException as exc:
            if time.monotonic() - last_answer > lease:
                raise CatalogueUnreachable(
                    DEAD.format(why=f"the job queue did not answer for a lease ({lease:.0f} s)")
                ) from None
            if not told:  # said once an outage
                logger.warning("the job queue does not answer: %s", _cause(exc))
                told = True
            continue
        if age is None or age > lease:
            why = "its heartbeat is gone" if age is None else f"no heartbeat for {age:.0f} s"
            raise CatalogueError(DEAD.format(why=f"{why} (lease {lease:.0f} s)"))
        if told:
            logger.warning("the job queue answers again")
        last_answer, told, tick = time.monotonic(), False, tick + 1


async def _own_heartbeat_age(app: procrastinate.App, worker_id: int) -> float | None:
    rows = await app.connector.execute_query_all_async(query=_OWN_HEARTBEAT, worker=worker_id)
    return float(rows[0]["age"]) if rows else None


async def release_stalled_jobs(app: procrastinate.App, lease: float, worker_id: int) -> None:
    """Queue again the crawl jobs of workers silent for a lease, then forget those workers."""
    released = await app.connector.execute_query_all_async(
        query=_RELEASE_STALLED, task=CRAWL_TASK, worker=worker_id, lease=lease
    )
    for job in released:
        logger.warning(
            "job %s (crawl %s) ran in a worker silent for more than %.0f s: queued again",
            job["id"], job["ref"], lease,
        )  # fmt: skip
    await app.job_manager.prune_stalled_workers(lease)


def _cause(exc: BaseException) -> str:
    """procrastinate's ConnectorException says only "Database error": the cause says why."""
    return " ".join(str(exc.__cause__ or exc).split())


def guarded_worker(app: procrastinate.App, **options: Any) -> Worker:
    """procrastinate's worker, recording a job's end only while the job is still its own."""
    from procrastinate.exceptions import ConnectorException
    from procrastinate.worker import Worker

    class GuardedWorker(Worker):
        # procrastinate ends a job by its id alone: a worker the others took for dead would
        # otherwise put back in the queue, or mark failed, the job another worker now runs
        # (procrastinate 3.10, Worker._persist_job_status).
        async def _persist_job_status(self, job: Any, *args: Any, **kwargs: Any) -> None:
            try:
                rows = await self.app.connector.execute_query_all_async(
                    query=_STILL_OURS, job=job.id, worker=self.worker_id
                )
            except ConnectorException:
                rows = [{"ours": 1}]  # let procrastinate try, and fail, as below
            if not rows[0]["ours"]:
                logger.warning(
                    "job %s (crawl %s) was taken back while this worker was silent: its end "
                    "is left to the worker that has it now", job.id, job.task_kwargs.get("ref"),
                )  # fmt: skip
                return
            try:
                await super()._persist_job_status(job, *args, **kwargs)
            except ConnectorException as exc:
                # Not raised: nothing awaits the job's task, and asyncio would print a
                # traceback. The job stays `doing`: this worker is lost to the queue (no
                # answer for as long as a query waits, a lease), and the lease releases it.
                logger.warning(
                    "job %s (crawl %s): its end could not be recorded: %s",
                    job.id, job.task_kwargs.get("ref"), _cause(exc),
                )  # fmt: skip

    return GuardedWorker(app=app, **options)


class _QuietProcrastinate(logging.Filter):
    """procrastinate's records on one line, and without its line for each job that failed:
    the worker says that in its own words (worker.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("procrastinate"):
            return True
        if getattr(record, "action", None) in {"job_error", "job_error_retry"}:
            return False
        record.exc_info, record.exc_text = None, None
        record.msg = " ".join(str(record.msg).split())
        return True


def quieten_libraries() -> None:
    """One line per event from the queue's libraries: procrastinate's without tracebacks, and
    psycopg's pool not once a second while the catalogue is away (watch_standing says it)."""
    for handler in logging.getLogger().handlers:  # a handler's filter sees every logger's
        if not any(isinstance(known, _QuietProcrastinate) for known in handler.filters):
            handler.addFilter(_QuietProcrastinate())
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
