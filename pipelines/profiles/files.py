"""Site profiles from TOML: the bundled ones (seeds/profiles/NAME.toml) and a seeds file's own.

A profile is a table of tables, one per field (`[title] selectors = [...]`), plus `hosts`,
`[[articles]]` URL patterns, `[lists]` rules and `extends` (a bundled profile it starts from).
README's "Site profiles" section is the format's reference. Every mistake is one ProfileError
line naming the file, the key and the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cssselect import HTMLTranslator, SelectorError

from pipelines.errors import ProfileError
from pipelines.profiles.model import ArticlePath, SiteProfile
from pipelines.toml_file import read_toml

# The profile of a site with no profile of its own: the generic extractor.
GENERIC = "generic"
# The profile a URL on an unknown host gets when no profile is given (replicas on 127.0.0.1).
DEFAULT_FOR_UNKNOWN_HOSTS = "rmzxb"
_TRANSLATOR = HTMLTranslator()


@dataclass(frozen=True)
class _Key:
    """One key of a profile table: the SiteProfile field it sets and how its value is read."""

    field: str
    read: Callable[[Any, str], Any]


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ProfileError(f"{where}: must be a list of non-empty strings")
    return tuple(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ProfileError(f"{where}: must be a non-empty string")
    return value


def _selectors(value: Any, where: str) -> tuple[str, ...]:
    for css in _strings(value, where):
        _check_css(css, where)
    return tuple(value)


def _selector(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ProfileError(f"{where}: must be a CSS selector string")
    _check_css(value, where)
    return value


def _check_css(css: str, where: str) -> None:
    try:
        _TRANSLATOR.css_to_xpath(css)
    except SelectorError as exc:
        raise ProfileError(f"{where}: {css!r} is not a CSS selector: {exc}") from None


def _regex(value: Any, where: str, *, groups: tuple[str, ...] = ()) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise ProfileError(f"{where}: must be a regular expression string")
    try:
        pattern = re.compile(value)
    except re.error as exc:
        raise ProfileError(f"{where}: {value!r} is not a regular expression: {exc}") from None
    missing = [name for name in groups if name not in pattern.groupindex]
    if missing:
        raise ProfileError(f"{where}: {value!r} has no (?P<{missing[0]}>…) group")
    return pattern


def _regexes(value: Any, where: str) -> tuple[re.Pattern[str], ...]:
    return tuple(_regex(v, f"{where}[{i}]") for i, v in enumerate(_strings(value, where)))


def _hosts(value: Any, where: str) -> tuple[str, ...]:
    hosts = _strings(value, where)
    for host in hosts:
        if "/" in host or ":" in host or host != host.strip().lower():
            raise ProfileError(f"{where}: {host!r} is not a lower-case host name (no scheme)")
    return hosts


def _articles(value: Any, where: str) -> tuple[ArticlePath, ...]:
    if not isinstance(value, list) or not value:
        raise ProfileError(f"{where}: must be one or more [[articles]] tables")
    paths = []
    for index, table in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(table, dict):
            raise ProfileError(f"{at}: must be a table with a `pattern`")
        _refuse_unknown(
            table, {"pattern", "extension", "first_page_suffix", "second_page_suffix"}, at
        )
        if "pattern" not in table:
            raise ProfileError(f"{at}: has no `pattern` (the article URL path, a regex)")
        pattern = _regex(table["pattern"], f"{at}.pattern", groups=("id",))
        extension = table.get("extension", "")
        if not isinstance(extension, str) or ("ext" not in pattern.groupindex and not extension):
            raise ProfileError(
                f"{at}.extension: must name what follows the id in a page URL (like "
                '".shtml"), unless the pattern has an (?P<ext>…) group'
            )
        suffix = table.get("first_page_suffix", "")
        if suffix not in ("", "_1"):
            raise ProfileError(f'{at}.first_page_suffix: must be "" or "_1"')
        second = table.get("second_page_suffix", "_2")
        if second not in ("_1", "_2"):
            raise ProfileError(f'{at}.second_page_suffix: must be "_2" (default) or "_1"')
        paths.append(
            ArticlePath(
                pattern,
                first_page_suffix=suffix,
                extension=extension,
                second_page_number=int(second[1:]),
            )
        )
    return tuple(paths)


def _with_groups(*groups: str) -> Callable[[Any, str], re.Pattern[str]]:
    return lambda value, where: _regex(value, where, groups=groups)


# Each table of a profile and its keys; a table's keys replace the base profile's values.
_TABLES: dict[str, dict[str, _Key]] = {
    "content_id": {
        "metas": _Key("content_id_metas", _strings),
        "id_time": _Key("id_time", _with_groups("ms")),
    },
    "lists": {
        "box": _Key("list_box", _selectors),
        "box_links": _Key("list_box_links", _selector),
        "script_items": _Key("list_script_items", _with_groups("url")),
        "script_marker": _Key("list_script_marker", _text),
        "next_page": _Key("next_page_texts", _strings),
    },
    "title": {
        "selectors": _Key("title", _selectors),
        "metas": _Key("title_metas", _strings),
        "site_suffixes": _Key("title_suffixes", _strings),
    },
    "section": {
        "breadcrumb": _Key("breadcrumb", _selectors),
        "home": _Key("home_crumbs", _strings),
    },
    "published": {
        "line": _Key("date_line", _selectors),
        "metas": _Key("date_metas", _strings),
    },
    "source": {
        "selectors": _Key("source", _selectors),
        "metas": _Key("source_metas", _strings),
        "labels": _Key("source_labels", _strings),
    },
    "author": {
        "metas": _Key("author_metas", _strings),
        "labels": _Key("author_labels", _strings),
    },
    # The labelled line under the title (来源：… 作者：… 发布时间：… 点击：…).
    "info_line": {"labels": _Key("info_labels", _strings)},
    "editor": {
        "selectors": _Key("editor", _selectors),
        "labels": _Key("editor_labels", _strings),
    },
    "keywords": {
        "selectors": _Key("keywords", _selectors),
        "labels": _Key("keyword_labels", _strings),
    },
    "body": {
        "selectors": _Key("body", _selectors),
        "pager": _Key("pager", _selectors),
        "attachments": _Key("attachments", _selectors),
        "boilerplate": _Key("boilerplate", _selectors),
        "boilerplate_lines": _Key("boilerplate_lines", _regexes),
        "stop_lines": _Key("stop_lines", _strings),
    },
    "pictures": {
        "sources": _Key("picture_sources", _strings),
        "caption_attributes": _Key("caption_attributes", _strings),
        "caption_lines": _Key("caption_lines", _regexes),
    },
}
_TOP_KEYS = {"hosts": _Key("hosts", _hosts), "articles": _Key("article_paths", _articles)}
_KNOWN = frozenset({"extends", *_TOP_KEYS, *_TABLES})


def _refuse_unknown(table: Mapping[str, Any], known: set[str] | frozenset[str], where: str) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ProfileError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(sorted(known))})")


def parse_profile(data: Mapping[str, Any], name: str, where: str) -> SiteProfile:
    """The profile a TOML table describes, for the site `name`; `where` prefixes every error
    (`seeds.toml: sites.shszx.profile`)."""
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: must be a table")
    _refuse_unknown(data, _KNOWN, where)
    extends = data.get("extends")
    if extends is None:
        profile = SiteProfile(name=name)
    elif not isinstance(extends, str) or not extends:
        raise ProfileError(f"{where}.extends: must name a bundled profile ({_known_bundled()})")
    else:
        try:
            profile = replace(bundled_profile(extends), name=name)
        except KeyError as exc:
            raise ProfileError(f"{where}.extends: {exc.args[0]}") from None
    changes: dict[str, Any] = {}
    for key, spec in _TOP_KEYS.items():
        if key in data:
            changes[spec.field] = spec.read(data[key], f"{where}.{key}")
    for table_name, keys in _TABLES.items():
        table = data.get(table_name, {})
        at = f"{where}.{table_name}"
        if not isinstance(table, dict):
            raise ProfileError(f"{at}: must be a table ([{table_name}])")
        _refuse_unknown(table, set(keys), at)
        for key, spec in keys.items():
            if key in table:
                changes[spec.field] = spec.read(table[key], f"{at}.{key}")
    return replace(profile, **changes)


def read_profile_file(path: Path, name: str) -> SiteProfile:
    """The profile in a TOML file of its own (the whole file is the profile's table)."""
    data = read_toml(path, "profile file", ProfileError)
    return parse_profile(data, name, f"{path}: profile")


def bundled_directory() -> Path:
    """Where the bundled profiles are: seeds/profiles/ in the package."""
    return Path(str(resources.files("seeds").joinpath("profiles")))


def _known_bundled() -> str:
    return ", ".join(bundled_names())


@lru_cache(maxsize=1)
def bundled_names() -> tuple[str, ...]:
    """The names of the bundled profiles, sorted."""
    return tuple(sorted(path.stem for path in bundled_directory().glob("*.toml")))


@lru_cache(maxsize=64)
def bundled_profile(name: str) -> SiteProfile:
    """The bundled profile `name`, or KeyError naming the known ones."""
    if name not in bundled_names():
        raise KeyError(f"no site profile named {name!r} (bundled: {_known_bundled()})")
    return read_profile_file(bundled_directory() / f"{name}.toml", name)


def profile_named(name: str) -> SiteProfile:
    """The bundled profile of the site key `name` ("rmzxb", "cppcc", "hnzx", …), or KeyError.

    Crawls take the profile their seeds give a site (pipelines/seeds.py: Site.profile); this
    is for code that knows a bundled site by name.
    """
    return bundled_profile(name)


def profile_for_url(url: str) -> SiteProfile:
    """The bundled profile of the site serving `url`; unknown hosts (replicas on 127.0.0.1)
    get rmzxb's."""
    host = (urlsplit(url).hostname or "").lower()
    for name in bundled_names():
        profile = bundled_profile(name)
        if host in profile.hosts:
            return profile
    return bundled_profile(DEFAULT_FOR_UNKNOWN_HOSTS)
