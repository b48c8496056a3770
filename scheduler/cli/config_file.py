"""Which configuration file the command line reads, and its settings put under the environment.

The file's values fill in only the CPPCC_* variables the environment leaves unset, so an
option beats the environment, which beats the file; the crawl subprocess inherits them all.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from pathlib import Path

from pipelines.config import CONFIG_ENV, CONFIG_NAME, Checks, check_environ, load_config
from pipelines.errors import ConfigError
from pipelines.home import ArchiveHome
from scheduler.cli.support import CliParser
from scheduler.timing import cron_trigger

HOME_ENV = "CPPCC_ARCHIVE_HOME"


def apply_config(argv: Sequence[str], environ: MutableMapping[str, str]) -> Path | None:
    """Read the configuration file (if any) into `environ` and check every CPPCC_* variable
    there; the file read, or None."""
    path, in_home = _config_path(argv, environ)
    values = load_config(path, CHECKS) if path is not None else {}
    if in_home and HOME_ENV in values:
        # The file was found through the home it would name: it cannot move it.
        raise ConfigError(
            f"configuration file {path}: [archive] home cannot be set in the home's own "
            f"config.toml; remove it, or give the file with --config or {CONFIG_ENV}"
        )
    for variable, value in values.items():
        if not environ.get(variable):  # set but empty counts as unset, as everywhere else
            environ[variable] = value
    check_environ(environ, CHECKS)
    return path


def _config_path(
    argv: Sequence[str], environ: MutableMapping[str, str]
) -> tuple[Path | None, bool]:
    """--config, else CPPCC_CONFIG, else HOME/config.toml when it exists (True: that one)."""
    early = CliParser(prog="cppcc-archive", add_help=False)  # `--config` without FILE: one line
    early.add_argument("--config")
    early.add_argument("--home")
    known, _ = early.parse_known_args(list(argv))
    named = known.config or environ.get(CONFIG_ENV)
    if named:
        return Path(named), False
    home = ArchiveHome.at(known.home or environ.get(HOME_ENV) or None).root
    default = home / CONFIG_NAME
    return (default, True) if default.is_file() else (None, False)


def _cron_or_off(text: str) -> None:
    if text.strip().lower() != "off":
        cron_trigger(text)  # ValueError for what is no cron schedule


CHECKS: Checks = {"CPPCC_TIDY_SCHEDULE": _cron_or_off}
