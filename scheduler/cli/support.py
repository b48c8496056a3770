"""What every `cppcc-archive` command shares: the archive's places, parsing, catalogue access."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from pipelines.errors import CatalogueError
from pipelines.home import ArchiveHome
from pipelines.seeds import Seeds
from scheduler.timing import load_seeds

if TYPE_CHECKING:
    from sqlalchemy import Engine

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(frozen=True)
class Config:
    """Where the archive lives and how much to say, from the global options (their environment
    variables, the configuration file)."""

    home: Path
    database_url: str | None
    seeds_path: str | None
    verbosity: int = 0  # -1 --quiet, 0, 1 --verbose

    @property
    def quiet(self) -> bool:
        return self.verbosity < 0

    @property
    def verbose(self) -> bool:
        return self.verbosity > 0

    def catalogue_url(self) -> str:
        """The catalogue's SQLAlchemy URL: --db, or the SQLite file in the home folder.

        A URL no catalogue can live at (in memory, another back end) is a usage error here,
        before any command reads or writes it.
        """
        from pipelines.catalogue.engine import check_catalogue_url

        url = self.archive.catalogue_url(self.database_url)
        check_catalogue_url(url)
        return url

    @property
    def archive(self) -> ArchiveHome:
        """The home's folders and default catalogue."""
        return ArchiveHome(self.home)

    def seeds(self) -> Seeds:
        """The seeds file given, or the packaged one, loaded and checked."""
        return load_seeds(self.seeds_path)


class CliParser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem, and where to read how it is done."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


Handler = Callable[[Config, argparse.Namespace], int]


def add_command(
    commands: Any, common: argparse.ArgumentParser, name: str, helptext: str, handler: Handler
) -> argparse.ArgumentParser:
    sub = commands.add_parser(name, parents=[common], help=helptext, description=helptext)
    sub.set_defaults(handler=handler)
    return sub


def print_report(as_json: dict[str, Any], lines: Iterable[str], fmt: str, out: TextIO) -> None:
    """A command's report: as JSON, or as its lines (a summary, then what needs a look)."""
    if fmt == "json":
        json.dump(as_json, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    for line in lines:
        out.write(line + "\n")


def add_format(sub: argparse.ArgumentParser, *formats: str, helptext: str | None = None) -> None:
    """`--format`, one of `formats`, the first by default."""
    sub.add_argument("--format", choices=formats, default=formats[0], help=helptext)


def add_filters(sub: argparse.ArgumentParser) -> None:
    """`--site`, `--channel`, `--since`, `--until`: which articles a command is about."""
    sub.add_argument("--site", help="only this site (seeds key, e.g. rmzxb)")
    sub.add_argument("--channel", help="only this channel (seeds key, e.g. yw)")
    sub.add_argument("--since", type=date_arg, metavar="DATE", help="published on or after DATE")
    sub.add_argument("--until", type=date_arg, metavar="DATE", help="published on or before DATE")


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 1")
    return value


@contextmanager
def catalogue_session(config: Config) -> Iterator[Any]:
    """A session on an existing catalogue (migrated to the current schema first); see
    catalogue_sessions."""
    with catalogue_sessions(config) as sessions, sessions() as session:
        yield session


@contextmanager
def catalogue_sessions(config: Config) -> Iterator[Any]:
    """A session factory on an existing catalogue (migrated to the current schema first),
    for commands that commit step by step (packing, repairs).

    A SQLite catalogue this process may not write (a read-only home, a copy on read-only
    media, another user's archive) is opened read-only: what reads it works, what would
    write it fails in one line. A catalogue failing while in use (its disk full, its server
    gone) is one CatalogueError line too.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from pipelines.catalogue.engine import catalogue_failure, make_engine, make_session_factory

    url = config.catalogue_url()
    path = _require_existing_sqlite(url)
    read_only = path is not None and not _writable(path)
    engine = make_engine(url, read_only=read_only)
    try:
        _check_schema(engine, read_only)
        yield make_session_factory(engine)
    except SQLAlchemyError as exc:
        raise catalogue_failure(engine, exc) from None
    finally:
        engine.dispose()


def _writable(path: Path) -> bool:
    from pipelines.catalogue.engine import sqlite_writable

    return sqlite_writable(path)


def _check_schema(engine: Engine, read_only: bool) -> None:
    """Migrate the catalogue to the current schema; one that cannot be written must be at it."""
    from sqlalchemy.exc import DBAPIError

    from pipelines.catalogue.engine import connection_error
    from pipelines.catalogue.schema import current_revision, ensure_schema, head_revision

    if not read_only:
        ensure_schema(engine)
        return
    try:
        with engine.connect() as connection:
            revision = current_revision(connection)
    except DBAPIError as exc:
        raise connection_error(engine, exc) from None
    if revision != head_revision():
        raise CatalogueError(
            f"the catalogue {engine.url.database} is at schema revision {revision}, not "
            f"{head_revision()}, and cannot be migrated here: it is read-only. Open it once "
            "where it can be written (any command migrates it), or use a cppcc-archive of its "
            "own version"
        )


def check_site_channel(config: Config, site: str | None, channel: str | None) -> None:
    """A UsageError for a --site/--channel that neither the seeds nor the catalogue know (a
    channel since removed from the seeds still has its articles in the catalogue)."""
    if site is None and channel is None:
        return
    from pipelines.catalogue.queries import check_known_channel

    seeds = config.seeds()
    known = {(c.site, c.key) for c in seeds.channels()} | _catalogued_channels(config)
    check_known_channel(known, site, channel, f"{seeds.path} or the catalogue")


def _catalogued_channels(config: Config) -> set[tuple[str, str]]:
    from pipelines.catalogue.queries import catalogued_channels

    try:
        with catalogue_session(config) as session:
            return catalogued_channels(session)
    except CatalogueError:  # no catalogue yet: the seeds alone say what exists
        return set()


def _require_existing_sqlite(url: str) -> Path | None:
    """The file of a SQLite catalogue URL, which must exist; None for any other URL."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    from pipelines.catalogue.engine import sqlite_path

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # make_engine says what is wrong with it
    if parsed.get_backend_name() != "sqlite":
        return None
    path = sqlite_path(parsed)
    if path is not None and not path.exists():
        raise CatalogueError(
            f"no catalogue at {path} yet: run `cppcc-archive crawl` (or `cppcc-archive demo`) "
            "first, or point --home/--db at an existing one"
        )
    return path


def date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2022-03-04") from None


def limit_arg(given: int | None, default: int) -> int | None:
    """What `--limit N` asks for, the same in every command: None (all) for 0, `default` when
    not given."""
    if given is None:
        return default
    return None if given == 0 else given


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 0")
    return value
