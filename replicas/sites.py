"""The bundled replica sites by seeds key, each with a seeds entry pointing its spider at it.

A table of names and seeds; a replica's pages come from its site module, imported when it is
served (the command line reads this table for `replica serve --help`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from replicas import rmzxb

if TYPE_CHECKING:
    from replicas.server import ReplicaServer


@dataclass(frozen=True)
class ReplicaSite:
    """One replica: its site module (build_site, not_found_page) and its seeds entry
    (`{base_url}` left to fill)."""

    key: str
    name: str
    module: str  # e.g. replicas.rmzxb.site
    seeds: str

    def server(self, port: int = 0) -> ReplicaServer:
        """A server of this replica on `port` (0: a free one), not started yet."""
        # Imported here, when a replica is served: its pages' module takes a while to load.
        from replicas.server import ReplicaServer

        site = importlib.import_module(self.module)
        return ReplicaServer(site.build_site, site.not_found_page, port=port)


# Every channel a replica serves, so that a crawl with these seeds reaches all its articles.
_RMZXB_SEEDS = (
    rmzxb.SEEDS_SITE
    + """
[sites.rmzxb.channels.xs]
name = "协商"
list = "/xs/index.shtml"

[sites.rmzxb.channels.yw]
name = "要闻"
list = "/yw_n/index.shtml"
"""
)
_CPPCC_SEEDS = """\
[sites.cppcc]
name = "中国政协网 (replica)"
base_url = "{base_url}"
aliases = ["cppcc.gov.cn"]
download_delay = 0
autothrottle = false

[sites.cppcc.channels.yw]
name = "要闻"
list = "/zxxw/yw/"

[sites.cppcc.channels.zxyw]
name = "要闻 (2017-2020)"
list = "/zxww/newcppcc/zxyw/index.shtml"
"""
_HNZX_SEEDS = """\
[sites.hnzx]
name = "河南省政协 (replica)"
base_url = "{base_url}"
download_delay = 0
autothrottle = false

[sites.hnzx.channels.zxyw]
name = "政协要闻"
list = "/zxyw/"

[sites.hnzx.channels.lzyw]
name = "履职要闻"
list = "/lzyw/"
"""

_SHSZX_SEEDS = """\
[sites.shszx]
name = "上海政协 (replica)"
base_url = "{base_url}"
download_delay = 0
autothrottle = false

[sites.shszx.channels.zxyw]
name = "政协要闻"
list = "/xwzx/zxyw/index.html"

[sites.shszx.channels.wyfc]
name = "委员风采"
list = "/xwzx/wyfc/index.html"
"""
_GDSZX_SEEDS = """\
[sites.gdszx]
name = "广东省政协 (replica)"
base_url = "{base_url}"
download_delay = 0
autothrottle = false

[sites.gdszx.channels.zxyw]
name = "政协要闻"
list = "/zxdt/zxyw/index.html"

[sites.gdszx.channels.sxzx]
name = "市县政协"
list = "/zxdt/sxzx/index.html"
"""

REPLICA_SITES = {
    site.key: site
    for site in (
        ReplicaSite("rmzxb", "人民政协网", "replicas.rmzxb.site", _RMZXB_SEEDS),
        ReplicaSite("cppcc", "中国政协网", "replicas.cppcc.site", _CPPCC_SEEDS),
        ReplicaSite("hnzx", "河南省政协", "replicas.hnzx.site", _HNZX_SEEDS),
        ReplicaSite("shszx", "上海政协", "replicas.shszx.site", _SHSZX_SEEDS),
        ReplicaSite("gdszx", "广东省政协", "replicas.gdszx.site", _GDSZX_SEEDS),
    )
}
