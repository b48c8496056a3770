"""`cppcc-archive web` over real HTTP: the JSON API answers as the CLI does, pages render, and
writes keep to the token and the channel locks. One catalogue crawled from the replica; the
server runs as a user would start it, in a subprocess on a free port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from pipelines.catalogue.bulk import insert_rows
from pipelines.catalogue.conflicts import table_of
from pipelines.catalogue.counts import COUNT_CAP
from pipelines.catalogue.engine import make_engine, make_session_factory
from pipelines.catalogue.locks import STALE_AFTER, acquire_channel_locks, release_channel_locks
from pipelines.catalogue.models import SHANGHAI, ArticleRecord
from pipelines.catalogue.schema import ensure_schema
from pipelines.catalogue.writes import content_values, finish_run, save_article, start_run
from replicas.rmzxb.site import SEEDS_SITE, build_site, not_found_page
from replicas.server import ReplicaServer
from tests.conftest import CLI, REPLICA_SEEDS, REPO, CliResult, run_cli, run_cli_reading, start_cli
from tests.db_fixtures import FETCHED, location, make_article

TOKEN = "test-token-7f3a"


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class WebServer:
    process: subprocess.Popen[bytes]
    port: int
    stderr: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, token: str | None = None) -> Reply:
        return self.request("GET", path, token=token)

    def request(self, method: str, path: str, body: Any = None, token: str | None = None) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url(path), data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=90) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return Reply(exc.code, exc.headers, exc.read())

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


@dataclass
class Archive:
    home: Path
    seeds: Path
    web: WebServer

    def cli(self, *args: str) -> CliResult:
        return run_cli_reading("--home", str(self.home), "--seeds", str(self.seeds), *args)

    def json(self, *args: str) -> Any:
        result = self.cli(*args, "--format", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def catalogue_url(self) -> str:
        return f"sqlite:///{self.home / 'catalogue.sqlite3'}"


def start_web(
    home: Path,
    seeds: Path,
    *args: str,
    token: str | None = None,
    db: str | None = None,
    env: dict[str, str] | None = None,
) -> WebServer:
    """`cppcc-archive web --port 0`, once it says where it listens."""
    stderr = home.parent / f"web-{time.monotonic_ns()}.err"
    environ = {key: value for key, value in os.environ.items() if key != "CPPCC_WEB_TOKEN"}
    environ.update(env or {})
    if token:
        environ["CPPCC_WEB_TOKEN"] = token
    where = ["--home", str(home), "--seeds", str(seeds), *(["--db", db] if db else [])]
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [str(CLI), *where, "web", "--port", "0", *args],
            stdout=subprocess.DEVNULL, stderr=sink, cwd=REPO, env=environ,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        said = stderr.read_text(encoding="utf-8")
        if "serving http://" in said:
            port = int(said.split("serving http://127.0.0.1:", 1)[1].split("/", 1)[0])
            return WebServer(process, port, stderr)
        assert process.poll() is None, said
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"the web server did not start: {stderr.read_text()}")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    folder = tmp_path_factory.mktemp("web")
    with ReplicaServer(build_site, not_found_page) as replica:
        seeds = folder / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=replica.base_url), encoding="utf-8")
        home = folder / "home"
        crawled = run_cli("--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/xs",
                          "rmzxb/yw")  # fmt: skip
        assert crawled.returncode == 0, crawled.stderr
        web = start_web(home, seeds, token=TOKEN)
        try:
            yield Archive(home, seeds, web)
        finally:
            web.stop()


# -- the API answers as the CLI does -------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ("limit=100", ["--limit", "100"]),
        ("channel=yw&since=2023-03-01", ["--channel", "yw", "--since", "2023-03-01"]),
        ("site=rmzxb&until=2023-03-31&limit=3", ["--site", "rmzxb", "--until", "2023-03-31",
                                                 "--limit", "3"]),
        (f"q={quote('政协')}", ["--search", "政协"]),
        (f"q={quote('政协 协商')}&channel=xs", ["--search", "政协 协商", "--channel", "xs"]),
        (f"q={quote('政协')}&sort=relevance", ["--search", "政协", "--sort", "relevance"]),
        (f"q={quote('政协')}&sort=newest", ["--search", "政协", "--sort", "newest"]),
        (f"section={quote('政协动态')}", ["--section", "政协动态"]),
    ],
)  # fmt: skip
def test_api_articles_are_the_cli_articles(
    archive: Archive, query: str, options: list[str]
) -> None:
    reply = archive.web.get(f"/api/articles?{query}")
    assert reply.status == 200, reply.body
    expected = archive.json("articles", *options)
    assert expected, "the filters should find something"
    assert reply.json()["articles"] == expected


def test_pages_of_articles_add_up_to_the_whole_list(archive: Archive) -> None:
    everything = archive.json("articles", "--limit", "1000")
    path: str | None = "/api/articles?limit=3"
    seen, totals = [], set()
    while path is not None:
        page = archive.web.get(path).json()
        seen.extend(page["articles"])
        totals.add(page["total"])
        path = page["next"]
    assert seen == everything
    assert totals == {len(everything)} and len(everything) > 3
    last = archive.web.get(f"/api/articles?limit=3&offset={len(everything) - 1}").json()
    assert len(last["articles"]) == 1 and last["next"] is None


def crowd(url: str, articles: int, in_xs: int) -> None:
    """A catalogue of `articles` articles, `in_xs` of them in channel xs and the rest in yw,
    one a minute: rows inserted in bulk, as the benchmarks fill theirs."""
    engine = make_engine(url)
    try:
        ensure_schema(engine)
        first = datetime(2024, 3, 1, 8, 0, tzinfo=SHANGHAI)
        rows = []
        for number in range(articles):
            page = f"https://www.rmzxb.com.cn/c/2024-03-01/{number}.shtml"
            article = make_article(page, published_at=first + timedelta(minutes=number))
            rows.append({"id": number + 1, "url": page, "site": "rmzxb",
                         "channel": "xs" if number < in_xs else "yw",
                         "first_seen_at": FETCHED, "last_seen_at": FETCHED,
                         **content_values(article, FETCHED)})  # fmt: skip
        with engine.begin() as connection:
            insert_rows(connection, table_of(ArticleRecord), rows)
    finally:
        engine.dispose()


def test_a_list_counts_up_to_the_cap_as_a_search_does(fresh_db_url: str, tmp_path: Path) -> None:
    many, in_xs = COUNT_CAP + 5, 3
    crowd(fresh_db_url, many, in_xs)
    seeds = tmp_path / "seeds.toml"
    seeds.write_text(REPLICA_SEEDS.format(base_url="http://127.0.0.1:9"), encoding="utf-8")
    web = start_web(tmp_path / "home", seeds, "--db", fresh_db_url)
    try:
        first = web.get("/api/articles?limit=3").json()
        assert (first["total"], first["total_exact"]) == (COUNT_CAP, False)
        assert len(first["articles"]) == 3 and first["next"] is not None
        xs = web.get("/api/articles?channel=xs").json()  # under the cap: exact
        assert (xs["total"], xs["total_exact"], xs["next"]) == (in_xs, True, None)
        # A page past the cap counts to its own end: the last page knows it is the last.
        near = web.get(f"/api/articles?limit=3&offset={COUNT_CAP}").json()
        assert (near["total"], near["total_exact"]) == (COUNT_CAP + 3, False) and near["next"]
        last = web.get(f"/api/articles?limit=3&offset={many - 2}").json()
        assert (last["total"], last["total_exact"], last["next"]) == (many, True, None)
        assert len(last["articles"]) == 2
    finally:
        web.stop()
    listed = run_cli("--home", str(tmp_path / "home"), "--seeds", str(seeds), "--db",
                     fresh_db_url, "articles", "--limit", "3")  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == (
        f"showing 3 of more than {COUNT_CAP:,} articles; --limit N for more (0: all)\n"
    )


def test_search_pages_carry_the_total_and_the_next_link(archive: Archive) -> None:
    everything = archive.json("articles", "--search", "政协", "--limit", "100")
    first = archive.web.get(f"/api/articles?q={quote('政协')}&limit=2").json()
    assert first["total"] == len(everything) > 2 and first["total_exact"] is True
    assert first["next"] == f"/api/articles?q={quote('政协')}&limit=2&offset=2"
    second = archive.web.get(first["next"]).json()
    assert first["articles"] + second["articles"] == everything[:4]


def test_a_search_is_newest_first_unless_asked_by_relevance(archive: Archive) -> None:
    newest = archive.web.get(f"/api/articles?q={quote('政协')}&limit=100").json()["articles"]
    times = [article["published_at"] for article in newest]
    assert times == sorted(times, reverse=True) and len(times) > 2
    ranked = archive.web.get(f"/api/articles?q={quote('政协')}&limit=100&sort=relevance")
    assert {a["id"] for a in ranked.json()["articles"]} == {a["id"] for a in newest}
    wrong = archive.web.get(f"/api/articles?q={quote('政协')}&sort=oldest")
    assert wrong.status == 422 and "sort" in wrong.body.decode()
    page = archive.web.get(f"/?q={quote('政协')}&sort=relevance")
    assert page.status == 200 and '<option value="relevance" selected>' in page.text


def test_an_article_and_its_versions_are_as_show_gives_them(archive: Archive) -> None:
    article_id = archive.json("articles")[0]["id"]
    assert archive.web.get(f"/api/articles/{article_id}").json() == archive.json(
        "show", str(article_id)
    )
    versions = archive.web.get(f"/api/articles/{article_id}/versions").json()
    assert versions == archive.json("show", str(article_id), "--versions")
    assert versions["versions"][0]["number"] == 1


def test_runs_and_schedule_are_as_the_cli_gives_them(archive: Archive) -> None:
    runs = archive.web.get("/api/runs").json()["runs"]
    assert runs == archive.json("runs")[: len(runs)] and runs
    assert archive.web.get(f"/api/runs/{runs[-1]['id']}").json() == runs[-1]
    schedule = archive.web.get("/api/schedule").json()["channels"]
    expected = archive.json("schedule")
    assert [{**row, "next_run_at": None} for row in schedule] == [
        {**row, "next_run_at": None} for row in expected
    ]
    assert {row["channel"] for row in schedule} >= {"rmzxb/yw", "rmzxb/xs"}


def test_the_openapi_document_lists_the_api(archive: Archive) -> None:
    document = archive.web.get("/openapi.json").json()
    assert {"/api/articles", "/api/articles/{article_id}", "/api/articles/{article_id}/versions",
            "/api/runs", "/api/schedule", "/api/crawls"} <= set(document["paths"])  # fmt: skip
    assert "/" not in document["paths"]  # pages are not API


# -- bad requests: 422 or 404 with a message, never 500 ---------------------------------------


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("since=2022-13-01", "since"),
        ("until=yesterday", "until"),
        ("changed_since=0", "changed_since"),
        ("limit=-1", "limit"),
        ("limit=many", "limit"),
        ("limit=100000", "limit"),
        ("offset=-5", "offset"),
        ("offset=0.0", "'0.0' is not a whole number"),  # pydantic alone takes it for 0
        ("limit=%205", "' 5' is not a whole number"),
        ("offset=99999999999999999999999", "offset"),
        ("site=nowhere", "no site 'nowhere'"),
        ("channel=nothing", "no channel 'nothing'"),
        (f"q={quote('政')}", "two characters or more"),
        (f"q={quote('!!!')}", "no word to look for"),
        (f"q={quote('政协')}&changed_since=2023-01-01", "do not combine"),
    ],
)
def test_a_bad_parameter_is_a_422_saying_what_is_wrong(
    archive: Archive, query: str, said: str
) -> None:
    reply = archive.web.get(f"/api/articles?{query}")
    assert reply.status == 422, reply.body
    assert said in reply.json()["message"]


@pytest.mark.parametrize(
    "path",
    ["/api/articles/999999", "/api/articles/999999/versions", "/api/runs/999999",
     "/articles/999999"],
)  # fmt: skip
def test_what_does_not_exist_is_a_404(archive: Archive, path: str) -> None:
    reply = archive.web.get(path)
    assert reply.status == 404 and "999999" in reply.text


@pytest.mark.parametrize("path", ["/api/articles/abc", "/api/articles/-1", "/api/runs/1e99",
                                  f"/api/articles/{2**70}", "/api/articles/1.0"])  # fmt: skip
def test_a_bad_id_is_a_422(archive: Archive, path: str) -> None:
    assert archive.web.get(path).status == 422


# -- writes: the token, the locks, a crawl started --------------------------------------------


def test_a_write_needs_the_token(archive: Archive) -> None:
    body = {"channels": ["rmzxb/xs"]}
    for token in (None, "wrong"):
        reply = archive.web.request("POST", "/api/crawls", body, token=token)
        assert reply.status == 401, reply.body
        assert reply.headers["WWW-Authenticate"] == "Bearer"


def test_without_a_token_configured_writes_are_off(archive: Archive) -> None:
    web = start_web(archive.home, archive.seeds)
    try:
        reply = web.request("POST", "/api/crawls", {"channels": ["rmzxb/xs"]}, token=TOKEN)
        assert reply.status == 403
        assert "write endpoints are off" in reply.json()["detail"]
        assert web.get("/api/articles").status == 200  # reads are open on loopback
    finally:
        # Ctrl-C stops it cleanly.
        assert web.stop() == 0
    assert web.stderr.read_text(encoding="utf-8").strip().endswith("web: stopped")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"channels": ["rmzxb/nothing"]}, "nothing"),
        ({"channels": ["nowhere/yw"]}, "nowhere"),
        ({"channels": []}, "channels"),
        ({"channel": "rmzxb/yw"}, "channels"),
    ],
)
def test_a_crawl_of_an_unknown_channel_is_refused(
    archive: Archive, body: dict[str, Any], said: str
) -> None:
    reply = archive.web.request("POST", "/api/crawls", body, token=TOKEN)
    assert reply.status == 422, reply.body
    assert said in reply.json()["message"]


def test_a_crawl_of_a_channel_being_crawled_is_a_409_naming_the_run(archive: Archive) -> None:
    engine = make_engine(archive.catalogue_url())
    sessions = make_session_factory(engine)
    now, host = datetime.now(UTC), socket.gethostname()
    with sessions.begin() as session:
        run_id = start_run(session, trigger="manual", channels=["rmzxb/yw"], pid=os.getpid(),
                           host=host, started_at=now)  # fmt: skip
        acquire_channel_locks(
            session, ["rmzxb/yw"], run_id=run_id, host=host, pid=os.getpid(), now=now,
            is_alive=lambda *_: True, stale_after=STALE_AFTER,
        )  # fmt: skip
    try:
        reply = archive.web.request("POST", "/api/crawls", {"channels": ["rmzxb/yw"]}, TOKEN)
        assert reply.status == 409, reply.body
        assert reply.json()["run_id"] == run_id
        assert f"rmzxb/yw is being crawled by run {run_id}" in reply.json()["detail"]
    finally:
        with sessions.begin() as session:
            release_channel_locks(session, run_id)
            finish_run(session, run_id, status="interrupted", finished_at=datetime.now(UTC),
                       exit_code=None, finish_reason=None)  # fmt: skip
        engine.dispose()


def test_a_crawl_started_over_the_api_runs_and_is_listed(archive: Archive) -> None:
    reply = archive.web.request("POST", "/api/crawls", {"channels": ["rmzxb/xs"]}, TOKEN)
    assert reply.status == 202, reply.body
    started = reply.json()
    assert started["channels"] == ["rmzxb/xs"]
    assert reply.headers["Location"] == f"/api/runs/{started['run_id']}"
    deadline = time.monotonic() + 120
    while True:
        run = archive.web.get(f"/api/runs/{started['run_id']}").json()
        if run["status"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert run["status"] == "finished", run
    assert run["trigger"] == "manual" and run["channels"] == ["rmzxb/xs"]
    listed = archive.web.get("/api/runs").json()["runs"]
    assert listed[0]["id"] == started["run_id"]


# -- pages ------------------------------------------------------------------------------------


def test_search_page_marks_the_hits_in_chinese(archive: Archive) -> None:
    reply = archive.web.get(f"/?q={quote('政协')}")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    first = archive.json("articles", "--search", "政协")[0]
    assert first["title"] in reply.text
    assert "<mark>政协</mark>" in reply.text
    assert f'href="/articles/{first["id"]}"' in reply.text


def test_pages_carry_a_content_security_policy(archive: Archive) -> None:
    for path in ("/", "/runs", "/schedule"):
        policy = archive.web.get(path).headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy
        assert "frame-src http://127.0.0.1:8081" in policy
        assert "frame-ancestors 'self'" in policy


def test_an_article_page_shows_the_article_and_its_captures(archive: Archive) -> None:
    article = archive.json("show", str(archive.json("articles")[0]["id"]))
    page = archive.web.get(f"/articles/{article['id']}").text
    assert f"<h1>{article['title']}</h1>" in page
    assert article["paragraphs"][0] in page
    capture = article["captures"][0]
    stamp = datetime.fromisoformat(capture["fetched_at"]).astimezone(UTC)
    assert f"http://127.0.0.1:8081/archive/{stamp:%Y%m%d%H%M%S}/{capture['url']}" in page
    assert "Version 1" in page


def test_an_article_page_lists_its_attachments_with_their_archived_files(
    archive: Archive, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'catalogue.sqlite3'}")
    ensure_schema(engine)
    docx = "https://www.rmzxw.com.cn/files/%E5%BE%81%E9%9B%86%E8%A1%A8.docx"  # 征集表.docx
    with make_session_factory(engine)() as session, session.begin():
        save_article(
            session, article=make_article(attachments=(docx,)), site="rmzxb", channel="yw",
            captures=[(1, location("p1"))], run_id=None,
        )  # fmt: skip
    engine.dispose()
    web = start_web(home, archive.seeds)
    try:
        page = web.get("/articles/1").text
    finally:
        web.stop()
    archived = f"http://127.0.0.1:8081/archive/{FETCHED:%Y%m%d%H%M%S}id_/{docx}"
    assert f'<a href="{archived}" rel="noreferrer">征集表.docx</a>' in page


def test_a_channel_page_lists_its_articles_by_month(archive: Archive) -> None:
    articles = archive.json("articles", "--channel", "yw", "--limit", "100")
    newest = articles[0]
    page = archive.web.get("/channels/rmzxb/yw").text
    assert "要闻" in page
    assert newest["published_at"][:7] in page and newest["title"] in page
    oldest = articles[-1]
    month = archive.web.get(f"/channels/rmzxb/yw?month={oldest['published_at'][:7]}").text
    assert oldest["title"] in month
    assert archive.web.get("/channels/rmzxb/nothing").status == 404
    assert archive.web.get("/channels/rmzxb/yw?month=2023-13").status == 404


def test_runs_and_schedule_pages(archive: Archive) -> None:
    assert "rmzxb/yw" in archive.web.get("/runs").text
    assert "要闻" in archive.web.get("/schedule").text


# -- the command ------------------------------------------------------------------------------


def test_a_port_taken_is_one_line_and_exit_2(archive: Archive) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        result = archive.cli("web", "--port", str(taken.getsockname()[1]))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "cannot listen on 127.0.0.1:" in result.stderr


def test_another_address_than_loopback_needs_a_token(archive: Archive) -> None:
    result = archive.cli("web", "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "CPPCC_WEB_TOKEN" in result.stderr


def test_without_pywb_the_replay_is_off_and_said_so(archive: Archive) -> None:
    said = archive.web.stderr.read_text(encoding="utf-8")
    assert "replay off: no pywb" in said and "--pywb PATH" in said


def test_a_replay_url_moves_the_replay_links_and_the_policy(archive: Archive) -> None:
    web = start_web(archive.home, archive.seeds, "--replay-url", "https://replay.example.org/")
    try:
        article = archive.json("show", str(archive.json("articles")[0]["id"]))
        reply = web.get(f"/articles/{article['id']}")
        stamp = datetime.fromisoformat(article["captures"][0]["fetched_at"]).astimezone(UTC)
        link = f"https://replay.example.org/archive/{stamp:%Y%m%d%H%M%S}/{article['url']}"
        assert link in reply.text
        policy = reply.headers["Content-Security-Policy"]
        assert "frame-src https://replay.example.org;" in policy
        framed = web.get(f"/articles/{article['id']}/captures/1").text
        frame = f"https://replay.example.org/archive/{stamp:%Y%m%d%H%M%S}mp_/{article['url']}"
        assert f'<iframe class="replay" src="{frame}"' in framed  # the page alone, no banner
        assert web.get(f"/articles/{article['id']}/captures/99").status == 404
    finally:
        web.stop()


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--pywb", "/nowhere/pywb-env"], "--pywb /nowhere/pywb-env: no pywb `wayback` program"),
        (["--replay-url", "replay.example.org"], "--replay-url replay.example.org: not an http"),
    ],
)
def test_a_replay_option_that_cannot_work_is_one_line(
    archive: Archive, options: list[str], said: str
) -> None:
    result = archive.cli("web", "--port", "0", *options)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and said in result.stderr


def test_serve_with_web_serves_the_interface_beside_the_service(tmp_path: Path) -> None:
    home, seeds = tmp_path / "home", tmp_path / "seeds.toml"
    # A channel whose one daily slot is never reached in the test: the service crawls nothing.
    seeds.write_text(SEEDS_SITE.format(base_url="http://127.0.0.1:9") + """
[sites.rmzxb.channels.yw]
name = "要闻"
list = "/yw_n/index.shtml"
schedule = "0 0 * * *"
""", encoding="utf-8")  # fmt: skip
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    service = start_cli("--home", str(home), "--seeds", str(seeds), "serve", "--web",
                        "--web-port", str(port))  # fmt: skip
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(service.stderr or ()), daemon=True)
    reader.start()
    try:
        deadline, reply = time.monotonic() + 60, None
        # Until the service has started (its signal handlers in place) and the web answers.
        while reply is None and time.monotonic() < deadline:
            assert service.poll() is None, said
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/schedule") as answer:
                    if any("serving 1 channel(s)" in line for line in said):
                        reply = json.loads(answer.read())
            except OSError:
                pass
            time.sleep(0.2)
        assert reply is not None, f"the service or its web interface never answered: {said}"
        assert [row["channel"] for row in reply["channels"]] == ["rmzxb/yw"]
    finally:
        os.killpg(service.pid, signal.SIGINT)  # Ctrl-C in its terminal
        service.wait(timeout=60)
        reader.join(timeout=10)
        for stream in (service.stdout, service.stderr):
            if stream is not None:
                stream.close()
    err = "".join(said)
    assert service.returncode == 0, err
    assert "web: stopped" in err
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_serve_with_web_on_a_port_taken_does_not_start(tmp_path: Path, replica_seeds: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        result = run_cli("--home", str(tmp_path / "home"), "--seeds", str(replica_seeds),
                         "serve", "--web", "--web-port", port, timeout=60)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "cannot listen on 127.0.0.1:" in result.stderr
    assert "the web interface did not start" in result.stderr
