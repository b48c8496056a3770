"""The job queue: channel crawls as jobs in PostgreSQL, run by workers on any host.

procrastinate keeps the jobs (tables of its own beside the catalogue's). `dispatch.py` turns
the schedule into jobs (one dispatcher leads, through an advisory lock); `worker.py` claims
them and runs each with the launcher, as `serve` does; `jobs.py` is the crawl job and how one
is queued; `database.py` the connection and the queue's tables.
"""
