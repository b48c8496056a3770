"""Load and validate the seeds file (sites and channels) into frozen dataclasses.

Cron schedules are checked by whoever runs them: the scheduler passes its check to
`load_seeds` (scheduler/timing.py), so a crawl process never loads the scheduler's library.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipelines.errors import ProfileError, SeedsError
from pipelines.profiles.files import (
    GENERIC,
    bundled_names,
    bundled_profile,
    parse_profile,
    read_profile_file,
)
from pipelines.profiles.model import SiteProfile
from pipelines.toml_file import read_toml

SCHEDULE_TIMEZONE = "Asia/Shanghai"  # the zone schedules are read in
DEFAULT_SCHEDULE = "0 * * * *"
SITE_KEYS = frozenset(
    {
        "name",
        "base_url",
        "aliases",
        "channels",
        "download_delay",
        "concurrent_requests",
        "autothrottle",
        "profile",
    }
)
CHANNEL_KEYS = frozenset({"name", "list", "schedule", "enabled"})

# Checks a cron expression; raises ValueError saying what is wrong with it.
ScheduleCheck = Callable[[str], object]


@dataclass(frozen=True)
class Channel:
    """One news channel: its list page and how often the service crawls it."""

    site: str
    key: str
    name: str
    list_path: str
    schedule: str
    enabled: bool = True

    @property
    def ref(self) -> str:
        """The `site/channel` name users type on the command line."""
        return f"{self.site}/{self.key}"


@dataclass(frozen=True)
class Site:
    """One CPPCC website, where to reach it, and how politely."""

    key: str
    name: str
    base_url: str
    aliases: tuple[str, ...]
    channels: tuple[Channel, ...]
    download_delay: float = 1.0
    concurrent_requests: int = 2
    autothrottle: bool = True
    # Where each field of its pages is: its own, a bundled one, or the generic extractor's.
    profile: SiteProfile = field(kw_only=True)

    def channel(self, key: str) -> Channel:
        for channel in self.channels:
            if channel.key == key:
                return channel
        known = ", ".join(c.key for c in self.channels)
        raise SeedsError(f"site {self.key!r} has no channel {key!r} (it has: {known})")

    def url(self, path: str) -> str:
        """Join a seeds path (relative to base_url) onto the site's base URL."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


@dataclass(frozen=True)
class Seeds:
    """Every site and channel of one seeds file."""

    path: Path
    sites: tuple[Site, ...]

    def site(self, key: str) -> Site:
        for site in self.sites:
            if site.key == key:
                return site
        known = ", ".join(s.key for s in self.sites)
        raise SeedsError(f"{self.path}: no site {key!r} (it has: {known})")

    def channels(self) -> tuple[Channel, ...]:
        return tuple(channel for site in self.sites for channel in site.channels)

    def select(self, refs: list[str]) -> tuple[Channel, ...]:
        """The channels named `site/channel`, and the enabled ones of a site named `site`.

        No name at all means every enabled channel. A disabled channel is crawled only when
        named on its own.
        """
        if not refs:
            return tuple(c for c in self.channels() if c.enabled)
        chosen: list[Channel] = []
        for ref in refs:
            site_key, slash, channel_key = ref.partition("/")
            site = self.site(site_key)
            if slash and not channel_key:
                # `rmzxb/` is most likely a channel key left out, not the whole site.
                raise SeedsError(
                    f"{ref!r} names no channel: give SITE/CHANNEL (one of "
                    f"{', '.join(c.ref for c in site.channels)}) or SITE alone for all of "
                    "its enabled channels"
                )
            if channel_key:
                picked = [site.channel(channel_key)]
            else:
                picked = [c for c in site.channels if c.enabled]
            chosen.extend(c for c in picked if c not in chosen)
        return tuple(chosen)


def packaged_seeds_path() -> Path:
    """The seeds file that ships with the package."""
    return Path(str(resources.files("seeds").joinpath("channels.toml")))


def load_seeds(
    path: Path | str | None = None, *, check_schedule: ScheduleCheck | None = None
) -> Seeds:
    """Read and validate a seeds file; any problem is one SeedsError line naming file and key.

    `check_schedule` checks each channel's cron expression (raising ValueError); without it
    a schedule need only be a string.
    """
    path = Path(path) if path else packaged_seeds_path()
    data = read_toml(path, "seeds file", SeedsError, when_missing=" (give one with --seeds)")
    return parse_seeds(data, path, check_schedule)


def parse_seeds(
    data: Mapping[str, Any], path: Path, check_schedule: ScheduleCheck | None = None
) -> Seeds:
    sites = _table(data.get("sites"), path, "sites")
    if not sites:
        raise SeedsError(f"{path}: [sites] is empty: name at least one site")
    parsed = tuple(_parse_site(key, value, path, check_schedule) for key, value in sites.items())
    return Seeds(path, parsed)


def _parse_site(key: str, data: Any, path: Path, check_schedule: ScheduleCheck | None) -> Site:
    where = f"sites.{key}"
    table = _table(data, path, where)
    _refuse_unknown_keys(table, SITE_KEYS, path, where)
    base_url = _string(table, "base_url", path, where)
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SeedsError(f"{path}: {where}.base_url: {base_url!r} is not an http(s) URL")
    channels = _table(table.get("channels"), path, f"{where}.channels")
    return Site(
        key=key,
        name=_string(table, "name", path, where),
        base_url=base_url.rstrip("/"),
        aliases=tuple(_string_list(table, "aliases", path, where)),
        channels=tuple(
            _parse_channel(key, ck, cv, path, check_schedule) for ck, cv in channels.items()
        ),
        download_delay=_number(table, "download_delay", 1.0, path, where),
        concurrent_requests=int(_number(table, "concurrent_requests", 2, path, where, minimum=1)),
        autothrottle=_boolean(table, "autothrottle", True, path, where),
        profile=_with_name_suffixes(
            _site_profile(key, table.get("profile"), path, where),
            _string(table, "name", path, where),
        ),
    )


# How sites join their name to an article's title in <title>: 标题_上海政协, 标题 - 上海政协.
_TITLE_SEPARATORS = ("_", "-", "——", "|", " - ", " | ", " _ ")


def _with_name_suffixes(profile: SiteProfile, name: str) -> SiteProfile:
    """The profile, with the site's own name after each usual separator as a <title> suffix,
    so that a site read with the generic profile has its name taken off its titles too."""
    own = tuple(separator + name for separator in _TITLE_SEPARATORS)
    suffixes = tuple(dict.fromkeys((*profile.title_suffixes, *own)))
    return replace(profile, title_suffixes=suffixes)


def _site_profile(key: str, value: Any, path: Path, where: str) -> SiteProfile:
    """The site's profile: `[sites.KEY.profile]`, `profile = "FILE.toml"` beside the seeds
    file, `profile = "NAME"` of a bundled one, the bundled one named KEY, else the generic."""
    if isinstance(value, dict):
        return parse_profile(value, key, f"{path}: {where}.profile")
    if isinstance(value, str) and value.endswith(".toml"):
        return read_profile_file(path.parent / value, key)
    if isinstance(value, str) and value:
        if value not in bundled_names():
            raise ProfileError(
                f"{path}: {where}.profile: no bundled profile {value!r} (bundled: "
                f"{', '.join(bundled_names())}; or a FILE.toml beside the seeds file)"
            )
        return replace(bundled_profile(value), name=key)
    if value is not None:
        raise ProfileError(
            f"{path}: {where}.profile: must be a table, a bundled profile's name or a FILE.toml"
        )
    name = key if key in bundled_names() else GENERIC
    return replace(bundled_profile(name), name=key)


def _parse_channel(
    site: str, key: str, data: Any, path: Path, check_schedule: ScheduleCheck | None
) -> Channel:
    where = f"sites.{site}.channels.{key}"
    table = _table(data, path, where)
    _refuse_unknown_keys(table, CHANNEL_KEYS, path, where)
    if "list" not in table:
        raise SeedsError(f"{path}: [{where}]: channel has no `list` (its list page path)")
    list_path = _string(table, "list", path, where)
    if urlsplit(list_path).scheme or urlsplit(list_path).netloc:
        raise SeedsError(
            f"{path}: {where}.list: {list_path!r} must be a path relative to the site's "
            "base_url (like /yw_n/index.shtml), so the same seeds work on a mirror"
        )
    schedule = table.get("schedule", DEFAULT_SCHEDULE)
    if not isinstance(schedule, str):
        raise SeedsError(f"{path}: {where}.schedule: must be a cron expression string")
    try:
        if check_schedule is not None:
            check_schedule(schedule)
    except ValueError as exc:
        raise SeedsError(
            f"{path}: {where}.schedule: bad cron expression {schedule!r}: {exc}"
        ) from None
    return Channel(
        site=site,
        key=key,
        name=_string(table, "name", path, where),
        list_path=list_path,
        schedule=schedule,
        enabled=_boolean(table, "enabled", True, path, where),
    )


def _refuse_unknown_keys(
    table: Mapping[str, Any], known: frozenset[str], path: Path, where: str
) -> None:
    # A misspelt politeness key (download_dely) must not silently fall back to the default.
    unknown = sorted(set(table) - known)
    if unknown:
        names = ", ".join(sorted(known))
        raise SeedsError(f"{path}: {where}.{unknown[0]}: unknown key (known keys: {names})")


def _table(value: Any, path: Path, where: str) -> dict[str, Any]:
    if value is None:
        raise SeedsError(f"{path}: [{where}] is missing")
    if not isinstance(value, dict):
        raise SeedsError(f"{path}: {where}: must be a table")
    return value


def _string(table: Mapping[str, Any], key: str, path: Path, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SeedsError(f"{path}: {where}.{key}: must be a non-empty string")
    return value.strip()


def _string_list(table: Mapping[str, Any], key: str, path: Path, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SeedsError(f"{path}: {where}.{key}: must be a list of strings")
    return value


def _number(
    table: Mapping[str, Any], key: str, default: float, path: Path, where: str, minimum: float = 0
) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise SeedsError(f"{path}: {where}.{key}: must be a number ≥ {minimum}")
    return float(value)


def _boolean(table: Mapping[str, Any], key: str, default: bool, path: Path, where: str) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise SeedsError(f"{path}: {where}.{key}: must be true or false")
    return value


def site_rows(seeds: Seeds) -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    """The seeds' sites and channels as the catalogue's `upsert_site_channels` takes them."""
    return [
        (site.key, site.name, [(c.key, c.name, site.url(c.list_path)) for c in site.channels])
        for site in seeds.sites
    ]
