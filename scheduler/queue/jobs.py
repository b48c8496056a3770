"""The crawl job: one channel crawled by the launcher in a worker, and how such a job is queued.

Politeness across workers rides on procrastinate's job locks: every job of a site carries the
lock of the site's host (`host:www.rmzxb.com.cn`), and procrastinate never runs two jobs with
one lock at once (a unique index on running jobs' locks), so two workers never crawl one site
together, each keeping its `download_delay`. Its queueing lock (the channel) keeps at most one
job of a channel waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from pipelines.errors import CrawlError
from pipelines.seeds import Channel, Seeds

if TYPE_CHECKING:
    import procrastinate
    from procrastinate.jobs import Job
    from procrastinate.retry import RetryDecision

CRAWL_TASK = "cppcc_archive.crawl_channel"
QUEUE = "crawls"
WORKER_CONTEXT = "cppcc_worker"  # the key of the worker's state in a job's context


class CrawlRunner(Protocol):
    """What runs a crawl job in a worker (worker.py's WorkerState)."""

    def crawl(self, ref: str, trigger: str, max_list_pages: int, job_id: int | None) -> str: ...


class RunAgain(Exception):
    """The job could not run now and should run again in `after` seconds: its channel is held
    by a run not yet known dead, or the worker stopped it on its way out."""

    def __init__(self, message: str, after: float) -> None:
        super().__init__(message)
        self.after = after


def crawl_channel(context: Any, ref: str, trigger: str, max_list_pages: int = 0) -> str:
    """The task: crawl channel `ref` with the launcher, in the worker that claimed the job."""
    runner: CrawlRunner = context.additional_context[WORKER_CONTEXT]
    return runner.crawl(ref, trigger, max_list_pages, context.job.id)


def register_tasks(app: procrastinate.App) -> None:
    """Make `app` know the crawl task (to queue it, or to run it)."""
    app.task(name=CRAWL_TASK, queue=QUEUE, pass_context=True, retry=_run_again_strategy())(
        crawl_channel
    )


def _run_again_strategy() -> Any:
    from procrastinate.retry import BaseRetryStrategy, RetryDecision

    class RunAgainWhenAsked(BaseRetryStrategy):
        """Run a job again only when it raised RunAgain: a crawl that failed is recorded as a
        failed run, and the next slot is the next try, as for the service."""

        def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
            if isinstance(exception, RunAgain):
                return RetryDecision(retry_in={"seconds": int(exception.after)})
            return None

    return RunAgainWhenAsked()


def host_lock(seeds: Seeds, channel: Channel) -> str:
    """The job lock of `channel`'s site: its host, as politeness is per host."""
    return "host:" + urlsplit(seeds.site(channel.site).base_url).netloc


@dataclass(frozen=True)
class Queued:
    """A channel's crawl job: the one just queued, or the one already waiting or running."""

    ref: str
    job_id: int
    status: str  # "todo" (waiting) or "doing" (running)
    new: bool  # False: an earlier job of the channel is still waiting (or running)


_PENDING = """
SELECT id, status::text AS status FROM procrastinate_jobs
 WHERE task_name = %(task)s AND queueing_lock = %(ref)s AND status IN ('todo', 'doing')
 ORDER BY (status = 'todo') DESC, id LIMIT 1
"""


def enqueue_crawl(
    app: procrastinate.App,
    seeds: Seeds,
    channel: Channel,
    *,
    trigger: str,
    max_list_pages: int = 0,
    unless_running: bool = False,
) -> Queued:
    """Queue a crawl of `channel`, unless one is already waiting (then that one is returned).

    `unless_running` (the schedule): a crawl of the channel still running counts too, so a
    slot that comes while the last one's crawl runs is skipped, as the service's
    `max_instances=1` does.
    """
    from procrastinate.exceptions import AlreadyEnqueued

    for _ in range(3):  # a job that starts or ends between the look and the queueing
        rows = app.connector.get_sync_connector().execute_query_all(
            query=_PENDING, task=CRAWL_TASK, ref=channel.ref
        )
        pending = rows[0] if rows else None
        if pending and (pending["status"] == "todo" or unless_running):
            return Queued(channel.ref, pending["id"], pending["status"], new=False)
        try:
            job_id = app.configure_task(
                CRAWL_TASK, lock=host_lock(seeds, channel), queueing_lock=channel.ref
            ).defer(ref=channel.ref, trigger=trigger, max_list_pages=max_list_pages)
        except AlreadyEnqueued:
            continue
        return Queued(channel.ref, job_id, "todo", new=True)
    raise CrawlError(f"could not queue a crawl of {channel.ref}: its jobs kept changing; try again")


# Ended jobs kept this long (failed, cancelled, aborted: a worker deletes the jobs that
# succeeded at once; runs are the record), then expired by the leading dispatcher each day.
KEEP_ENDED_JOBS_DAYS = 30


def expire_ended_jobs(app: procrastinate.App, keep_days: float = KEEP_ENDED_JOBS_DAYS) -> None:
    """Delete the crawl jobs that ended more than `keep_days` ago, so the queue's tables do not
    grow for years (procrastinate's own query, run through the app's sync connector)."""
    from procrastinate import sql

    app.connector.get_sync_connector().execute_query(
        query=sql.queries["delete_old_jobs"],
        nb_hours=int(keep_days * 24),
        queue=QUEUE,
        statuses=["succeeded", "failed", "cancelled", "aborted"],
    )
