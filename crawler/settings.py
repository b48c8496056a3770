"""The one Scrapy settings module: CPPCC_* settings and the order of our components."""

import os

# An honest User-Agent naming the project, so site operators know who is fetching and why
# (`channels discover` sends the same).
from pipelines.config import environ_value
from pipelines.warc.naming import USER_AGENT as USER_AGENT

BOT_NAME = "cppcc-archive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# A seeded site without a spider class of its own is crawled by one made from its profile.
SPIDER_LOADER_CLASS = "crawler.spider_loader.SeededSpiderLoader"

ROBOTSTXT_OBEY = True

# Polite defaults; each site's seeds entry can change them (see crawler/spiders/base.py).
DOWNLOAD_DELAY = 1.0
# A site's download_delay is the least time between two requests to it, as its seeds entry
# says: Scrapy's default jitter (0.5 to 1.5 times) would halve it at times.
DOWNLOAD_DELAY_JITTER = 0.0
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
RETRY_TIMES = 2

# Scrapy 2.13+ starts CONCURRENT_ITEMS tasks per callback; our callbacks yield few items and a
# lower number measurably speeds a crawl up (issue 6).
CONCURRENT_ITEMS = 16

# Both consoles run code sent to them; an unattended archiver needs neither listening.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    # Scrapy's own cookie middleware asks tldextract, which downloads the public-suffix list on
    # first use and logs an ERROR where there is no internet; ours reads the bundled snapshot.
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    "crawler.middlewares.OfflineCookiesMiddleware": 700,
    # A body that does not decode whole goes on as received, to be rejected `undecodable`.
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.decoding.StrictDecodingMiddleware": 590,
    # Closer to the downloader than HttpCompressionMiddleware (590): an archived page served
    # for a 304 is decoded like a fresh one.
    "crawler.conditional.ConditionalRequestMiddleware": 950,
    # Closest to the downloader of all: the WARC capture sees each response first, as the
    # server sent it (compressed, a 3xx or a 304 its own exchange).
    "crawler.capture.WarcCaptureMiddleware": 1000,
}

# `scrapy crawl` refuses to run without the run `cppcc-archive crawl` records (see the module).
COMMANDS_MODULE = "crawler.commands"

EXTENSIONS = {
    "crawler.extensions.RunReportExtension": 200,
    "crawler.watch.LauncherWatchExtension": 300,
    "crawler.memory.FreezeStartupObjectsExtension": 400,
    # Holds a host back for a 429/503's Retry-After; an extension, as AutoThrottle is: see
    # its docstring for why no downloader middleware can.
    "crawler.retry_after.RetryAfterExtension": 500,
    # Once stopping, what waits behind the download delay is not sent: see its docstring.
    "crawler.prompt_stop.PromptStopExtension": 600,
}

ITEM_PIPELINES = {
    "crawler.pipelines.ArticlePipeline": 300,
    "crawler.pipelines.CataloguePipeline": 400,
}

# Where everything goes. The command line passes these with -s; `scrapy crawl` alone uses the
# same environment variables as the command line.
CPPCC_HOME = os.environ.get("CPPCC_ARCHIVE_HOME", "archive")
CPPCC_DATABASE_URL = os.environ.get("CPPCC_DATABASE_URL", "")  # default: <home>/catalogue.sqlite3
CPPCC_SEEDS = os.environ.get("CPPCC_SEEDS", "")  # default: the packaged seeds/channels.toml
CPPCC_WARC_DIR = ""  # default: <CPPCC_HOME>/warc
# The object store the launcher puts closed WARC files in (issue 17); the crawl only needs to
# know there is one: its revisits then refer to records of committed files alone.
CPPCC_STORAGE = os.environ.get("CPPCC_STORAGE", "")
# Sizes may be given as 1G or 500M: the variable's text in bytes, as the CLI checked it.
CPPCC_WARC_MAX_SIZE = int(environ_value(os.environ, "CPPCC_WARC_MAX_SIZE", "1000000000"))
CPPCC_WARC_PREFIX = os.environ.get("CPPCC_WARC_PREFIX") or "CPPCC"
# The warcinfo record of each WARC file names who made it and for what (empty: left out).
CPPCC_WARC_OPERATOR = os.environ.get("CPPCC_WARC_OPERATOR", "")
CPPCC_WARC_DESCRIPTION = os.environ.get("CPPCC_WARC_DESCRIPTION", "")
CPPCC_WARC_IS_PART_OF = os.environ.get("CPPCC_WARC_IS_PART_OF", "")
CPPCC_RUN_ID = 0  # the catalogue's run row this crawl belongs to (0: none)
CPPCC_REPORT_FILE = ""  # JSON lines of progress and the final report, for the launcher
CPPCC_REPORT_INTERVAL = 1.0  # seconds between progress lines
CPPCC_LAUNCHER_PID = 0  # the crawl stops cleanly when this process is gone (0: no watch)
# When known articles are checked again for edits, counted from when each was first seen.
CPPCC_RECHECK_AFTER = os.environ.get("CPPCC_RECHECK_AFTER", "1h,1d,7d,30d")
CPPCC_RECHECK_PER_RUN = 500  # due articles re-checked per channel and crawl, off the list walk
# The outage guard: when more than this percentage of at least CPPCC_WITHDRAWN_MIN_RECHECKS
# re-checks of a channel's live articles in one crawl find them withdrawn, none is recorded.
CPPCC_WITHDRAWN_MIN_RECHECKS = int(os.environ.get("CPPCC_WITHDRAWN_MIN_RECHECKS") or 5)
CPPCC_WITHDRAWN_MAX_PERCENT = float(os.environ.get("CPPCC_WITHDRAWN_MAX_PERCENT") or 50)
# List pages of only settled articles walked past the first.
CPPCC_WALK_KNOWN_LIST_PAGES = int(os.environ.get("CPPCC_WALK_KNOWN_LIST_PAGES") or 0)
# Until a channel's walk has once reached its last list page, each crawl walks this many of
# its older list pages on from where the last crawl got to (about 20 articles a page on the
# real sites: at the default delay a slice takes some minutes, well within a run's time limit).
CPPCC_BACKLOG_LIST_PAGES = int(os.environ.get("CPPCC_BACKLOG_LIST_PAGES", "10"))
# The time a crawl takes as now when it decides which known articles are due a re-check
# (tests, and replaying a schedule); empty: the clock.
CPPCC_NOW = os.environ.get("CPPCC_NOW", "")
# Pages normalised in a process of their own (crawler/normalising.py): true or false; empty,
# where the crawl may run on more than one CPU.
CPPCC_NORMALISE_IN_PROCESS = os.environ.get("CPPCC_NORMALISE_IN_PROCESS", "")
CPPCC_CONDITIONAL_REQUESTS = True  # If-None-Match / If-Modified-Since for archived URLs
# The longest wait a 429 or 503's Retry-After gets (seconds; 0: Retry-After is ignored). Long
# enough for the per-minute rate limits that answer 429 (Retry-After: 60 is the common value);
# short enough that a page's RETRY_TIMES retries hold a channel up for minutes, not past its
# next half-hourly run. A longer wait (a maintenance window) is cut to this and logged.
CPPCC_RETRY_AFTER_MAX = os.environ.get("CPPCC_RETRY_AFTER_MAX", "120")
