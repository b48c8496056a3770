"""Seeds files: what loads, and the one-line refusals of what does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.errors import SeedsError
from pipelines.seeds import packaged_seeds_path
from scheduler.timing import cron_trigger, load_seeds

GOOD = """\
[sites.rmzxb]
name = "人民政协网"
base_url = "http://www.rmzxb.com.cn/"
aliases = ["www.rmzxw.com.cn"]

[sites.rmzxb.channels.yw]
name = "要闻"
list = "/yw_n/index.shtml"
schedule = "*/30 * * * *"

[sites.rmzxb.channels.xs]
name = "协商"
list = "/xs/index.shtml"
schedule = "*/10 * * * * *"
enabled = false
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "channels.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_seeds_name_the_real_channels() -> None:
    seeds = load_seeds(packaged_seeds_path())
    site = seeds.site("rmzxb")
    assert site.base_url == "http://www.rmzxb.com.cn"
    assert {c.list_path for c in site.channels} >= {"/yw_n/index.shtml", "/xs/index.shtml"}
    assert (site.download_delay, site.concurrent_requests, site.autothrottle) == (1.0, 2, True)


def test_a_good_file_loads_with_defaults(tmp_path: Path) -> None:
    seeds = load_seeds(write(tmp_path, GOOD))
    site = seeds.site("rmzxb")
    assert site.base_url == "http://www.rmzxb.com.cn"
    assert site.url("/yw_n/index.shtml") == "http://www.rmzxb.com.cn/yw_n/index.shtml"
    assert site.aliases == ("www.rmzxw.com.cn",)
    assert [c.ref for c in seeds.select([])] == ["rmzxb/yw"]  # xs is disabled
    # Naming a site crawls its enabled channels; a disabled one only when named itself.
    assert [c.ref for c in seeds.select(["rmzxb"])] == ["rmzxb/yw"]
    assert [c.ref for c in seeds.select(["rmzxb/xs"])] == ["rmzxb/xs"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[sites.rmzxb\nname=1", "not valid TOML"),
        (
            GOOD.replace("[sites.rmzxb]", '[sites.rmzxb]\nprofile = "nosuch"'),
            "sites.rmzxb.profile: no bundled profile 'nosuch'",
        ),
        (
            GOOD.replace('list = "/yw_n/index.shtml"\n', ""),
            "[sites.rmzxb.channels.yw]: channel has no `list`",
        ),
        (
            GOOD.replace('"*/30 * * * *"', '"*/30 * * *"'),
            "sites.rmzxb.channels.yw.schedule: bad cron",
        ),
        (
            GOOD.replace('"*/30 * * * *"', '"61 * * * *"'),
            "sites.rmzxb.channels.yw.schedule: bad cron",
        ),
        (GOOD.replace('"http://www.rmzxb.com.cn/"', '"www.rmzxb.com.cn"'), "base_url"),
        (GOOD.replace("aliases = [", 'download_delay = "slow"\naliases = ['), "download_delay"),
        (
            GOOD.replace("aliases = [", "download_dely = 0\naliases = ["),
            "sites.rmzxb.download_dely: unknown key",
        ),
        (GOOD.replace('schedule = "*/30', 'shedule = "*/30'), "channels.yw.shedule: unknown key"),
        (
            GOOD.replace('"/yw_n/index.shtml"', '"http://other.example/yw_n/index.shtml"'),
            "must be a path relative to the site's base_url",
        ),
    ],
)
def test_bad_files_are_refused_naming_file_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SeedsError) as caught:
        load_seeds(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_missing_file_says_how_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(SeedsError, match=r"not found.*--seeds"):
        load_seeds(tmp_path / "absent.toml")


def test_unknown_channel_names_the_known_ones(tmp_path: Path) -> None:
    seeds = load_seeds(write(tmp_path, GOOD))
    with pytest.raises(SeedsError, match=r"no channel 'zz' .*yw, xs"):
        seeds.select(["rmzxb/zz"])


def test_six_field_cron_has_seconds_first() -> None:
    trigger = cron_trigger("*/10 * * * * *")
    assert str(trigger.fields[trigger.FIELD_NAMES.index("second")]) == "*/10"
    assert str(trigger.timezone) == "Asia/Shanghai"


def test_the_core_loader_checks_a_schedule_only_with_the_check_it_is_given(
    tmp_path: Path,
) -> None:
    # A crawl process loads the seeds without APScheduler: the schedule is the scheduler's.
    from pipelines import seeds

    path = write(tmp_path, GOOD.replace('"*/30 * * * *"', '"61 * * * *"'))
    assert seeds.load_seeds(path).site("rmzxb").channel("yw").schedule == "61 * * * *"

    def refuse(expression: str) -> None:
        raise ValueError(f"{expression} is not for us")

    with pytest.raises(SeedsError) as refused:
        seeds.load_seeds(path, check_schedule=refuse)
    assert str(refused.value) == (
        f"{path}: sites.rmzxb.channels.yw.schedule: bad cron expression '61 * * * *': "
        "61 * * * * is not for us"
    )
