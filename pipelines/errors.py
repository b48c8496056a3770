"""The project's exception vocabulary: one root, one named subclass per failure."""

from __future__ import annotations


class CppccArchiveError(Exception):
    """Root of every error this project raises on purpose.

    The message says what happened and what to do next; the command line prints it as one
    line and exits non-zero, never with a traceback.
    """

    exit_code = 1


class UsageError(CppccArchiveError):
    """The user asked for something that cannot be done as asked (bad option value, unknown id)."""

    exit_code = 2


class ConfigError(UsageError):
    """The configuration file, or a CPPCC_* environment variable, holds what cannot be used."""


class SeedsError(CppccArchiveError):
    """The seeds file is missing, is not valid TOML, or names something that does not exist."""

    exit_code = 2


class ProfileError(SeedsError):
    """A site profile (seeds/profiles/*.toml, or a seeds file's own) cannot be used as written."""


class CatalogueError(CppccArchiveError):
    """The catalogue database cannot be opened, created or migrated."""


class CatalogueUnreachable(CatalogueError):
    """The catalogue stopped answering while in use: its server is down, the connection broke."""


class CrawlError(CppccArchiveError):
    """A crawl could not be started or did not run to its end."""
