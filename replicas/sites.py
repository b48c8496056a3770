"""The bundled replica sites by seeds key, each with a seeds entry pointing its spider at it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from replicas.cppcc import site as cppcc
from replicas.hnzx import site as hnzx
from replicas.rmzxb import site as rmzxb
from replicas.server import ReplicaServer, Reply, SiteBuilder


@dataclass(frozen=True)
class ReplicaSite:
    """One replica: how to build its pages, and its seeds entry (`{base_url}` left to fill)."""

    key: str
    name: str
    build: SiteBuilder
    not_found: Callable[[str], Reply]
    seeds: str

    def server(self, port: int = 0) -> ReplicaServer:
        return ReplicaServer(self.build, self.not_found, port=port)


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

REPLICA_SITES = {
    site.key: site
    for site in (
        ReplicaSite("rmzxb", "人民政协网", rmzxb.build_site, rmzxb.not_found_page, _RMZXB_SEEDS),
        ReplicaSite("cppcc", "中国政协网", cppcc.build_site, cppcc.not_found_page, _CPPCC_SEEDS),
        ReplicaSite("hnzx", "河南省政协", hnzx.build_site, hnzx.not_found_page, _HNZX_SEEDS),
    )
}
