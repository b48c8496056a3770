"""`cppcc-archive channels discover`: channel list pages a site links that the seeds lack."""

from __future__ import annotations

import json
import socket
import tomllib
from pathlib import Path

import pytest

from pipelines.seeds import load_seeds
from replicas.server import ReplicaServer, Reply
from scheduler.discover import as_toml, discover_channels
from tests.conftest import REPLICA_SEEDS, run_cli

BASE = "http://www.rmzxb.com.cn"
NAV = """<html><body><div class="a_nav">
<a href="http://www.rmzxb.com.cn/index.shtml">首 页</a>
<a href="/yw_n/index.shtml">要闻</a>
<a href="/wh/index.shtml" target="_blank">文化</a>
<a href="/wh/">文化</a>
<a href="http://www.rmzxw.com.cn/jj/index.shtml">经 济</a>
<a href="/sp_n/"><img src="/images/sp.png"></a>
<a href="/sp_n/index.shtml">视频</a>
<a href="/zxww/newcppcc/zxyw/index.shtml">政协要闻</a>
<a href="/zxxw/qy/">侨声</a>
<a href="http://www.people.com.cn/gn/index.shtml">人民网</a>
<a href="/aboutus/#bar1">关于我们</a>
<a href="/sh/index.shtml?from=nav">社会</a>
<a href="/c/2022-03-04/3064624.shtml">一篇稿件</a>
<a href="/tz/index_2.shtml">下一页</a>
<a href="/xs/zxdt/index.shtml">政协动态</a>
<a href="/css/">样式</a>
</div></body></html>"""


def test_nav_links_become_channels_in_page_order() -> None:
    found = discover_channels(NAV, BASE + "/", BASE, ["www.rmzxw.com.cn"], ["/yw_n/index.shtml"])
    assert [(c.key, c.name, c.list_path) for c in found] == [
        ("wh", "文化", "/wh/index.shtml"),
        ("jj", "经 济", "/jj/index.shtml"),
        ("sp", "视频", "/sp_n/"),  # the first link was a picture: the name comes from the next
        ("zxyw", "政协要闻", "/zxww/newcppcc/zxyw/index.shtml"),
        ("qy", "侨声", "/zxxw/qy/"),
    ]
    assert found[1].url == "http://www.rmzxw.com.cn/jj/index.shtml"


def test_known_channels_are_dropped_whichever_form_their_path_takes() -> None:
    known = ["/wh/", "jj/index.shtml", "/sp_n/index.shtml", "/yw_n/index.shtml"]
    found = discover_channels(NAV, BASE + "/", BASE, ["www.rmzxw.com.cn"], known)
    assert [c.key for c in found] == ["zxyw", "qy"]


def test_keys_do_not_clash_with_the_seeds_or_each_other() -> None:
    html = '<a href="/yw/">要闻旧版</a><a href="/wh_n/">文化新</a><a href="/wh/">文化</a>'
    found = discover_channels(html, BASE + "/", BASE, (), ["/yw_n/index.shtml"], ["yw"])
    assert [c.key for c in found] == ["yw_2", "wh", "wh_2"]


def test_base_url_with_a_path_and_other_hosts() -> None:
    base = "http://mirror.example/rmzxb"
    html = '<a href="/rmzxb/wh/index.shtml">文化</a><a href="/other/index.shtml">其他</a>'
    found = discover_channels(html, base + "/", base, ())
    assert [(c.key, c.list_path) for c in found] == [("wh", "/wh/index.shtml")]
    assert discover_channels("", base + "/", base) == []


def test_printed_entries_paste_into_the_seeds(tmp_path: Path) -> None:
    found = discover_channels(NAV, BASE + "/", BASE, ["www.rmzxw.com.cn"], ["/yw_n/index.shtml"])
    printed = as_toml("rmzxb", found)
    assert printed.startswith('[sites.rmzxb.channels.wh]\nname = "文化"\n')
    assert tomllib.loads(printed)["sites"]["rmzxb"]["channels"]["sp"]["list"] == "/sp_n/"
    seeds = tmp_path / "seeds.toml"
    seeds.write_text(REPLICA_SEEDS.format(base_url=BASE) + "\n" + printed, encoding="utf-8")
    assert len(load_seeds(seeds).site("rmzxb").channels) == 2 + len(found)


REPLICA_NAV = {"yl", "tz", "dp", "wyjt", "ll", "rs", "sh", "fz", "sp", "wh"}


def test_replica_nav_bar_gives_the_channels_the_seeds_lack(
    replica: ReplicaServer, replica_seeds: Path
) -> None:
    result = run_cli("--seeds", str(replica_seeds), "channels", "discover", "rmzxb")
    assert result.returncode == 0, result.stderr
    channels = tomllib.loads(result.stdout)["sites"]["rmzxb"]["channels"]
    assert set(channels) == REPLICA_NAV
    assert channels["yl"] == {"name": "要论", "list": "/yl_n/index.shtml", "schedule": "0 * * * *"}
    # The replica has no home page: the first seeded channel's list page is read instead.
    assert "answered 404" in result.stderr and "/xs/index.shtml" in result.stderr
    assert replica.requests[:2] == ["/robots.txt", "/"]
    assert "/xs/index.shtml" in replica.requests and replica.requests.count("/robots.txt") == 1
    # Pasted in, the seeds load, and discovering again finds nothing more.
    with replica_seeds.open("a", encoding="utf-8") as seeds:
        seeds.write("\n" + result.stdout)
    again = run_cli("--seeds", str(replica_seeds), "channels", "discover", "rmzxb")
    assert again.returncode == 0 and again.stdout == ""
    assert "no channel of rmzxb found" in again.stderr


def test_page_option_and_json(replica: ReplicaServer, replica_seeds: Path) -> None:
    args = ("channels", "discover", "rmzxb", "--page", "/yw_n/index.shtml", "--format", "json")
    result = run_cli("--seeds", str(replica_seeds), *args)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert {entry["key"] for entry in found} == REPLICA_NAV
    assert found[0]["url"] == replica.base_url + found[0]["list"]
    assert "/" not in replica.requests and result.stderr == ""


def test_robots_txt_is_obeyed(tmp_path: Path) -> None:
    routes = {"/robots.txt": Reply(200, (), b"User-agent: *\nDisallow: /\n")}
    with ReplicaServer(lambda base_url: routes) as server:
        seeds = tmp_path / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=server.base_url), encoding="utf-8")
        result = run_cli("--seeds", str(seeds), "channels", "discover", "rmzxb")
        assert server.requests == ["/robots.txt"]
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "robots.txt forbids" in result.stderr


def test_unreachable_site_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    seeds = tmp_path / "seeds.toml"
    seeds.write_text(REPLICA_SEEDS.format(base_url=f"http://127.0.0.1:{port}"), encoding="utf-8")
    result = run_cli("--seeds", str(seeds), "channels", "discover", "rmzxb")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "unreachable" in result.stderr


@pytest.mark.parametrize("args", [("nosuch",), ()])
def test_unknown_or_missing_site_is_a_usage_error(
    replica_seeds: Path, args: tuple[str, ...]
) -> None:
    result = run_cli("--seeds", str(replica_seeds), "channels", "discover", *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
