"""What went wrong with a request, in the words a run's summary uses."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.prompt_stop import CrawlStopping

# Statuses saying a page is gone for good, not failing for now.
GONE = (404, 410)
# The kind of a request the crawl did not send because it was stopping: no failure of the
# page, so neither counted nor settled; the next crawl fetches it.
STOPPING = "stopping"


def describe_failure(failure: Failure) -> tuple[str, str, bool]:
    """(kind, why, gone) of a failed request: `http-503`, `redirect-loop`, `robots`,
    `download-error`, `stopping` (not sent: the crawl stopped)…; a phrase following the URL;
    whether the page is gone for good."""
    error = failure.value
    if isinstance(error, CrawlStopping):  # not sent: the page did not fail
        return STOPPING, "was not fetched: the crawl stopped first", False
    if isinstance(error, HttpError):
        status = error.response.status
        return f"http-{status}", f"answered {status}", status in GONE
    if isinstance(error, IgnoreRequest):
        text = str(error)
        if "redirections" in text:  # RedirectMiddleware: REDIRECT_MAX_TIMES reached
            return "redirect-loop", "redirected again and again (a redirect loop)", False
        if "robots.txt" in text:
            return "robots", "is forbidden by robots.txt", False
        return "ignored", f"was dropped: {text}", False
    name = type(error).__name__
    detail = " ".join(str(error).split())[:200]
    return "download-error", f"could not be fetched ({name}: {detail})", False
