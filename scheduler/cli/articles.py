"""`cppcc-archive articles`: catalogued articles, newest first, or found by full-text search."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from pipelines.errors import UsageError
from scheduler.cli.output import print_records
from scheduler.cli.support import (
    EXIT_OK,
    Config,
    add_filters,
    add_format,
    catalogue_session,
    check_site_channel,
    date_arg,
    limit_arg,
    non_negative_int,
)

if TYPE_CHECKING:
    from pipelines.catalogue.counts import MatchCount

ARTICLE_COLUMNS = ("id", "published_at", "site", "channel", "section", "source", "title")
SEARCH_COLUMNS = ("id", "published_at", "channel", "title", "snippet")
WITHDRAWN_COLUMNS = ("id", "withdrawn_at", "site", "channel", "withdrawn_reason", "title")
DEFAULT_LIST_LIMIT = 50


NAME = "articles"
HELP = "list catalogued articles, newest first"


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `articles`."""
    add_filters(sub)
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
        "separated part must match (Chinese words of two characters or more); with a snippet",
    )
    sub.add_argument(
        "--sort",
        choices=("newest", "relevance"),
        help="order of --search's results: newest (the default: newest published first) or "
        "relevance (of the newest 1,000 matches, title hits first, then the most relevant; "
        "older matches after them, newest first)",
    )
    sub.add_argument(
        "--withdrawn",
        action="store_true",
        help="only articles withdrawn from their site (a re-check found a 404/410, a redirect "
        "to the home or a list page, or a 'page not found' page), newest withdrawal first; "
        "--since and --until then bound the day of the withdrawal",
    )
    sub.add_argument(
        "--limit",
        type=non_negative_int,
        metavar="N",
        help="at most N articles (default 50; 20 with --search; 0: all of them)",
    )
    add_format(sub, "table", "json", "jsonl", "csv")


def run(config: Config, args: argparse.Namespace) -> int:
    """List catalogued articles, newest first or by relevance to --search, filtered."""
    # The catalogue's modules load SQLAlchemy: imported when the command runs, not for --help.
    from pipelines.catalogue.counts import COUNT_CAP
    from pipelines.catalogue.queries import count_articles, list_articles
    from pipelines.catalogue.views import article_summary

    check_site_channel(config, args.site, args.channel)
    filters = {
        "site": args.site, "channel": args.channel, "since": args.since, "until": args.until,
        "section": args.section, "source": args.source, "editor": args.editor,
    }  # fmt: skip
    if args.withdrawn:
        return _withdrawn_articles(config, args)
    if args.sort is not None and args.search is None:
        raise UsageError("--sort orders the results of --search; a list is newest first")
    if args.search is not None:
        if args.changed_since is not None:
            raise UsageError("--search and --changed-since do not combine; use one of them")
        return _search_articles(config, args, filters)
    limit = limit_arg(args.limit, DEFAULT_LIST_LIMIT)
    with catalogue_session(config) as session:
        rows = list_articles(
            session, **filters, changed_since=args.changed_since, limit=limit, summary_only=True
        )
        records = [article_summary(row) for row in rows]
        total = None
        if limit is not None and len(rows) == limit:  # only then can there be more
            # Counted up to a cap, as a search's matches are: past it the line says "more
            # than"; a count of every article read them all.
            total = count_articles(session, **filters, changed_since=args.changed_since,
                                   cap=max(COUNT_CAP, limit))  # fmt: skip
    print_records(records, ARTICLE_COLUMNS, args.format, sys.stdout)
    say_more(len(records), total)
    return EXIT_OK


def _withdrawn_articles(config: Config, args: argparse.Namespace) -> int:
    from pipelines.catalogue.counts import MatchCount
    from pipelines.catalogue.lifecycle import (
        count_withdrawn,
        withdrawal_reasons,
        withdrawn_articles,
    )
    from pipelines.catalogue.views import article_summary

    others = [f"--{name.replace('_', '-')}" for name in
              ("search", "changed_since", "section", "source", "editor")
              if getattr(args, name) is not None]  # fmt: skip
    if others:
        raise UsageError(
            f"--withdrawn does not combine with {', '.join(others)}; it takes --site, "
            "--channel, --since, --until (days of the withdrawal) and --limit"
        )
    limit = limit_arg(args.limit, DEFAULT_LIST_LIMIT)
    filters = {"site": args.site, "channel": args.channel, "since": args.since,
               "until": args.until}  # fmt: skip
    with catalogue_session(config) as session:
        rows = withdrawn_articles(session, **filters, limit=limit)
        reasons = withdrawal_reasons(session, [row.id for row in rows])
        records = [{**article_summary(row), "withdrawn_reason": reasons.get(row.id)}
                   for row in rows]  # fmt: skip
        total = None
        if limit is not None and len(rows) == limit:
            total = MatchCount(count_withdrawn(session, **filters), exact=True)
    print_records(records, WITHDRAWN_COLUMNS, args.format, sys.stdout)
    say_more(len(records), total)
    return EXIT_OK


def say_more(shown: int, total: MatchCount | None) -> None:
    """On stderr, so that JSON and CSV on stdout stay clean: more rows exist than shown."""
    if total is not None and total.more_than(shown):
        print(
            f"showing {shown} of {total} articles; --limit N for more (0: all)",
            file=sys.stderr,
        )


def _search_articles(config: Config, args: argparse.Namespace, filters: dict[str, Any]) -> int:
    from pipelines.catalogue.search import (
        COUNT_CAP,
        DEFAULT_LIMIT,
        count_search,
        hit_view,
        search_articles,
    )

    limit = limit_arg(args.limit, DEFAULT_LIMIT)
    sort = args.sort or "newest"
    with catalogue_session(config) as session:
        hits = search_articles(session, args.search, sort=sort, limit=limit, **filters)
        total = None
        if limit is not None and len(hits) == limit:  # only then can there be more
            # Counted up to a cap: every match of a common term would take longer than the
            # search itself; past the cap the line says "more than".
            total = count_search(session, args.search, cap=max(COUNT_CAP, limit), **filters)
        records = [hit_view(hit) for hit in hits]
    if args.format == "table":
        for record in records:
            record["snippet"] = _marked(record["snippet"], record["highlights"])
    print_records(records, SEARCH_COLUMNS, args.format, sys.stdout)
    say_more(len(records), total)
    return EXIT_OK


def _marked(snippet: str, spans: list[list[int]]) -> str:
    """The snippet with each hit between 【】, as a table shows it."""
    for start, end in sorted(spans, reverse=True):
        snippet = f"{snippet[:start]}【{snippet[start:end]}】{snippet[end:]}"
    return snippet
