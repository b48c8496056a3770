"""Site profiles as data: the bundled TOML profiles, where a seeds file's site finds its
profile, `extends`, and one clear line for every mistake in a profile."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from pipelines.errors import ProfileError, SeedsError
from pipelines.normalise import page_url, parse_article_url
from pipelines.profiles import (
    GENERIC,
    SiteProfile,
    bundled_names,
    bundled_profile,
    parse_profile,
    profile_for_url,
)
from pipelines.profiles.files import _TABLES, _TOP_KEYS
from pipelines.seeds import load_seeds
from tests.conftest import run_cli

SITE = """\
[sites.{key}]
name = "某省政协"
base_url = "http://www.example.gov.cn"
{extra}
[sites.{key}.channels.yw]
name = "要闻"
list = "/yw/index.html"
"""


def seeds_with(tmp_path: Path, key: str, extra: str = "") -> Path:
    path = tmp_path / "seeds.toml"
    path.write_text(SITE.format(key=key, extra=extra), encoding="utf-8")
    return path


def as_bundled(profile: SiteProfile, name: str) -> SiteProfile:
    """`profile` as the bundled profile `name` is: the seeds add the site's name to its titles'
    suffixes."""
    bundled = bundled_profile(name)
    assert set(bundled.title_suffixes) <= set(profile.title_suffixes)
    return dataclasses.replace(profile, name=name, title_suffixes=bundled.title_suffixes)


def test_every_field_of_a_profile_has_a_toml_key() -> None:
    # A field added to SiteProfile without a key could only be set in Python.
    settable = {key.field for table in _TABLES.values() for key in table.values()}
    settable |= {key.field for key in _TOP_KEYS.values()}
    assert settable == {field.name for field in dataclasses.fields(SiteProfile)} - {"name"}


def test_the_bundled_profiles_load_and_are_found_by_host() -> None:
    assert {"rmzxb", "cppcc", "hnzx", GENERIC} <= set(bundled_names())
    for name in bundled_names():
        profile = bundled_profile(name)
        assert profile.name == name and profile.article_paths, name
    assert profile_for_url("http://www.cppcc.gov.cn/zxww/2019/x.shtml").name == "cppcc"
    assert profile_for_url("http://www.rmzxw.com.cn/c/2023-02-27/1.shtml").name == "rmzxb"
    cppcc = bundled_profile("cppcc")
    assert cppcc.list_box == ("#txtBox",) and cppcc.list_script_items is not None
    assert cppcc.id_time is not None and cppcc.id_time.fullmatch("ARTI1562197710409103")


def test_a_site_without_a_profile_is_read_with_the_generic_one(tmp_path: Path) -> None:
    site = load_seeds(seeds_with(tmp_path, "shzx")).site("shzx")
    assert as_bundled(site.profile, GENERIC) == bundled_profile(GENERIC)
    assert site.profile.name == "shzx"


def test_the_sites_name_is_taken_off_its_titles(tmp_path: Path) -> None:
    # 标题_某省政协 in <title>: the generic profile cannot know the name, the seeds do.
    suffixes = load_seeds(seeds_with(tmp_path, "shzx")).site("shzx").profile.title_suffixes
    assert {"_某省政协", " - 某省政协", "|某省政协"} <= set(suffixes)


def test_a_bundled_site_key_gets_its_bundled_profile(tmp_path: Path) -> None:
    site = load_seeds(seeds_with(tmp_path, "cppcc")).site("cppcc")
    assert as_bundled(site.profile, "cppcc") == bundled_profile("cppcc")


def test_a_site_may_name_a_bundled_profile(tmp_path: Path) -> None:
    # A city committee on its province's CMS: same markup, another key.
    site = load_seeds(seeds_with(tmp_path, "zzzx", 'profile = "hnzx"')).site("zzzx")
    assert as_bundled(site.profile, "hnzx") == bundled_profile("hnzx")


def test_an_inline_profile_extends_a_bundled_one_and_replaces_what_it_names(
    tmp_path: Path,
) -> None:
    extra = """
[sites.shzx.profile]
extends = "generic"
hosts = ["www.shzx.gov.cn"]

[sites.shzx.profile.title]
selectors = ["div.article h2"]

[[sites.shzx.profile.articles]]
pattern = '/news/(?P<id>\\d+)(?:_(?P<page>\\d+))?\\.html'
extension = ".html"
"""
    profile = load_seeds(seeds_with(tmp_path, "shzx", extra)).site("shzx").profile
    generic = bundled_profile(GENERIC)
    assert (profile.name, profile.hosts, profile.title) == (
        "shzx", ("www.shzx.gov.cn",), ("div.article h2",),
    )  # fmt: skip
    assert [path.pattern.pattern for path in profile.article_paths] == [
        r"/news/(?P<id>\d+)(?:_(?P<page>\d+))?\.html"
    ]
    assert profile.body == generic.body and profile.date_metas == generic.date_metas


def test_a_profile_file_beside_the_seeds_is_read(tmp_path: Path) -> None:
    (tmp_path / "shzx.toml").write_text(
        """hosts = ["www.shzx.gov.cn"]
[[articles]]
pattern = '/(?P<id>\\d+)(?P<ext>\\.html?)'
[body]
selectors = ["#zoom"]
""",
        encoding="utf-8",
    )
    profile = load_seeds(seeds_with(tmp_path, "shzx", 'profile = "shzx.toml"')).site("shzx").profile
    assert profile.body == ("#zoom",) and profile.hosts == ("www.shzx.gov.cn",)
    # Without `extends`, what the file leaves out is empty or the documented default.
    assert profile.title == () and profile.source_labels == ("来源",)


BAD_INLINE = [
    ("titel = 1", "sites.shzx.profile.titel: unknown key"),
    ('extends = "nosuch"', "sites.shzx.profile.extends: no site profile named 'nosuch'"),
    ('hosts = ["http://www.shzx.gov.cn"]', "sites.shzx.profile.hosts: 'http://www.shzx.gov.cn'"),
    ("[sites.shzx.profile.title]\nselectors = ['h1[']", "title.selectors: 'h1[' is not a CSS"),
    ("[sites.shzx.profile.title]\nselectors = 'h1'", "title.selectors: must be a list"),
    ("[sites.shzx.profile.title]\nselector = ['h1']", "title.selector: unknown key"),
    ("title = ['h1']", "sites.shzx.profile.title: must be a table"),
    ("[[sites.shzx.profile.articles]]\npattern = '/(\\d+).html'", "has no (?P<id>…) group"),
    ("[[sites.shzx.profile.articles]]\npattern = '/(?P<id>\\d+.html'", "is not a regular exp"),
    ("[[sites.shzx.profile.articles]]\npattern = '/(?P<id>\\d+)\\.html'", "articles[0].extension"),
    ("[sites.shzx.profile.content_id]\nid_time = 'A(\\d+)'", "has no (?P<ms>…) group"),
    (
        "[[sites.shzx.profile.articles]]\npattern = '/(?P<id>\\d+)(?P<ext>.html)'\n"
        "second_page_suffix = '_3'",
        'articles[0].second_page_suffix: must be "_2" (default) or "_1"',
    ),
    ("[sites.shzx.profile.body]\nboilerplate_lines = ['(']", "boilerplate_lines[0]: '('"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_INLINE)
def test_a_bad_inline_profile_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    table = "" if text.startswith("[") else "[sites.shzx.profile]\n"
    path = seeds_with(tmp_path, "shzx", "\n" + table + text + "\n")
    with pytest.raises(ProfileError) as caught:
        load_seeds(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: sites.shzx.profile"), message
    assert expected in message and "\n" not in message


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('profile = "nosuch"', "sites.shzx.profile: no bundled profile 'nosuch'"),
        ('profile = "absent.toml"', "absent.toml: profile file not found"),
        ("profile = 3", "sites.shzx.profile: must be a table, a bundled profile's name"),
    ],
)
def test_a_profile_that_cannot_be_found_says_so(tmp_path: Path, extra: str, expected: str) -> None:
    with pytest.raises(SeedsError, match=re.escape(expected)):
        load_seeds(seeds_with(tmp_path, "shzx", extra))


def test_a_bad_profile_file_is_named_with_its_key(tmp_path: Path) -> None:
    (tmp_path / "shzx.toml").write_text("[body]\nselectors = ['div..x']\n", encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_seeds(seeds_with(tmp_path, "shzx", 'profile = "shzx.toml"'))
    assert str(caught.value).startswith(f"{tmp_path / 'shzx.toml'}: profile.body.selectors: ")


def test_the_command_line_gives_a_bad_profile_one_line_and_exit_2(tmp_path: Path) -> None:
    path = seeds_with(tmp_path, "shzx", "\n[sites.shzx.profile.title]\nselectors = ['h1[']\n")
    result = run_cli("--home", str(tmp_path / "home"), "--seeds", str(path), "schedule")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "sites.shzx.profile.title.selectors: 'h1[' is not a CSS selector" in line


def test_parse_profile_keeps_the_documented_defaults_without_extends() -> None:
    profile = parse_profile({}, "bare", "test")
    assert profile == SiteProfile(name="bare")
    assert profile.boilerplate == ("script", "style", "noscript")
    assert profile.next_page_texts == ("下一页", "下页")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/xwzx/zxyw/202305/t20230506_420511.html", ("t20230506_420511", 1)),
        ("/xwzx/zxyw/202305/t20230506_420511_1.html", ("t20230506_420511", 2)),  # TRS counts from 0
        ("/art/2023/5/6/art_1523_894512.html", ("art_1523_894512", 1)),
        ("/politics/2023-05/06/c_1129593487_2.htm", ("c_1129593487", 2)),
        ("/n1/2023/0506/c34948-32680123.html", ("c34948-32680123", 1)),
        ("/zxdt/gzdt/content/post_3912.html", ("post_3912", 1)),
        ("/xwzx/zxyw/index.html", None),
        ("/xwzx/zxyw/index_1.html", None),
        ("/zxyw/list_3_2.html", None),
        ("/zxyw/", None),
    ],
)
def test_the_generic_profile_tells_articles_from_list_pages(
    path: str, expected: tuple[str, int] | None
) -> None:
    # A list's own pages taken for articles would end the walk at page 1.
    generic = bundled_profile(GENERIC)
    base = "http://www.example.gov.cn"
    located = parse_article_url(base + path, generic, base_url=base)
    assert (located and (located.content_id, located.page)) == expected
    if located is not None and located.page == 2:
        assert page_url(base + path, 2, generic) == base + path
