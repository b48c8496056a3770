"""The `cppcc-archive` command line: global options, and one module per command.

A command's module names it (`NAME`, `HELP`), adds its options (`arguments`, if it has any)
and runs it (`run(config, args)`, the exit status); a command with actions of its own
(`channels discover`, `db upgrade`) adds them itself (`add`).

Every command's module is imported to build the parser, so each imports at its top only what
its options need; what it runs with (SQLAlchemy, Alembic, APScheduler, the CDXJ indexer, the
launcher) it imports in the function that uses it. `--help`, `--version` and a mistyped option
then answer in a fraction of the second those take to load, and a command loads only its own
(tests/test_cli_startup.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from pipelines.errors import CppccArchiveError
from pipelines.home import ArchiveHome
from pipelines.warc.naming import program_version
from scheduler.cli import (
    articles,
    channels,
    crawl,
    db,
    demo,
    export,
    health,
    index,
    pack,
    reextract,
    reindex,
    replica,
    runs,
    schedule,
    serve,
    show,
    tidy,
    verify,
    web,
    worker,
)
from scheduler.cli.config_file import apply_config
from scheduler.cli.support import EXIT_INTERRUPTED, EXIT_OK, CliParser, Config, add_command

COMMANDS = (crawl, articles, show, runs, serve, schedule, health, demo, reextract, channels,
            index, reindex, export, verify, pack, tidy, replica, web, db, worker)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `cppcc-archive` command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        # Before the parser is built: the file's values are defaults of its options.
        apply_config(argv, os.environ)
    except CppccArchiveError as exc:
        print(f"cppcc-archive: error: {exc}", file=sys.stderr)
        return exc.exit_code
    parser = build_parser()
    args = parser.parse_args(argv)
    config = Config(
        home=ArchiveHome.at(args.home).root,
        database_url=args.db or None,
        seeds_path=args.seeds or None,
        verbosity=args.verbosity or 0,
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
    parser.add_argument("--version", action=VersionAction)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=CliParser
    )
    for command in COMMANDS:
        if hasattr(command, "add"):  # a command with actions of its own adds them itself
            command.add(commands, common)
            continue
        sub = add_command(commands, common, command.NAME, command.HELP, command.run)
        getattr(command, "arguments", lambda sub: None)(sub)
    return parser


class VersionAction(argparse.Action):
    """`--version`, as argparse's own prints it, the version looked up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        help = "show program's version number and exit"  # argparse's words for its own
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"cppcc-archive {program_version()}")
        parser.exit()


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
    parser.add_argument(
        "--config",
        default=default if default is argparse.SUPPRESS else env("CPPCC_CONFIG"),
        metavar="FILE",
        help="configuration file, TOML (env CPPCC_CONFIG; default HOME/config.toml if present)",
    )
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument(
        "-q",
        "--quiet",
        dest="verbosity",
        action="store_const",
        const=-1,
        default=default,
        help="print only warnings and errors (no progress lines; service: warnings only)",
    )
    loudness.add_argument(
        "-v", "--verbose", dest="verbosity", action="store_const", const=1, default=default,
        help="print more detail (verify: a line per WARC file; service: debug log)",
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
