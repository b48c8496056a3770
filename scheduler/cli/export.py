"""`cppcc-archive export wacz|jsonl|csv [filters] [--force] OUT`: chosen articles as a WACZ
package, or their fields as JSON lines or CSV (OUT `-`: stdout).

Exit 1 when no article matches; 2 when OUT exists (without `--force`) or a WACZ is asked for
on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from pipelines.errors import UsageError
from scheduler.cli.storage import add_storage, apply_storage
from scheduler.cli.support import (
    EXIT_OK,
    Config,
    add_filters,
    catalogue_session,
    check_site_channel,
)

FORMATS = ("wacz", "jsonl", "csv")  # export_wacz, and the two of export_articles
NAME = "export"
HELP = (
    "write the matching articles as a WACZ package (their captures, pictures and "
    "metadata records, replayable in pywb and ReplayWeb.page), or as JSON lines or CSV"
)


def arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `export`."""
    sub.add_argument("format", choices=FORMATS, metavar="FORMAT", help="wacz, jsonl or csv")
    sub.add_argument("out", metavar="OUT", help="file to write; `-` for stdout (jsonl, csv)")
    add_filters(sub)
    sub.add_argument("--force", action="store_true", help="replace OUT if it exists")
    add_storage(sub, "a WACZ takes from its objects the WARC files HOME/warc lacks")


def run(config: Config, args: argparse.Namespace) -> int:
    """Export the matching articles to OUT in FORMAT; a summary line on stderr."""
    # SQLAlchemy and the WACZ writer's CDXJ indexer: imported when the command runs, not for
    # --help.
    from pipelines.archive.export import NothingToExport, export_articles, export_wacz
    from pipelines.archive.stored_copies import StoredCopies
    from pipelines.catalogue.queries import list_articles
    from scheduler.run_storage import configured_store

    apply_storage(args)
    store = configured_store()
    out = _check_out(args.out, args.format, args.force)
    check_site_channel(config, args.site, args.channel)

    def progress(line: str) -> None:
        print(f"export: {line}", file=sys.stderr, flush=True)

    stored = StoredCopies(store) if store is not None else None
    with catalogue_session(config) as session, contextlib.ExitStack() as stack:
        if stored is not None:
            stack.enter_context(stored)
        rows = list_articles(
            session, site=args.site, channel=args.channel, since=args.since, until=args.until,
            limit=None,
        )  # fmt: skip
        if not rows:
            raise NothingToExport(
                f"no articles match {describe_filters(args)} in the catalogue "
                f"{config.catalogue_url()} (list them with `cppcc-archive articles`)"
            )
        if args.format == "wacz":
            assert out is not None
            summary = export_wacz(
                session, rows, config.archive.warc, out, describe_filters(args), progress, stored
            )
            progress(
                f"wrote {summary.pages} articles ({summary.records} WARC records, "
                f"{summary.warc_bytes} bytes) to {out}"
            )
        else:
            count = export_articles(session, rows, args.format, out, progress)
            progress(f"wrote {count} articles to {out or 'stdout'}")
    return EXIT_OK


def describe_filters(args: argparse.Namespace) -> str:
    """The filters as options, e.g. `--channel yw --since 2024-05-01`; `(no filter)` for none."""
    given = [
        f"--{name} {getattr(args, name)}"
        for name in ("site", "channel", "since", "until")
        if getattr(args, name) is not None
    ]
    return " ".join(given) or "(no filter)"


def _check_out(given: str, fmt: str, force: bool) -> Path | None:
    """OUT as a path (None for stdout); UsageError when it cannot be written as asked."""
    if given == "-":
        if fmt == "wacz":
            raise UsageError("a WACZ package is a ZIP file and cannot go to stdout: name a file")
        return None
    out = Path(given)
    if out.is_dir():
        raise UsageError(f"{out} is a folder: name the file to write")
    if out.exists() and not force:
        raise UsageError(f"{out} exists: give another name, or --force to replace it")
    # Said here, before any work: the package is written beside OUT and renamed into place,
    # and the error of that write would name the temporary file, not the missing folder.
    if not out.parent.is_dir():
        raise UsageError(
            f"the folder {out.parent} does not exist: create it (mkdir -p {out.parent}) or "
            "name a file in an existing folder"
        )
    return out
