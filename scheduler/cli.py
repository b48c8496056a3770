"""The `cppcc-archive` command line: one small function per subcommand."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.recheck import check_environment
from pipelines.errors import CatalogueError, CppccArchiveError, UsageError
from scheduler.cli_support import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CliParser,
    Config,
    add_command,
    catalogue_session,
    check_site_channel,
    date_arg,
    non_negative_int,
    positive_int,
)
from scheduler.db_command import add_db
from scheduler.export import add_export
from scheduler.output import print_records, truncate
from scheduler.verify import add_verify

if TYPE_CHECKING:
    from scheduler.launcher import RunResult

ARTICLE_COLUMNS = ("id", "published_at", "site", "channel", "section", "source", "title")
SEARCH_COLUMNS = ("id", "published_at", "channel", "title", "snippet")
RUN_COLUMNS = (
    "id",
    "trigger",
    "status",
    "started_at",
    "finished_at",
    "channels",
    "pages_fetched",
    "articles_new",
    "articles_updated",
    "http_errors",
    "errors",
    "backlog",
    "error",
)
RUN_TIME_COLUMNS = ("started_at", "finished_at")
ERROR_WIDTH = 72  # a table shows the start of why a run failed; JSON and CSV show all of it


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `cppcc-archive` command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    config = Config(
        home=Path(args.home or "archive").expanduser(),
        database_url=args.db or None,
        seeds_path=args.seeds or None,
    )
    try:
        return int(args.handler(config, args))
    except CppccArchiveError as exc:
        print(f"cppcc-archive: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("cppcc-archive: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `cppcc-archive articles | head`: the reader left; that is not an error.
        sys.stderr.close()
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: global options and one subcommand per command."""
    common = CliParser(add_help=False)
    _add_global_options(common, default=argparse.SUPPRESS)
    parser = CliParser(
        prog="cppcc-archive",
        description="Archive the CPPCC news channels: crawl them into WARC files and a "
        "catalogue, and query the catalogue.",
        epilog="Exit status: 0 success, 1 a crawl or the catalogue failed, 2 a usage error "
        "(bad option, seeds file, unknown channel), 130 interrupted.",
    )
    _add_global_options(parser, default=None)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=CliParser
    )
    for add in (
        _add_crawl,
        _add_articles,
        _add_show,
        _add_runs,
        _add_serve,
        _add_schedule,
        _add_demo,
        _add_reextract,
        _add_channels,
        _add_index,
        _add_reindex,
        add_export,
        add_verify,
        add_db,
    ):
        add(commands, common)
    return parser


def _add_global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    env = os.environ.get
    parser.add_argument(
        "--home",
        default=default if default is argparse.SUPPRESS else env("CPPCC_ARCHIVE_HOME"),
        help="archive folder: WARC files in HOME/warc, default catalogue HOME/catalogue.sqlite3 "
        "(env CPPCC_ARCHIVE_HOME; default ./archive)",
    )
    parser.add_argument(
        "--db",
        default=default if default is argparse.SUPPRESS else env("CPPCC_DATABASE_URL"),
        metavar="URL",
        help="catalogue database, any SQLAlchemy URL (env CPPCC_DATABASE_URL)",
    )
    parser.add_argument(
        "--seeds",
        default=default if default is argparse.SUPPRESS else env("CPPCC_SEEDS"),
        metavar="FILE",
        help="seeds file naming sites and channels (env CPPCC_SEEDS; default: the packaged one)",
    )


# -- crawl ------------------------------------------------------------------------------


def _add_crawl(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = add_command(commands, common, "crawl", "crawl channels once, now", cmd_crawl)
    sub.add_argument(
        "channels",
        nargs="*",
        metavar="SITE[/CHANNEL]",
        help="channels to crawl, e.g. rmzxb/yw or rmzxb (all, when none)",
    )
    sub.add_argument(
        "--max-list-pages",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="list pages to walk per channel (default 0: all)",
    )
    sub.add_argument(
        "--time-limit",
        type=non_negative_int,
        default=os.environ.get("CPPCC_RUN_TIME_LIMIT", "0"),
        metavar="SECONDS",
        help="stop the crawl after SECONDS and record it failed "
        "(env CPPCC_RUN_TIME_LIMIT; default 0: no limit)",
    )
    sub.add_argument(
        "--format", choices=("text", "json"), default="text", help="summary format (default text)"
    )


def cmd_crawl(config: Config, args: argparse.Namespace) -> int:
    """Crawl the chosen channels now, then print a summary of the run."""
    from scheduler.launcher import launch_crawl
    from scheduler.progress import ProgressPrinter

    check_environment()  # the crawl's own settings, read in its process: checked here first
    seeds = config.seeds()
    channels = seeds.select(args.channels)
    if not channels:
        raise UsageError(f"{seeds.path}: no enabled channel to crawl")
    progress = ProgressPrinter(sys.stderr)
    started = time.monotonic()
    try:
        result = launch_crawl(
            seeds,
            channels,
            home=config.home,
            database_url=config.catalogue_url(),
            max_list_pages=args.max_list_pages,
            time_limit=args.time_limit,
            on_progress=progress.update,
            on_notice=_notice,
        )
    finally:
        progress.close()  # an error line must not land on the progress line
    _print_crawl_summary(config, result, args.format, time.monotonic() - started)
    return _crawl_exit_status(result)


def _notice(line: str) -> None:
    """What the launcher says while a crawl runs (recovery, retries): a line of its own."""
    clear = "\r\033[K" if sys.stderr.isatty() else ""  # the progress line, if it is there
    print(f"{clear}cppcc-archive: {line}", file=sys.stderr, flush=True)


def _crawl_exit_status(result: RunResult) -> int:
    if result.status == "interrupted":
        print(
            f"cppcc-archive: interrupted: run {result.run_id} stopped; what it fetched is "
            "archived and recorded",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return EXIT_OK if result.status == "finished" else EXIT_FAILED


def _print_crawl_summary(config: Config, result: RunResult, fmt: str, seconds: float) -> None:
    from scheduler.progress import print_summary

    view = _run_view(config, result.run_id)
    if fmt == "json":
        view["http_error_pages"] = result.http_errors
        view["robots_txt_status"] = result.robots_txt
        json.dump(view, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print_summary(view, result, seconds, config.home, sys.stdout)


def _run_view(config: Config, run_id: int) -> dict[str, Any]:
    from pipelines.catalogue.queries import get_run
    from pipelines.catalogue.views import run_view

    with catalogue_session(config) as session:
        run = get_run(session, run_id)
        if run is None:
            raise CatalogueError(
                f"run {run_id} vanished from the catalogue {config.catalogue_url()}"
            )
        return run_view(run)


# -- articles, show, runs ----------------------------------------------------------------


def _add_articles(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = add_command(
        commands, common, "articles", "list catalogued articles, newest first", cmd_articles
    )
    sub.add_argument("--site", help="only this site (seeds key, e.g. rmzxb)")
    sub.add_argument("--channel", help="only this channel (seeds key, e.g. yw)")
    sub.add_argument("--since", type=date_arg, metavar="DATE", help="published on or after DATE")
    sub.add_argument("--until", type=date_arg, metavar="DATE", help="published on or before DATE")
    sub.add_argument(
        "--changed-since",
        type=date_arg,
        metavar="DATE",
        help="only articles edited (a new version archived) on or after DATE",
    )
    sub.add_argument("--section", help="only articles with this section in their breadcrumb")
    sub.add_argument("--source", help="only articles from this source (来源), e.g. 新华社")
    sub.add_argument("--editor", help="only articles by this editor (编辑)")
    sub.add_argument(
        "--search",
        metavar="TEXT",
        help="full-text search of titles, subtitles, bodies and captions; every space-"
        "separated part must match (Chinese words of two characters or more); title hits "
        "first, then by relevance; with a snippet",
    )
    sub.add_argument(
        "--limit",
        type=non_negative_int,
        metavar="N",
        help="at most N articles (default 50; 20 with --search)",
    )
    sub.add_argument("--format", choices=("table", "json", "jsonl", "csv"), default="table")


def cmd_articles(config: Config, args: argparse.Namespace) -> int:
    """List catalogued articles, newest first or by relevance to --search, filtered."""
    from pipelines.catalogue.queries import list_articles
    from pipelines.catalogue.views import article_summary

    check_site_channel(config, args.site, args.channel)
    filters = {
        "site": args.site, "channel": args.channel, "since": args.since, "until": args.until,
        "section": args.section, "source": args.source, "editor": args.editor,
    }  # fmt: skip
    if args.search is not None:
        if args.changed_since is not None:
            raise UsageError("--search and --changed-since do not combine; use one of them")
        return _search_articles(config, args, filters)
    with catalogue_session(config) as session:
        rows = list_articles(
            session,
            **filters,
            changed_since=args.changed_since,
            limit=50 if args.limit is None else args.limit,
            summary_only=True,
        )
        records = [article_summary(row) for row in rows]
    print_records(records, ARTICLE_COLUMNS, args.format, sys.stdout)
    return EXIT_OK


def _search_articles(config: Config, args: argparse.Namespace, filters: dict[str, Any]) -> int:
    from pipelines.catalogue.search import DEFAULT_LIMIT, search_articles
    from pipelines.catalogue.views import article_summary

    limit = DEFAULT_LIMIT if args.limit is None else args.limit
    with catalogue_session(config) as session:
        hits = search_articles(session, args.search, limit=limit, **filters)
        records = [
            {
                **article_summary(hit.article),
                "title_match": hit.title_match,
                "snippet": hit.snippet,
                "highlights": [list(span) for span in hit.highlights],
            }
            for hit in hits
        ]
    if args.format == "table":
        for record in records:
            record["snippet"] = _marked(record["snippet"], record["highlights"])
    print_records(records, SEARCH_COLUMNS, args.format, sys.stdout)
    return EXIT_OK


def _marked(snippet: str, spans: list[list[int]]) -> str:
    """The snippet with each hit between 【】, as a table shows it."""
    for start, end in sorted(spans, reverse=True):
        snippet = f"{snippet[:start]}【{snippet[start:end]}】{snippet[end:]}"
    return snippet


def _add_show(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = add_command(commands, common, "show", "show one article by catalogue id or URL", cmd_show)
    sub.add_argument("article", metavar="URL_OR_ID", help="catalogue id, or the article's URL")
    sub.add_argument("--format", choices=("json", "text"), default="json")
    sub.add_argument(
        "--versions",
        action="store_true",
        help="the article's history: every version archived, with what changed in each",
    )


def cmd_show(config: Config, args: argparse.Namespace) -> int:
    """Show one article, found by catalogue id or URL, as JSON or as text."""
    from pipelines.catalogue.queries import find_article
    from pipelines.catalogue.views import article_to_article, article_view
    from pipelines.normalise import render_text

    candidates = _article_keys(config, args.article)  # a bad --seeds is said before all else
    with catalogue_session(config) as session:
        row = None
        for candidate in candidates:
            row = find_article(session, candidate)
            if row is not None:
                break
        if row is None:
            raise UsageError(
                f"no article {args.article!r} in the catalogue "
                "(list them with `cppcc-archive articles`)"
            )
        if args.versions:
            _print_versions(row, args.format)
        elif args.format == "text":
            sys.stdout.write(render_text(article_to_article(row)).rstrip("\n") + "\n")
        else:
            json.dump(article_view(row), sys.stdout, ensure_ascii=False, indent=2)
            sys.stdout.write("\n")
    return EXIT_OK


def _print_versions(row: Any, fmt: str) -> None:
    from pipelines.catalogue.versions import print_versions, versions_view

    views = versions_view(row.versions)
    if fmt == "text":
        sys.stdout.write(f"{row.url}\n")
        print_versions(views, sys.stdout)
    else:
        json.dump({"id": row.id, "url": row.url, "versions": views}, sys.stdout,
                  ensure_ascii=False, indent=2)  # fmt: skip
        sys.stdout.write("\n")


def _article_keys(config: Config, given: str) -> list[str]:
    """The catalogue keys `given` may stand for: itself, and its canonical article URL."""
    from pipelines.normalise.urls import canonical_article_url, parse_article_url

    keys = [given]
    if given.startswith(("http://", "https://")) and parse_article_url(given):
        try:
            sites = config.seeds().sites
        except CppccArchiveError:
            if config.seeds_path:  # a seeds file the user named must work
                raise
            sites = ()
        for site in sites:
            keys.append(canonical_article_url(given, base_url=site.base_url, aliases=site.aliases))
    return list(dict.fromkeys(keys))


def _add_runs(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = add_command(commands, common, "runs", "the crawl history, newest first", cmd_runs)
    sub.add_argument("--limit", type=non_negative_int, default=50, metavar="N")
    sub.add_argument("--format", choices=("table", "json", "jsonl", "csv"), default="table")


def cmd_runs(config: Config, args: argparse.Namespace) -> int:
    """List the crawl runs, newest first, with their counts and why any failed."""
    from pipelines.catalogue.queries import list_runs
    from pipelines.catalogue.views import run_view

    with catalogue_session(config) as session:
        views = [run_view(run) for run in list_runs(session, limit=args.limit)]
    if args.format in ("json", "jsonl"):
        print_records(views, RUN_COLUMNS, args.format, sys.stdout)
        return EXIT_OK
    flat = [{**view, **view.get("counts", {}), "backlog": _backlog(view)} for view in views]
    if args.format == "table":
        flat = [_run_row(row) for row in flat]
    print_records(flat, RUN_COLUMNS, args.format, sys.stdout)
    return EXIT_OK


def _backlog(view: dict[str, Any]) -> str:
    """`yw: walked to page 12 of 30; xs: complete`: the state each channel's walk was left in."""
    walks = view.get("walk") or {}
    states = ((ref.rpartition("/")[2], walk.get("state")) for ref, walk in walks.items())
    return "; ".join(f"{channel}: {state}" for channel, state in states if state)


def _run_row(row: dict[str, Any]) -> dict[str, Any]:
    """A run as a table shows it: times to the second, the start of its error."""
    shown = dict(row)
    for column in RUN_TIME_COLUMNS:
        if shown.get(column):
            shown[column] = datetime.fromisoformat(shown[column]).isoformat(timespec="seconds")
    if shown.get("error"):
        shown["error"] = truncate(" ".join(shown["error"].split()), ERROR_WIDTH)
    return shown


# -- serve, schedule -----------------------------------------------------------------------


def _add_serve(commands: Any, common: argparse.ArgumentParser) -> None:
    env = os.environ.get
    sub = add_command(
        commands,
        common,
        "serve",
        "run in the foreground, crawling every enabled channel on its schedule",
        cmd_serve,
    )
    sub.add_argument(
        "--max-concurrent",
        type=positive_int,
        metavar="N",
        default=env("CPPCC_MAX_CONCURRENT", "2"),
        help="channels crawling at once (env CPPCC_MAX_CONCURRENT; default 2)",
    )
    sub.add_argument(
        "--grace",
        type=non_negative_int,
        metavar="SECONDS",
        default=env("CPPCC_GRACE", "30"),
        help="on SIGTERM/SIGINT, how long running crawls may take to finish before "
        "they are stopped cleanly (env CPPCC_GRACE; default 30)",
    )
    sub.add_argument(
        "--time-limit",
        type=non_negative_int,
        metavar="SECONDS",
        default=env("CPPCC_RUN_TIME_LIMIT", "3600"),
        help="a run still going after this long is stopped and failed "
        "(env CPPCC_RUN_TIME_LIMIT; default 3600; 0: none)",
    )


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT: scheduled crawls, recovery after crashes."""
    from scheduler.serve import serve
    from scheduler.service import ServiceSettings

    check_environment()
    seeds = config.seeds()
    return serve(
        ServiceSettings(
            home=config.home,
            database_url=config.catalogue_url(),
            seeds_path=seeds.path,
            max_concurrent=_as_int(args.max_concurrent),
            grace=float(_as_int(args.grace)),
            time_limit=_as_int(args.time_limit),
        )
    )


def _add_schedule(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = add_command(
        commands, common, "schedule", "each channel's schedule, last run and next run", cmd_schedule
    )
    sub.add_argument("--format", choices=("table", "json", "jsonl", "csv"), default="table")


def cmd_schedule(config: Config, args: argparse.Namespace) -> int:
    """List each channel's schedule with its last run and its next scheduled time."""
    from scheduler.serve import schedule_rows
    from scheduler.service import SHANGHAI

    rows = schedule_rows(config.seeds(), config.catalogue_url(), datetime.now(SHANGHAI))
    columns = (
        "channel",
        "name",
        "schedule",
        "enabled",
        "last_run",
        "last_status",
        "last_started_at",
        "next_run_at",
        "backlog",
    )
    print_records(rows, columns, args.format, sys.stdout)
    return EXIT_OK


def _as_int(value: int | str) -> int:
    # argparse applies `type` to string defaults too, but not to defaults already int.
    return int(value)


# -- demo ---------------------------------------------------------------------------------


def _add_demo(commands: Any, common: argparse.ArgumentParser) -> None:
    add_command(
        commands,
        common,
        "demo",
        "crawl the bundled replica of 人民政协网 on 127.0.0.1 into a new home, "
        "without touching the real sites",
        cmd_demo,
    )


def cmd_demo(config: Config, args: argparse.Namespace) -> int:
    """Crawl the bundled replica site on loopback into a new (or the given) home."""
    from scheduler.demo import run_demo

    # Without --home the demo makes a new temporary home rather than filling ./archive.
    return run_demo(config.home if args.home else None, config.database_url, sys.stdout, sys.stderr)


# -- reextract, channels discover -------------------------------------------------------------


def _add_reextract(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = add_command(
        commands,
        common,
        "reextract",
        "re-normalise catalogued articles from their WARC records (no network), e.g. after "
        "a site profile changed; exit 1 when some could not be re-read",
        cmd_reextract,
    )
    sub.add_argument("--site", help="only this site (seeds key, e.g. rmzxb)")
    sub.add_argument("--channel", help="only this channel (seeds key, e.g. yw)")
    sub.add_argument("--since", type=date_arg, metavar="DATE", help="published on or after DATE")
    sub.add_argument("--until", type=date_arg, metavar="DATE", help="published on or before DATE")
    sub.add_argument("--format", choices=("text", "json"), default="text")


def cmd_reextract(config: Config, args: argparse.Namespace) -> int:
    """Re-normalise the matching articles from the WARC files; report what changed."""
    from scheduler.reextract import print_report, reextract_articles

    check_site_channel(config, args.site, args.channel)

    def progress(done: int, total: int) -> None:
        print(f"reextract: {done}/{total} articles", file=sys.stderr, flush=True)

    with catalogue_session(config) as session:
        report = reextract_articles(
            session,
            config.home / "warc",
            site=args.site,
            channel=args.channel,
            since=args.since,
            until=args.until,
            on_progress=progress,
        )
    print_report(report, args.format, sys.stdout)
    return EXIT_FAILED if report.failures else EXIT_OK


def _add_channels(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = commands.add_parser(
        "channels",
        help="find channels the seeds do not have yet",
        description="find channels the seeds do not have yet",
    )
    actions = sub.add_subparsers(
        dest="channels_command", required=True, metavar="ACTION", parser_class=CliParser
    )
    discover = add_command(
        actions,
        common,
        "discover",
        "fetch a site's home page (network; robots.txt obeyed) and print the channel list "
        "pages its navigation links that the seeds lack, as seeds entries to paste",
        cmd_channels_discover,
    )
    discover.add_argument("site", metavar="SITE", help="seeds key of the site, e.g. rmzxb")
    discover.add_argument(
        "--page",
        metavar="PATH",
        help="page to read, relative to base_url (default /; if that answers 404, the first "
        "seeded channel's list page, whose navigation bar links every channel)",
    )
    discover.add_argument("--format", choices=("toml", "json"), default="toml")


def cmd_channels_discover(config: Config, args: argparse.Namespace) -> int:
    """Print the channels a site's navigation links that the seeds do not list yet."""
    from crawler.settings import USER_AGENT
    from scheduler.discover import discover_site, print_discovered

    site = config.seeds().site(args.site)
    channels = discover_site(site, args.page, USER_AGENT, sys.stderr)
    print_discovered(site.key, channels, args.format, sys.stdout, sys.stderr)
    return EXIT_OK


# -- index ---------------------------------------------------------------------------------


def _add_index(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = add_command(
        commands,
        common,
        "index",
        "write the CDXJ index (for pywb, ReplayWeb.page) of every closed WARC file in "
        "HOME/warc that lacks an up-to-date one, into HOME/indexes; crawls index each file "
        "as they close it",
        cmd_index,
    )
    sub.add_argument("--format", choices=("text", "json"), default="text")


def cmd_index(config: Config, args: argparse.Namespace) -> int:
    """Index the archive's closed WARC files; exit 1 when one could not be read."""
    from scheduler.index import cmd_index as index_command

    return index_command(config.home, None, args.format, sys.stdout, sys.stderr)


def _add_reindex(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = add_command(
        commands,
        common,
        "reindex",
        "rebuild the catalogue from WARC files alone (records, articles and their versions, "
        "rejected pages); safe to run on a catalogue that has them already",
        cmd_reindex,
    )
    sub.add_argument(
        "warc_dirs",
        nargs="*",
        type=Path,
        metavar="WARC_DIR",
        help="folders of WARC files to read (default: HOME/warc)",
    )
    sub.add_argument("--format", choices=("text", "json"), default="text")


def cmd_reindex(config: Config, args: argparse.Namespace) -> int:
    """Catalogue what the WARC files hold; exit 1 when a file could not be read to its end."""
    from pipelines.catalogue.engine import make_engine, make_session_factory
    from pipelines.catalogue.schema import ensure_schema
    from pipelines.catalogue.writes import upsert_site_channels
    from scheduler.launcher import seeds_rows
    from scheduler.reindex import ReindexReport, print_report, reindex, warc_files

    seeds = config.seeds()
    folders = args.warc_dirs or [config.home / "warc"]
    for folder in folders:
        if not folder.is_dir():
            raise UsageError(f"no WARC folder {folder}: name folders that hold .warc.gz files")
    report = ReindexReport()
    files = warc_files(folders, report)
    engine = make_engine(config.catalogue_url())
    try:
        ensure_schema(engine)
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            upsert_site_channels(session, seeds_rows(seeds))
        reindex(sessions, files, seeds, report, lambda line: print(line, file=sys.stderr))
    finally:
        engine.dispose()
    print_report(report, args.format, sys.stdout)
    return EXIT_FAILED if report.unreadable else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
