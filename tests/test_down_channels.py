"""A channel that is down is a failed run, never a quiet one: list pages that cannot be read.

The replica of 人民政协网 on loopback, with one list page (or article) answering badly: a
server error, garbage, a connection reset mid-body, a redirect loop.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from replicas.rmzxb.site import NOT_FOUND_PATH, build_site, not_found_page
from replicas.server import ReplicaServer, Reply
from tests.conftest import REPLICA_SEEDS, CliResult, run_cli, run_cli_reading

LIST_1 = "/xs/index.shtml"
LIST_2 = "/xs/index_2.shtml"
HTML = (("Content-Type", "text/html; charset=utf-8"),)
Fault = Callable[[Reply], Reply]


class FaultyReplica(ReplicaServer):
    """The replica, with some paths answering as `faults` make them answer instead."""

    def __init__(self, faults: dict[str, Fault]):
        super().__init__(build_site, not_found_page)
        self.faults = faults

    def reply_for(self, path: str) -> Reply:
        reply = super().reply_for(path)
        fault = self.faults.get(path.split("?", 1)[0])
        return fault(reply) if fault else reply


_hops = itertools.count()


def server_error(reply: Reply) -> Reply:
    return Reply(503, HTML, b"<html><body><h1>503 Service Unavailable</h1></body></html>")


def garbage(reply: Reply) -> Reply:
    return Reply(200, HTML, bytes(range(128, 256)) * 40)


def binary(reply: Reply) -> Reply:
    return Reply(200, (("Content-Type", "image/png"),), bytes(range(256)) * 8)


def corrupt_gzip(reply: Reply) -> Reply:
    body = b"\x1f\x8b\x08\x00" + bytes(range(200))  # a gzip header, then nonsense
    return Reply(200, (*HTML, ("Content-Encoding", "gzip")), body)


def reset_mid_body(reply: Reply) -> Reply:
    return Reply(reply.status, reply.headers, reply.body, cut_after=len(reply.body) // 3)


def redirect_to_itself(path: str) -> Fault:
    return lambda reply: Reply(302, (("Location", path), *HTML), b"")


def redirect_onwards(path: str) -> Fault:
    # A new URL every time: Scrapy gives up after REDIRECT_MAX_TIMES hops.
    return lambda reply: Reply(302, (("Location", f"{path}?hop={next(_hops)}"), *HTML), b"")


def crawl(
    server: ReplicaServer, tmp: Path, *channels: str, seeds: str = ""
) -> tuple[CliResult, dict[str, Any]]:
    """Crawl `channels` (rmzxb/xs by default) of the replica's seeds and `seeds` more lines."""
    seeds_file = tmp / "seeds.toml"
    text = REPLICA_SEEDS.format(base_url=server.base_url) + seeds
    seeds_file.write_text(text, encoding="utf-8")
    common = ("--home", str(tmp / "home"), "--seeds", str(seeds_file))
    result = run_cli(*common, "crawl", *(channels or ["rmzxb/xs"]))
    runs = run_cli_reading(*common, "runs", "--format", "json")
    return result, json.loads(runs.stdout)[0]


# Each way a first list page can fail, as the first list page of a channel of its own: one
# crawl of all of them (a crawl's start-up costs seconds; each channel fails on its own).
FIRST_PAGE_FAULTS: dict[str, tuple[Callable[[str], Fault], str]] = {
    "e503": (lambda path: server_error, "answered 503"),
    "garbage": (lambda path: garbage, "linked no article of the channel"),
    "binary": (lambda path: binary, "is not an HTML page (image/png)"),
    "reset": (lambda path: reset_mid_body, "could not be fetched"),
    "gzip": (
        lambda path: corrupt_gzip,
        "has a body that does not decode (Content-Encoding: gzip)",
    ),
    "loop": (redirect_to_itself, "redirected back to a page already fetched"),
    "onwards": (redirect_onwards, "redirected again and again (a redirect loop)"),
}


def test_a_first_list_page_that_cannot_be_read_fails_the_run(tmp_path: Path) -> None:
    lists = {key: f"/{key}/index.shtml" for key in FIRST_PAGE_FAULTS}
    faults = {lists[key]: make(lists[key]) for key, (make, _) in FIRST_PAGE_FAULTS.items()}
    channels = "".join(
        f'\n[sites.rmzxb.channels.{key}]\nname = "{key}"\nlist = "{path}"\n'
        for key, path in lists.items()
    )
    with FaultyReplica(faults) as server:
        result, run = crawl(server, tmp_path, *(f"rmzxb/{key}" for key in lists), seeds=channels)
        base_url = server.base_url
    assert result.returncode == 1, result.stdout + result.stderr
    assert run["status"] == "failed"
    for key, (_, why) in FIRST_PAGE_FAULTS.items():
        list_url = base_url + lists[key]
        assert f"{key}: list page 1 {list_url} {why}" in run["error"]
        assert f"{list_url} {why}" in result.stdout  # the summary names the page and the problem
        assert run["walk"][f"rmzxb/{key}"]["failed_at"] == 1


def test_a_later_list_page_that_fails_is_named_and_the_next_crawl_walks_on(
    tmp_path: Path,
) -> None:
    faults = {LIST_2: server_error}
    with FaultyReplica(faults) as server:
        result, run = crawl(server, tmp_path)
        # The channel was read: the run finished, but it says where the walk stopped.
        assert result.returncode == 0, result.stderr
        assert f"rmzxb/xs: list page 2 {server.base_url}{LIST_2} answered 503" in result.stdout
        assert run["walk"]["rmzxb/xs"]["failed_at"] == 2
        assert run["walk"]["rmzxb/xs"]["state"] != "complete"
        faults.clear()  # the server is back
        result, run = crawl(server, tmp_path)
    assert result.returncode == 0, result.stderr
    assert run["walk"]["rmzxb/xs"]["state"] == "complete"


def test_an_article_in_a_redirect_loop_is_counted_and_named(tmp_path: Path) -> None:
    with FaultyReplica({NOT_FOUND_PATH: redirect_onwards(NOT_FOUND_PATH)}) as server:
        result, run = crawl(server, tmp_path)
        url = server.base_url + NOT_FOUND_PATH
    assert result.returncode == 0, result.stderr
    assert run["failed_pages"] == [
        {"url": url, "why": "redirected again and again (a redirect loop)"}
    ]
    assert f"{url} redirected again and again" in result.stdout
    assert run["walk"]["rmzxb/xs"]["state"] == "complete"
