"""The server-rendered pages: search, a channel by month, an article and its versions, runs,
the schedule. No script: plain links and forms."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from pipelines.catalogue.models import SHANGHAI, ArticleRecord
from pipelines.catalogue.queries import article_months, find_article, list_articles, list_runs
from pipelines.catalogue.search import COUNT_CAP, count_search, search_articles
from pipelines.catalogue.versions import versions_view
from pipelines.catalogue.views import article_summary, article_view, run_view
from pipelines.errors import UsageError
from scheduler.serve import schedule_rows
from web.api import MAX_ID, MAX_OFFSET, catalogue, session, settings
from web.catalogue import Catalogue
from web.replay import replay_path
from web.settings import WebSettings

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Capture times to the second on pages (the API keeps the microseconds the catalogue holds).
templates.env.filters["seconds"] = lambda moment: (
    datetime.fromisoformat(moment).replace(microsecond=0).isoformat() if moment else moment
)
PAGE_SIZE = 20
Db = Annotated[Session, Depends(session)]


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    db: Db,
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[Literal["newest", "relevance"], Query()] = "newest",
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """The search form, and what it found, with each hit marked in its snippet."""
    context: dict[str, Any] = {"q": q, "sort": sort, "offset": offset, "hits": [], "total": None}
    found: Catalogue = request.app.state.catalogue
    context["channels"] = [(c.site, c.key, c.name) for c in found.seeds.channels()]
    if q.strip():
        try:
            hits = search_articles(db, q, sort=sort, limit=PAGE_SIZE, offset=offset)
            context["total"] = count_search(db, q, cap=max(COUNT_CAP, offset + PAGE_SIZE))
        except UsageError as exc:
            context["error"] = str(exc)
            return _render(request, "search.html", context, status=422)
        context["hits"] = [
            {**article_summary(hit.article), "snippet": marked(hit.snippet, hit.highlights)}
            for hit in hits
        ]
        if context["total"].more_than(offset + len(hits)):
            context["next_offset"] = offset + PAGE_SIZE
    else:
        context["latest"] = [
            article_summary(row) for row in list_articles(db, limit=PAGE_SIZE, summary_only=True)
        ]
    return _render(request, "search.html", context)


@router.get("/channels/{site}/{channel}", response_class=HTMLResponse)
def channel_page(
    request: Request,
    db: Db,
    found: Annotated[Catalogue, Depends(catalogue)],
    site: str,
    channel: str,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> Response:
    """A channel's articles of one month (the newest by default), and its months."""
    try:
        found.check_site_channel(db, site, channel)
    except UsageError as exc:
        raise HTTPException(404, str(exc)) from None
    months = article_months(db, site=site, channel=channel)
    shown = month or (months[0][0] if months else None)
    rows = []
    if shown is not None:
        first, last = _month_bounds(shown)
        rows = list_articles(db, site=site, channel=channel, since=first, until=last,
                             limit=None, summary_only=True)  # fmt: skip
    names = {(c.site, c.key): c.name for c in found.seeds.channels()}
    context = {"site": site, "channel": channel, "name": names.get((site, channel), channel),
               "months": months, "month": shown,
               "articles": [article_summary(row) for row in rows]}  # fmt: skip
    return _render(request, "channel.html", context)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(
    request: Request,
    db: Db,
    config: Annotated[WebSettings, Depends(settings)],
    article_id: int,
) -> Response:
    """An article as a reader sees it, its captures (with replay links) and its versions.

    Its pictures are shown from the replay origin (pywb), as archived: this origin serves no
    archived bytes."""
    row = _article(db, article_id)
    view = article_view(row)
    for number, capture in enumerate(view["captures"], start=1):
        capture["number"] = number
        capture["replay"] = replay_link(config, capture["fetched_at"], capture["url"])
    captured = max((c["fetched_at"] for c in view["captures"] if c["fetched_at"]), default=None)
    for image in view["images"]:  # pywb finds the picture's capture nearest the page's
        image["archived"] = replay_link(config, captured, image["url"], "im_")
    view["attachments"] = [  # id_: the file's archived bytes, as the site sent them
        {"url": url, "name": file_name(url), "archived": replay_link(config, captured, url, "id_")}
        for url in view["attachments"]
    ]
    context = {
        "article": view,
        "blocks": reading_order(view),
        "versions": versions_view(row.versions),
    }
    return _render(request, "article.html", context)


@router.get("/articles/{article_id}/captures/{number}", response_class=HTMLResponse)
def capture_page(
    request: Request,
    db: Db,
    config: Annotated[WebSettings, Depends(settings)],
    article_id: int,
    number: int,
) -> Response:
    """One capture of an article replayed by pywb, in a frame from the replay origin."""
    view = article_view(_article(db, article_id))
    if not 1 <= number <= len(view["captures"]) or not view["captures"][number - 1]["fetched_at"]:
        raise HTTPException(404, f"article {article_id} has no capture {number}")
    capture = view["captures"][number - 1]
    context = {
        "article": view,
        "capture": capture,
        "number": number,
        "frame": replay_link(config, capture["fetched_at"], capture["url"], "mp_"),
        "replay": replay_link(config, capture["fetched_at"], capture["url"]),
    }
    return _render(request, "capture.html", context)


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, db: Db) -> Response:
    """The last 100 crawl runs."""
    return _render(request, "runs.html", {"runs": [run_view(run) for run in list_runs(db, 100)]})


@router.get("/schedule", response_class=HTMLResponse)
def schedule_page(
    request: Request, db: Db, found: Annotated[Catalogue, Depends(catalogue)]
) -> Response:
    """Each channel's schedule, last run and next run."""
    rows = schedule_rows(found.seeds, db, datetime.now(SHANGHAI))
    return _render(request, "schedule.html", {"rows": rows})


def marked(snippet: str, spans: tuple[tuple[int, int], ...]) -> list[tuple[str, bool]]:
    """The snippet as (text, is a hit) pieces, for the template to put hits in <mark>."""
    pieces, at = [], 0
    for start, end in sorted(spans):
        if start > at:
            pieces.append((snippet[at:start], False))
        pieces.append((snippet[start:end], True))
        at = end
    if at < len(snippet):
        pieces.append((snippet[at:], False))
    return pieces


def reading_order(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Paragraphs and pictures in page order: each picture before the paragraph it precedes."""
    blocks: list[dict[str, Any]] = []
    images = sorted(view["images"], key=lambda image: image.get("position", 0))
    for index, paragraph in enumerate([*view["paragraphs"], None]):
        blocks.extend({"image": image} for image in images if image.get("position", 0) == index)
        if paragraph is not None:
            blocks.append({"text": paragraph})
    placed = {id(block["image"]) for block in blocks if "image" in block}
    blocks.extend({"image": image} for image in images if id(image) not in placed)
    return blocks


def replay_link(
    config: WebSettings, fetched_at: str | None, url: str, mode: str = ""
) -> str | None:
    """The capture in pywb on the replay origin (see replay_path for `mode`)."""
    if fetched_at is None:
        return None
    return config.replay_origin + replay_path(fetched_at, url, mode)


def file_name(url: str) -> str:
    """The name a link's file goes by: the last part of its path, percent-decoded."""
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or url


def _article(db: Session, article_id: int) -> ArticleRecord:
    row = find_article(db, str(article_id)) if 0 <= article_id <= MAX_ID else None
    if row is None:
        raise HTTPException(404, f"no article {article_id} in the catalogue")
    return row


def _month_bounds(month: str) -> tuple[date, date]:
    first = date(int(month[:4]), int(month[5:]), 1) if 1 <= int(month[5:]) <= 12 else None
    if first is None or first.year < 2:
        raise HTTPException(404, f"no month {month}")
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status)
