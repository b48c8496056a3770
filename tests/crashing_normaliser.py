"""A normalising process that dies under any page whose URL holds `crash`: the program
tests/test_normalising.py gives the crawl's normaliser for a page that kills its process."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from multiprocessing.connection import Connection

from pipelines.normalise import NormalisedPage, SiteProfile, normalise_for_crawl, process
from pipelines.normalise.page import Headers

CRASH_EXIT_CODE = 70


def crashing(
    url: str,
    headers: Headers,
    body: bytes,
    *,
    profile: SiteProfile,
    fetched_at: datetime | None = None,
) -> NormalisedPage:
    if "crash" in url:
        os._exit(CRASH_EXIT_CODE)  # as a segfault in the parser would: no answer, no clean-up
    return normalise_for_crawl(url, headers, body, profile=profile, fetched_at=fetched_at)


if __name__ == "__main__":
    process.normalise_for_crawl = crashing  # what serve() calls for each page
    process.serve(Connection(int(sys.argv[1])))
