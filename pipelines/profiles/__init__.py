"""Site profiles: where each field of a site's pages is, its URL patterns and list rules, as
data (TOML). The normaliser and the spiders read them; this package imports neither."""

from pipelines.profiles.files import (
    GENERIC,
    bundled_names,
    bundled_profile,
    parse_profile,
    profile_for_url,
    profile_named,
    read_profile_file,
)
from pipelines.profiles.model import ArticlePath, SiteProfile

__all__ = [
    "GENERIC",
    "ArticlePath",
    "SiteProfile",
    "bundled_names",
    "bundled_profile",
    "parse_profile",
    "profile_for_url",
    "profile_named",
    "read_profile_file",
]
