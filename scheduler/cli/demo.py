"""`cppcc-archive demo`: crawl the bundled replica of 人民政协网 into a new home."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scheduler.cli.support import (
    Config,
    add_command,
)
from scheduler.demo import run_demo


def add(commands: Any, common: argparse.ArgumentParser) -> None:
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
    # Without --home the demo makes a new temporary home rather than filling ./archive.
    return run_demo(config.home if args.home else None, config.database_url, sys.stdout, sys.stderr)
