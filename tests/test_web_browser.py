"""The web interface in a real browser: Debian's Chromium driven by Playwright (no browser
download), `cppcc-archive web` with pywb beside it, over a catalogue crawled from the replica.

What a reader sees is checked on screenshots (the snippet's highlight, Chinese glyphs rather than
empty boxes), and what an archived page's script can reach is checked in the browser: one replica
article carries a script that tries to read the UI's document through `window.top`.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from replicas.rmzxb.site import build_site, not_found_page
from replicas.server import ReplicaServer, Routes
from tests.conftest import REPLICA_SEEDS, run_cli
from tests.pywb_tools import pywb_tool
from tests.test_web import WebServer, start_web

HOSTILE_PATH = "/c/2023-03-13/3308004.shtml"  # an article of rmzxb/yw
PICTURES_PATH = "/c/2022-03-04/3064624.shtml"  # an article of rmzxb/xs with five pictures
# What an archived page's script does to reach the page that frames it, and where it says
# what came of it: on its own <html> element, which the test reads.
PROBE = b"""<script>
(function () {
  var said;
  try {
    said = window.top.document === document ? "own document" : "read " + window.top.document.title;
  } catch (error) {
    said = error.name;
  }
  document.documentElement.setAttribute("data-probe", said);
})();
</script>"""
HIGHLIGHT = (0xFF, 0xE6, 0x80)  # mark's background in web/static/style.css
# As the machine's notes start Chromium: no sandbox as root, and no background connections,
# which this network refuses (and which would make the test depend on the outside world).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass
class Site:
    home: Path
    seeds: Path
    web: WebServer
    replay_origin: str
    replica_base: str
    screenshots: Path

    def url(self, path: str) -> str:
        return self.web.url(path)


def hostile_site(base_url: str) -> Routes:
    """The rmzxb replica, one article of which carries PROBE."""
    routes = dict(build_site(base_url))
    page = routes[HOSTILE_PATH]
    routes[HOSTILE_PATH] = replace(page, body=page.body.replace(b"</body>", PROBE + b"</body>"))
    return routes


def chromium_path() -> str:
    """Debian's chromium (CPPCC_TEST_CHROMIUM to use another); .ci/run installs it."""
    path = os.environ.get("CPPCC_TEST_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("no chromium: apt-get install chromium fonts-wqy-zenhei (as .ci/run does)")
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser")
    screenshots = Path(os.environ.get("CPPCC_TEST_SCREENSHOTS") or folder / "screenshots")
    screenshots.mkdir(parents=True, exist_ok=True)
    with ReplicaServer(hostile_site, not_found_page) as replica:
        seeds = folder / "seeds.toml"
        seeds.write_text(REPLICA_SEEDS.format(base_url=replica.base_url), encoding="utf-8")
        home = folder / "home"
        crawled = run_cli("--home", str(home), "--seeds", str(seeds), "crawl", "rmzxb/xs",
                          "rmzxb/yw")  # fmt: skip
        assert crawled.returncode == 0, crawled.stderr
        wayback = pywb_tool("wayback")
        web = start_web(home, seeds, "--replay-port", "0", "--pywb", str(wayback))
        try:
            said = web.stderr.read_text(encoding="utf-8")
            found = re.search(r"replay (http://127\.0\.0\.1:\d+)/ by pywb", said)
            assert found, said
            yield Site(home, seeds, web, found.group(1), replica.base_url, screenshots)
        finally:
            web.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        yield context.new_page()
    finally:
        context.close()


def article_id(site: Site, path: str) -> int:
    """The catalogue id of the replica article at `path`, through the API."""
    url = site.replica_base + path
    for article in site.web.get("/api/articles?limit=1000").json()["articles"]:
        if article["url"] == url:
            return int(article["id"])
    raise AssertionError(f"{url} is not in the catalogue")


def shot(page: Page, site: Site, name: str) -> Image.Image:
    """A screenshot of what the browser shows, kept beside the run (CPPCC_TEST_SCREENSHOTS)."""
    png = page.screenshot(path=site.screenshots / f"{name}.png")
    return Image.open(io.BytesIO(png)).convert("RGB")


def region(image: Image.Image, box: dict[str, float] | None) -> Image.Image:
    assert box is not None, "the element is not shown"
    left, top = int(box["x"]), int(box["y"])
    return image.crop((left, top, left + int(box["width"]), top + int(box["height"])))


def squeezed(text: str) -> str:
    """Text as normalisation compares it: no spaces (ideographic ones included), ： as :."""
    return "".join(text.split()).replace("：", ":")


def share_of(image: Image.Image, colour: tuple[int, int, int]) -> float:
    data = image.tobytes()  # RGB: three bytes a pixel
    pixels = [tuple(data[at : at + 3]) for at in range(0, len(data), 3)]
    return pixels.count(colour) / len(pixels)


def dark_share(image: Image.Image) -> float:
    grey = image.convert("L").tobytes()  # one byte a pixel
    return sum(1 for value in grey if value < 128) / len(grey)


def glyphs_differ(image: Image.Image, characters: int) -> bool:
    """Whether the text's characters are drawn as different glyphs: a missing CJK font draws
    each as the same empty box."""
    width = image.width // characters
    cells = [image.crop((i * width, 0, (i + 1) * width, image.height)) for i in range(characters)]
    return len({cell.tobytes() for cell in cells}) == characters


# -- what a reader sees ------------------------------------------------------------------------


def test_search_shows_the_hits_with_their_words_highlighted(site: Site, page: Page) -> None:
    expected = site.web.get(f"/api/articles?q={quote('委员')}&limit=1").json()["articles"][0]
    page.goto(site.url("/"))
    page.fill("input[type=search]", "委员")
    page.press("input[type=search]", "Enter")
    page.wait_for_url(re.compile(r"\?q="))
    first_hit = page.locator("ol.hits li").first
    title = first_hit.locator("a").first
    mark = first_hit.locator(".snippet mark").first
    assert title.inner_text() == expected["title"]
    assert mark.inner_text() == "委员"
    image = shot(page, site, "search")
    marked = region(image, mark.bounding_box())
    assert share_of(marked, HIGHLIGHT) > 0.3, "the hit is not highlighted on screen"
    assert glyphs_differ(marked, 2), "委 and 员 are drawn alike: no Chinese font"
    assert dark_share(region(image, title.bounding_box())) > 0.02, "the title is not drawn"


def test_an_article_reads_as_on_the_site_with_its_archived_pictures(site: Site, page: Page) -> None:
    number = article_id(site, PICTURES_PATH)
    article = site.web.get(f"/api/articles/{number}").json()
    page.goto(site.url(f"/articles/{number}"))
    heading = page.locator("article h1")
    assert heading.inner_text() == article["title"]
    pictures = page.locator("figure img")
    assert pictures.count() == len(article["images"]) == 5
    pictures.first.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure img')].every(i => i.complete)"
    )
    loaded = page.eval_on_selector_all("figure img", "all => all.map(i => i.naturalWidth)")
    assert all(width > 0 for width in loaded), "a picture did not come from the replay"
    sources = page.eval_on_selector_all("figure img", "all => all.map(i => i.src)")
    assert all(source.startswith(site.replay_origin + "/") for source in sources)
    page.evaluate("window.scrollTo(0, 0)")
    image = shot(page, site, "article")
    drawn = region(image, heading.bounding_box())
    assert dark_share(drawn) > 0.02
    assert glyphs_differ(region(image, page.locator("dl.fields dt").first.bounding_box()), 4)


def test_a_capture_replays_in_a_frame_from_the_replay_origin(site: Site, page: Page) -> None:
    number = article_id(site, PICTURES_PATH)
    title = site.web.get(f"/api/articles/{number}").json()["title"]
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(site.url(f"/articles/{number}"))
    page.click("a:text-is('replay')")
    frame_element = page.locator("iframe.replay")
    frame = frame_element.element_handle().content_frame()
    assert frame is not None
    frame.wait_for_load_state()
    assert frame.url.startswith(f"{site.replay_origin}/archive/")
    assert frame.url.endswith(site.replica_base + PICTURES_PATH)
    assert squeezed(title) in squeezed(frame.locator("body").inner_text())
    shot(page, site, "replay")
    ui = site.url("/")
    from_ui = [url for url in asked if url.startswith(ui)]
    assert all(re.match(rf"{re.escape(ui)}(articles/\d+(/captures/\d+)?|static/)", url)
               for url in from_ui), from_ui  # fmt: skip
    assert not any(url.startswith(site.replica_base) for url in asked), "the live site was asked"


# -- what an archived script can reach ---------------------------------------------------------


def test_an_archived_script_cannot_read_the_ui(site: Site, page: Page) -> None:
    number = article_id(site, HOSTILE_PATH)
    page.goto(site.url(f"/articles/{number}/captures/1"))
    frame = page.locator("iframe.replay").element_handle().content_frame()
    assert frame is not None
    frame.wait_for_selector("html[data-probe]", state="attached")
    said = frame.evaluate("document.documentElement.getAttribute('data-probe')")
    assert not said.startswith("read "), f"the archived script read the UI: {said}"
    # Whatever pywb's rewriting does to the script's `window.top`, the browser itself keeps
    # the replay origin from the UI: the same read, unrewritten, from inside the frame.
    raw = frame.evaluate(
        "() => { try { return window.top.document.title } catch (error) { return error.name } }"
    )
    assert raw == "SecurityError"
    print(f"archived script's own probe said: {said}")


def test_ui_pages_accept_frames_only_from_the_replay_origin(site: Site, page: Page) -> None:
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text))
    reply = page.goto(site.url("/"))
    assert reply is not None
    policy = reply.headers["content-security-policy"]
    assert f"frame-src {site.replay_origin};" in policy
    page.evaluate(
        """(sources) => sources.forEach((source) => {
            const frame = document.createElement("iframe");
            frame.src = source;
            document.body.appendChild(frame);
        })""",
        [site.replica_base + HOSTILE_PATH, site.replay_origin + "/archive/"],
    )
    page.wait_for_timeout(500)
    refused = [line for line in blocked if "Content Security Policy" in line]
    assert len(refused) == 1 and site.replica_base in refused[0], blocked


def test_the_ui_origin_serves_no_archived_bytes(site: Site) -> None:
    for path in (f"/archive/2023mp_/{site.replica_base}{HOSTILE_PATH}", HOSTILE_PATH):
        assert site.web.get(path).status == 404


# -- pywb's process ----------------------------------------------------------------------------


def test_a_replay_port_taken_is_one_line_and_exit_2(site: Site) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        wayback = str(pywb_tool("wayback"))
        result = run_cli("--home", str(site.home), "web", "--port", "0", "--replay-port", port,
                         "--pywb", wayback)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "replay: pywb exited" in result.stderr
    assert "--replay-port chooses another" in result.stderr


def test_pywb_does_not_outlive_a_killed_web_process(site: Site) -> None:
    web = start_web(site.home, site.seeds, "--replay-port", "0",
                    "--pywb", str(pywb_tool("wayback")))  # fmt: skip
    found = re.search(r"replay http://127\.0\.0\.1:(\d+)/", web.stderr.read_text("utf-8"))
    assert found is not None
    port = int(found.group(1))
    socket.create_connection(("127.0.0.1", port), timeout=5).close()  # pywb answers
    web.process.kill()  # SIGKILL: the web process cleans nothing up
    web.process.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return  # pywb is gone, and its port free for the next start
        time.sleep(0.2)
    pytest.fail(f"pywb still answers on {port} after its web process was killed")
