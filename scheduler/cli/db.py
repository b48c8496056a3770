"""`cppcc-archive db upgrade|current`: migrate the catalogue's schema, or say where it is.

Command line:

    cppcc-archive db upgrade [--format text|json]   migrate to the newest schema (creating an
                                                    empty catalogue), saying from which to
                                                    which revision
    cppcc-archive db current [--format text|json]   the catalogue's revision and the newest

Every other command migrates on first use too; `db upgrade` does it on purpose, before a
deployment starts its service, say. A catalogue written by a newer cppcc-archive is refused
with one line and exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.errors import CatalogueError
from scheduler.cli.support import EXIT_OK, add_command, add_format

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from scheduler.cli.support import Config


@dataclass(frozen=True)
class Revisions:
    """A catalogue's schema revision before and after a command, and the program's newest."""

    catalogue: str
    before: str | None
    after: str | None
    head: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "catalogue": self.catalogue,
            "from": self.before,
            "to": self.after,
            "head": self.head,
            "upgraded": self.before != self.after,
        }


HELP = (
    "migrate the catalogue to the newest schema this program knows (an empty database "
    "gets the whole schema) and print from which revision to which"
)


def add(commands: Any, common: argparse.ArgumentParser) -> None:
    """The `db` command and its actions."""
    helptext = "the catalogue database's schema: migrate it, or show its revision"
    sub = commands.add_parser("db", help=helptext, description=helptext)
    # `dest` must not be "db": that is the global --db option.
    actions = sub.add_subparsers(
        dest="db_action", required=True, metavar="ACTION", parser_class=type(sub)
    )
    upgrade = add_command(actions, common, "upgrade", HELP, cmd_db)
    current = add_command(
        actions, common, "current", "print the catalogue's schema revision", cmd_db
    )
    for action in (upgrade, current):
        add_format(action, "text", "json")


def cmd_db(config: Config, args: argparse.Namespace) -> int:
    """Run `db upgrade` or `db current` on the configured catalogue."""
    # SQLAlchemy and Alembic: imported when the command runs, not for --help.
    from pipelines.catalogue.engine import make_engine, masked, missing_sqlite_file
    from pipelines.catalogue.schema import head_revision

    url = config.catalogue_url()
    if args.db_action == "current" and missing_sqlite_file(config.catalogue_url()):
        # Opening a SQLite file that is not there would create it (and its home): `current`
        # only reads.
        raise CatalogueError(
            f"no catalogue at {config.catalogue_url()}: run `cppcc-archive db upgrade` to "
            "create it, or point --home/--db at an existing one"
        )
    engine = make_engine(url)
    try:
        if args.db_action == "upgrade":
            revisions = _upgrade(engine)
        else:
            before = _revision(engine)
            revisions = Revisions(masked(url), before, before, head_revision())
    finally:
        engine.dispose()
    if args.format == "json":
        json.dump(revisions.as_json(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(_describe(args.db_action, revisions))
    return EXIT_OK


def _upgrade(engine: Engine) -> Revisions:
    from pipelines.catalogue.engine import masked
    from pipelines.catalogue.schema import ensure_schema, head_revision

    before = _revision(engine)
    ensure_schema(engine)  # raises CatalogueError for a revision from a newer program
    return Revisions(masked(engine.url), before, _revision(engine), head_revision())


def _revision(engine: Engine) -> str | None:
    from sqlalchemy.exc import DBAPIError

    from pipelines.catalogue.engine import connection_error
    from pipelines.catalogue.schema import current_revision

    try:
        with engine.connect() as connection:
            return current_revision(connection)
    except DBAPIError as exc:
        raise connection_error(engine, exc) from None


def _describe(action: str, revisions: Revisions) -> str:
    where, before, after = revisions.catalogue, revisions.before, revisions.after
    if action == "upgrade":
        if before == after:
            return f"catalogue {where}: already at revision {after}, the newest"
        return f"catalogue {where}: upgraded from revision {before or 'none (empty)'} to {after}"
    if before is None:
        return (
            f"catalogue {where}: no schema yet (empty database); "
            f"`cppcc-archive db upgrade` creates revision {revisions.head}"
        )
    if before == revisions.head:
        return f"catalogue {where}: revision {before}, the newest"
    return (
        f"catalogue {where}: revision {before}; the newest is {revisions.head}: "
        "run `cppcc-archive db upgrade`"
    )
