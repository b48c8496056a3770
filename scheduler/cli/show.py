"""`cppcc-archive show`: one article by catalogue id or URL, as JSON or text, or its versions."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pipelines.errors import CppccArchiveError, UsageError
from scheduler.cli.support import (
    EXIT_OK,
    Config,
    add_format,
    catalogue_session,
)

NAME = "show"
HELP = "show one article by catalogue id or URL"


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `show`."""
    sub.add_argument("article", metavar="URL_OR_ID", help="catalogue id, or the article's URL")
    add_format(sub, "json", "text")
    sub.add_argument(
        "--versions",
        action="store_true",
        help="the article's history: every version archived, with what changed in each",
    )


def run(config: Config, args: argparse.Namespace) -> int:
    """Show one article, found by catalogue id or URL, as JSON or as text."""
    # SQLAlchemy: imported when the command runs, not for --help.
    from pipelines.catalogue.queries import find_article
    from pipelines.catalogue.views import article_view

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
            _print_text(row)
        else:
            json.dump(article_view(row), sys.stdout, ensure_ascii=False, indent=2)
            sys.stdout.write("\n")
    return EXIT_OK


def _print_text(row: Any) -> None:
    # The renderer comes with the whole normaliser (lxml): loaded for --format text alone.
    from pipelines.catalogue.views import article_to_article, event_line
    from pipelines.normalise import render_text

    if row.events:  # withdrawn from the site (and restored): the first thing a reader needs
        sys.stdout.write("".join(f"[{event_line(event)}]\n" for event in row.events) + "\n")
    sys.stdout.write(render_text(article_to_article(row), mark_pictures=True).rstrip("\n") + "\n")


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
    keys = [given]
    if not given.startswith(("http://", "https://")):
        return keys  # a catalogue id: no URL rules, and no normaliser (lxml) to load for them
    from pipelines.normalise.urls import canonical_article_url, parse_article_url

    if parse_article_url(given):
        try:
            sites = config.seeds().sites
        except CppccArchiveError:
            if config.seeds_path:  # a seeds file the user named must work
                raise
            sites = ()
        for site in sites:
            keys.append(canonical_article_url(given, base_url=site.base_url, aliases=site.aliases))
    return list(dict.fromkeys(keys))
