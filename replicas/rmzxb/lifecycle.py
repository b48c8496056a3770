"""The replica of 人民政协网 with articles withdrawn and brought back, and whole-site outages.

Between two crawls a test withdraws articles the way real sites do — a 404, a 410, a redirect
to the home page or to a list page, a "page not found" template served with 200 — and brings
them back by taking them out of `withdrawn`. `outage` makes every article page answer that
status at once (a 404 for all: a broken deployment; a 503: a server down), which must not
make the archive record a whole channel withdrawn. List pages stay as they were, as a site's
cached lists do.
"""

from __future__ import annotations

from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer, Reply

HTML = (("Content-Type", "text/html; charset=utf-8"), ("Server", "nginx"))
# How an article is withdrawn: the status (and where a redirect leads).
HOW = ("404", "410", "home", "list", "template")
HOME_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>人民政协网</title></head><body>'
    '<div class="nav"><a href="/xs/index.shtml">协商</a> <a href="/yw_n/index.shtml">要闻</a>'
    "</div><p>人民政协网首页</p></body></html>"
)
NOT_FOUND_TEMPLATE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>页面不存在——人民政协网</title>'
    '</head><body><div class="nav"><a href="/">首页</a></div><div class="error">'
    "<h2>抱歉，您访问的页面不存在或已被删除</h2><p>5秒后返回首页</p></div></body></html>"
)
GONE_PAGE = (
    "<html><head><title>410 Gone</title></head><body><h1>410 Gone</h1>"
    "<p>稿件已撤销</p></body></html>"
)
SERVER_DOWN = (
    "<html><head><title>503 Service Unavailable</title></head><body>"
    "<h1>503 Service Unavailable</h1></body></html>"
)


class WithdrawingReplica(ReplicaServer):
    """The replica; `withdrawn` maps an article's path to how it is withdrawn (HOW), and
    `outage` is a status every article page answers (None: none)."""

    def __init__(self) -> None:
        super().__init__(build_site, not_found_page)
        self.withdrawn: dict[str, str] = {}
        self.outage: int | None = None

    def reply_for(self, path: str) -> Reply:
        route = path.split("?", 1)[0]
        if route in ("/", "/index.html"):
            self.requests.append(path)
            return Reply(200, HTML, HOME_PAGE.encode("utf-8"))
        if route.startswith("/c/") and (self.outage or route in self.withdrawn):
            self.requests.append(path)
            if self.outage:
                return _outage(self.outage, route)
            return self.withdrawn_reply(self.withdrawn[route], route)
        return super().reply_for(path)

    def withdrawn_reply(self, how: str, route: str) -> Reply:
        """What a withdrawn article's URL answers."""
        if how == "404":
            return not_found_page(route)
        if how == "410":
            return Reply(410, HTML, GONE_PAGE.encode("utf-8"))
        if how in ("home", "list"):
            where = "/" if how == "home" else "/xs/index.shtml"
            return Reply(302, (("Location", self.base_url + where), *HTML), b"")
        if how == "template":
            return Reply(200, HTML, NOT_FOUND_TEMPLATE.encode("utf-8"))
        raise ValueError(f"no way to withdraw an article named {how!r} (one of {', '.join(HOW)})")


def _outage(status: int, route: str) -> Reply:
    if status == 404:
        return not_found_page(route)
    return Reply(status, HTML, SERVER_DOWN.encode("utf-8"))
