"""The crawl's stat keys that other processes read, and the one definition of a failed crawl.

A crawl writes its Scrapy stats to the run report; the launcher judges the run by them, the
crawl's progress lines count them, and the catalogue's views show them. All three read the
names here, so what a run's `errors` count says and whether the run failed cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Stats = Mapping[str, Any]

# Scrapy's own.
RESPONSES = "response_received_count"
SPIDER_EXCEPTIONS = "spider_exceptions/"  # + the exception's class name
DOWNLOAD_EXCEPTIONS = "downloader/exception_count"
DOWNLOAD_EXCEPTION_TYPES = "downloader/exception_type_count/"  # + the exception's dotted name
# A page robots.txt forbids is dropped with IgnoreRequest: the crawler being polite.
ROBOTS_REFUSALS = DOWNLOAD_EXCEPTION_TYPES + "scrapy.exceptions.IgnoreRequest"

# Ours. Each `cppcc/errors/<what>` counts a failure of the crawl's own machinery.
ERRORS = "cppcc/errors/"
ITEM_ERRORS = ERRORS + "item"  # an item pipeline raised
CATALOGUE_UNREACHABLE = ERRORS + "catalogue_unreachable"
CATALOGUE_WRITER_LOST = ERRORS + "catalogue_writer_lost"
RECORDS_NOT_CATALOGUED = ERRORS + "records_not_catalogued"
DIGEST_LOOKUP_ERRORS = ERRORS + "digest_lookup"
WALK_NOT_RECORDED = ERRORS + "walk_not_recorded"
# A crawl's normalising process died and was replaced: no failure of the crawl's (its pages
# were normalised again), but a parser crash or the out-of-memory killer is worth a look.
NORMALISER_LOST = "cppcc/normaliser/lost"
WARC_ERRORS = "cppcc/warc/errors"  # a page or metadata record could not be written
HTTP_ERRORS = "cppcc/http_errors"  # pages whose last answer was a 4xx/5xx
PAGES_REJECTED = "cppcc/pages_rejected"
FAILED_PAGES = "cppcc/failed_pages"  # [{"url", "why"}]: not fetched, for a reason not a status
WARC_STATS = {
    "records": "cppcc/warc/records",
    "revisits": "cppcc/warc/revisits",
    "bytes": "cppcc/warc/bytes",
    "files": "cppcc/warc/files",
}
RETRY_AFTER_STATS = {
    "waits": "cppcc/retry_after/waits",
    "seconds": "cppcc/retry_after/seconds",
    "capped": "cppcc/retry_after/capped",
}
# Under cppcc/walk/<channel>/: what a run's walk of a channel's list pages did. `failure_kind`
# names what stopped it (`no-articles`: a list page answered but linked no article; `http-503`…).
WALK_STATS = (
    "state", "pages", "reached", "last_page", "stopped", "failed_at", "failure", "failure_kind",
)  # fmt: skip
# Under cppcc/lifecycle/<channel>/: what a run's re-checks found of the channel's articles:
# live ones `rechecked` (answered in any way), `withdrawn` (recorded), `restored`,
# `still_withdrawn`, and `held_back` withdrawals the outage guard did not record, and why.
LIFECYCLE = "cppcc/lifecycle/"
LIFECYCLE_STATS = (
    "rechecked", "withdrawn", "restored", "still_withdrawn", "held_back", "held_back_why",
)  # fmt: skip
# A list page that answered but yields no article (WALK_STATS' failure_kind).
NO_ARTICLES = "no-articles"
# The time a crawl took as now (CPPCC_NOW), when it was given one: `health` and the service's
# metrics date the run by it, so a test can crawl on simulated days.
SIMULATED_NOW = "cppcc/now"

# The counts a user watches while a crawl runs, by the stats key they come from.
PROGRESS_STATS = {
    "pages_fetched": RESPONSES,
    "articles_new": "cppcc/articles/new",
    "articles_updated": "cppcc/articles/updated",
    "articles_unchanged": "cppcc/articles/unchanged",
    "pages_rejected": PAGES_REJECTED,
    "http_errors": HTTP_ERRORS,
}
# Stats saying a crawl archived records its catalogue lacks: the launcher catalogues its WARC
# files again, from the files, before it records the run's end.
CATALOGUE_LOSSES = (
    CATALOGUE_UNREACHABLE,
    CATALOGUE_WRITER_LOST,
    RECORDS_NOT_CATALOGUED,
    ITEM_ERRORS,
)
# What a crawl's own finish reasons mean, for the one line that says why a run failed.
EARLY_STOPS = {
    "catalogue_unreachable": "the catalogue stopped answering (is the database server up?); "
    "what the crawl archived is catalogued from its WARC files once it answers",
    "catalogue_writer_lost": "its catalogue writer process died (see the log)",
    "warc_write_error": "a page could not be written to the WARC files (is the disk full?)",
    "launcher_gone": "the process that started it went away",
}


def walk_key(channel: str, name: str) -> str:
    """`cppcc/walk/<channel>/<name>`, `name` one of WALK_STATS."""
    return f"cppcc/walk/{channel}/{name}"


def errors_raised(stats: Stats) -> int:
    """Errors of the crawl's own machinery: code that raised, the archive or catalogue failing.

    Any of them fails the run (`crawl_failure`).
    """
    return sum(
        int(value)
        for key, value in stats.items()
        if key.startswith((SPIDER_EXCEPTIONS, ERRORS)) or key == WARC_ERRORS
    )


def download_failures(stats: Stats) -> int:
    """Pages that could not be downloaded (a timeout, a reset), robots.txt refusals aside.

    They do not fail a run: the site's trouble, listed by URL in its summary.
    """
    return int(stats.get(DOWNLOAD_EXCEPTIONS, 0)) - int(stats.get(ROBOTS_REFUSALS, 0))


def progress_counts(stats: Stats) -> dict[str, int]:
    """The counts a user watches (pages, articles, errors) from a crawl's Scrapy stats.

    `errors` is what `errors_raised` counts plus `download_failures`: a run showing errors
    failed unless they were all downloads.
    """
    counts = {name: int(stats.get(key, 0)) for name, key in PROGRESS_STATS.items()}
    counts["errors"] = errors_raised(stats) + download_failures(stats)
    return counts


def crawl_failure(finish_reason: str | None, stats: Stats) -> str | None:
    """Why a crawl that ended on its own (exit 0) failed, from its report; None: it did not.

    Pages that answered 404 or 500 do not fail a crawl; they are counted and listed.
    """
    if finish_reason != "finished":
        why = EARLY_STOPS.get(str(finish_reason), "see the log")
        return f"the crawl stopped early ({finish_reason}): {why}"
    raised = errors_raised(stats)
    if raised:
        return f"{raised} errors raised in the crawler's own code (see the log)"
    if not stats.get(RESPONSES):
        return f"no page could be fetched{_download_failure_kinds(stats)}: is the site reachable?"
    unwalked = unwalked_channels(stats)
    return "; ".join(unwalked) if unwalked else None


def unwalked_channels(stats: Stats) -> list[str]:
    """`yw: list page 1 http://… answered 503` for each channel whose first list page could
    not be read: a channel that is down must not look like a quiet one."""
    found = []
    for key, value in sorted(stats.items()):
        parts = key.split("/")
        if parts[:2] == ["cppcc", "walk"] and parts[3:] == ["failed_at"] and value == 1:
            found.append(f"{parts[2]}: {stats.get(walk_key(parts[2], 'failure'), 'failed')}")
    return found


def lost_catalogue_writes(stats: Stats) -> bool:
    """Whether the crawl says it archived records its catalogue writes lost."""
    return any(int(stats.get(name, 0)) for name in CATALOGUE_LOSSES)


def _download_failure_kinds(stats: Stats) -> str:
    """`(CannotResolveHostError ×6)`: why downloads failed, as Scrapy's stats count them."""
    failures = {
        key[len(DOWNLOAD_EXCEPTION_TYPES) :].rsplit(".", 1)[-1]: value
        for key, value in stats.items()
        if key.startswith(DOWNLOAD_EXCEPTION_TYPES)
    }
    failures.pop("IgnoreRequest", None)  # robots.txt refusals are not failures
    if not failures:
        return ""
    return " (" + ", ".join(f"{name} ×{count}" for name, count in sorted(failures.items())) + ")"
