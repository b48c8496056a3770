"""`cppcc-archive channels discover`: the channels a site links that the seeds lack."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pipelines.warc.naming import USER_AGENT
from scheduler.cli.support import (
    EXIT_OK,
    CliParser,
    Config,
    add_command,
    add_format,
)

DISCOVER_HELP = (
    "fetch a site's home page (network; robots.txt obeyed) and print the channel list "
    "pages its navigation links that the seeds lack, as seeds entries to paste"
)


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    sub = commands.add_parser(
        "channels",
        help="find channels the seeds do not have yet",
        description="find channels the seeds do not have yet",
    )
    actions = sub.add_subparsers(
        dest="channels_command", required=True, metavar="ACTION", parser_class=CliParser
    )
    discover = add_command(actions, common, "discover", DISCOVER_HELP, cmd_channels_discover)
    discover.add_argument("site", metavar="SITE", help="seeds key of the site, e.g. rmzxb")
    discover.add_argument(
        "--page",
        metavar="PATH",
        help="page to read, relative to base_url (default /; if that answers 404, the first "
        "seeded channel's list page, whose navigation bar links every channel)",
    )
    add_format(discover, "toml", "json")


def cmd_channels_discover(config: Config, args: argparse.Namespace) -> int:
    """Print the channels a site's navigation links that the seeds do not list yet."""
    # lxml and w3lib: imported when the command runs, not for --help.
    from scheduler.discover import discover_site, print_discovered

    site = config.seeds().site(args.site)
    channels = discover_site(site, args.page, USER_AGENT, sys.stderr)
    print_discovered(site.key, channels, args.format, sys.stdout, sys.stderr)
    return EXIT_OK
