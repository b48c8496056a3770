"""The JSON API under /api/: the CLI's queries and views, over HTTP."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, Field, StringConstraints
from sqlalchemy.orm import Session

from pipelines.catalogue.counts import COUNT_CAP
from pipelines.catalogue.models import SHANGHAI
from pipelines.catalogue.queries import count_articles, find_article, get_run, list_articles
from pipelines.catalogue.queries import list_runs as query_runs
from pipelines.catalogue.search import DEFAULT_LIMIT, count_search, hit_view, search_articles
from pipelines.catalogue.versions import versions_view
from pipelines.catalogue.views import article_summary, article_view, run_view
from pipelines.errors import UsageError
from scheduler.serve import schedule_rows
from web.catalogue import Catalogue
from web.crawls import CrawlRefused, busy_channel, queue_crawls, start_crawl
from web.settings import WebSettings, bearer

router = APIRouter(prefix="/api")

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000_000
MAX_ID = 2**63 - 1  # the largest id a database column holds
Text = Annotated[str | None, Query(max_length=200)]


def _iso_day(value: Any) -> Any:
    """A day as the CLI reads it (2022-03-04): not pydantic's numbers of seconds since 1970."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date like 2022-03-04") from None
    return value


def _whole_number(value: Any) -> Any:
    """Digits only: pydantic would take `0.0` or ` 5` for a whole number in a query."""
    if isinstance(value, str) and not value.isdigit():
        raise ValueError(f"{value!r} is not a whole number like 20")
    return value


# A count or an id in a query or a path: digits, within the database's range.
Whole = Annotated[int, BeforeValidator(_whole_number)]

Day = Annotated[
    date | None,
    BeforeValidator(_iso_day),
    Query(description="a day, 2022-03-04 (Asia/Shanghai)"),
]


def catalogue(request: Request) -> Catalogue:
    """The app's catalogue (built by create_app)."""
    found: Catalogue = request.app.state.catalogue
    return found


def session(found: Annotated[Catalogue, Depends(catalogue)]) -> Any:
    """A session for this request."""
    with found.session() as opened:
        yield opened


def settings(request: Request) -> WebSettings:
    """The app's settings."""
    found: WebSettings = request.app.state.settings
    return found


def writer(
    config: Annotated[WebSettings, Depends(settings)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """Writes need the configured bearer token; with none configured they are off."""
    if config.token is None:
        raise HTTPException(
            403,
            "write endpoints are off: set [web] token in the configuration file "
            "(or CPPCC_WEB_TOKEN)",
            headers=None,
        )
    if not config.token_matches(bearer(authorization)):
        raise HTTPException(
            401, "a write needs `Authorization: Bearer TOKEN` with the configured token",
            headers={"WWW-Authenticate": "Bearer"},
        )  # fmt: skip


Db = Annotated[Session, Depends(session)]


@router.get("/articles", summary="articles, newest first, or found by full-text search")
def articles(
    request: Request,
    db: Db,
    found: Annotated[Catalogue, Depends(catalogue)],
    q: Annotated[str | None, Query(max_length=200, description="full-text search")] = None,
    sort: Annotated[
        Literal["newest", "relevance"],
        Query(description="order of a search (q): newest published first, or relevance"),
    ] = "newest",
    site: Text = None,
    channel: Text = None,
    section: Text = None,
    source: Text = None,
    since: Day = None,
    until: Day = None,
    changed_since: Day = None,
    limit: Annotated[Whole | None, Query(ge=0, le=MAX_LIMIT)] = None,
    offset: Annotated[Whole, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """As `cppcc-archive articles --format json` (with `q`: `--search`), a page at a time:
    `total` matching, and `next`, the link to the following page (null on the last).

    A list or a search counts up to 1,000 articles or to the end of the page, whichever is
    more: past that `total` is a lower bound and `total_exact` is false."""
    found.check_site_channel(db, site, channel)
    filters: dict[str, Any] = {"site": site, "channel": channel, "since": since,
                               "until": until, "section": section, "source": source}  # fmt: skip
    if q is not None:
        if changed_since is not None:
            raise UsageError("q and changed_since do not combine; use one of them")
        limit = DEFAULT_LIMIT if limit is None else limit
        hits = search_articles(db, q, sort=sort, limit=limit, offset=offset, **filters)
        records = [hit_view(hit) for hit in hits]
        count = count_search(db, q, cap=max(COUNT_CAP, offset + limit), **filters)
    else:
        limit = 50 if limit is None else limit
        rows = list_articles(db, **filters, changed_since=changed_since, limit=limit,
                             offset=offset, summary_only=True)  # fmt: skip
        records = [article_summary(row) for row in rows]
        count = count_articles(db, **filters, changed_since=changed_since,
                               cap=max(COUNT_CAP, offset + limit))  # fmt: skip
    more = limit > 0 and count.more_than(offset + len(records))
    return {"total": count.value, "total_exact": count.exact, "limit": limit, "offset": offset,
            "next": _page_link(request, offset + limit) if more else None,
            "articles": records}  # fmt: skip


@router.get("/articles/{article_id}", summary="one article")
def article(db: Db, article_id: Annotated[Whole, Path(ge=0, le=MAX_ID)]) -> dict[str, Any]:
    """As `cppcc-archive show ID --format json`."""
    return article_view(_article(db, article_id))


@router.get("/articles/{article_id}/versions", summary="an article's versions")
def article_versions(db: Db, article_id: Annotated[Whole, Path(ge=0, le=MAX_ID)]) -> dict[str, Any]:
    """As `cppcc-archive show ID --versions --format json`: every version archived, oldest
    first, with the fields that changed and the diff of its paragraphs."""
    row = _article(db, article_id)
    return {"id": row.id, "url": row.url, "versions": versions_view(row.versions)}


@router.get("/runs", summary="the crawl runs, newest first")
def runs(db: Db, limit: Annotated[Whole, Query(ge=0, le=MAX_LIMIT)] = 50) -> dict[str, Any]:
    """As `cppcc-archive runs --format json`, under `runs`."""
    return {"runs": [run_view(run) for run in query_runs(db, limit=limit)]}


@router.get("/runs/{run_id}", summary="one crawl run")
def run(db: Db, run_id: Annotated[Whole, Path(ge=0, le=MAX_ID)]) -> dict[str, Any]:
    """One run, as an element of /api/runs."""
    found = get_run(db, run_id)
    if found is None:
        raise HTTPException(404, f"no run {run_id} in the catalogue")
    return run_view(found)


@router.get("/schedule", summary="each channel's schedule, last run and next run")
def schedule(db: Db, found: Annotated[Catalogue, Depends(catalogue)]) -> dict[str, Any]:
    """As `cppcc-archive schedule --format json`, under `channels`."""
    return {"channels": schedule_rows(found.seeds, db, datetime.now(SHANGHAI))}


class CrawlRequest(BaseModel):
    """Which channels to crawl now, as `cppcc-archive crawl` names them (`rmzxb/yw`)."""

    channels: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=100
    )


@router.post(
    "/crawls",
    status_code=202,
    summary="crawl channels now",
    dependencies=[Depends(writer)],
    responses={409: {"description": "a channel is being crawled by another run"}},
)
def crawl(
    body: CrawlRequest,
    db: Db,
    found: Annotated[Catalogue, Depends(catalogue)],
    config: Annotated[WebSettings, Depends(settings)],
) -> JSONResponse:
    """Start `cppcc-archive crawl CHANNELS` in a process of its own; 202 with its run id once
    the run is recorded, 409 naming the run that holds a channel's lock. With the job queue
    (`web --queue`): 202 with each channel's job, queued for the workers."""
    refs = [channel.ref for channel in found.seeds.select(body.channels)]
    if config.queue:
        db.rollback()
        return JSONResponse({"channels": refs, "jobs": queue_crawls(config, refs)}, 202)
    busy = busy_channel(db, refs)
    if busy is not None:
        return JSONResponse({"detail": str(busy), "run_id": busy.run_id}, status_code=409)
    db.rollback()  # the crawl writes the catalogue: hold no read transaction meanwhile
    try:
        started = start_crawl(config, found.sessions, refs)
    except CrawlRefused as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    link = f"/api/runs/{started.run_id}"
    return JSONResponse(
        {"run_id": started.run_id, "channels": refs, "pid": started.pid, "run": link},
        status_code=202,
        headers={"Location": link},
    )


def _article(db: Session, article_id: int) -> Any:
    row = find_article(db, str(article_id))
    if row is None:
        raise HTTPException(404, f"no article {article_id} in the catalogue")
    return row


def _page_link(request: Request, offset: int) -> str:
    """The same request at another offset, as a path with its query (behind a proxy too)."""
    url = request.url.include_query_params(offset=offset)
    return f"{url.path}?{url.query}"
