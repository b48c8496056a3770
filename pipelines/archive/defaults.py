"""The defaults of the archive's upkeep: which WARC files packing takes, how long crawl logs are
kept. A module of constants, so the command line can show them in --help without loading the
catalogue."""

from __future__ import annotations

from datetime import timedelta

from pipelines.warc.writer import DEFAULT_MAX_SIZE

# Files under a tenth of the rotation size: a crawl's last file, or every file of a channel
# crawled often. Larger ones are left as they are: rewriting them would gain little.
DEFAULT_PACK_BELOW = DEFAULT_MAX_SIZE // 10
# Long past a crawl's close: its last file is catalogued by then, whatever else guards it.
DEFAULT_MIN_AGE = timedelta(hours=1)
# A month of crawl logs; what a user needs of an ended run is in the catalogue by then.
DEFAULT_LOG_RETENTION = timedelta(days=30)
