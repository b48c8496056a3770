"""The web process's composition root: create_app builds the API, the pages and their guards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from pipelines.errors import CppccArchiveError, SeedsError, UsageError
from pipelines.seeds import Seeds
from web import api, pages
from web.catalogue import Catalogue
from web.crawls import CrawlNotStarted
from web.settings import WebSettings, bearer

HERE = Path(__file__).parent


def create_app(settings: WebSettings, sessions: sessionmaker[Session], seeds: Seeds) -> FastAPI:
    """The web application on an open catalogue (the caller owns its engine)."""
    app = FastAPI(
        title="cppcc-archive",
        summary="The catalogue of the CPPCC news archive: articles, versions, runs, schedule.",
        version="1",
        docs_url=None,  # Swagger UI and ReDoc fetch their scripts from a CDN: not here
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.catalogue = Catalogue(sessions, seeds)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(UsageError, _unprocessable)
    app.add_exception_handler(SeedsError, _unprocessable)
    app.add_exception_handler(CrawlNotStarted, _unavailable)
    app.add_exception_handler(CppccArchiveError, _unavailable)
    app.middleware("http")(_guard)
    return app


Next = Callable[[Request], Awaitable[Response]]


async def _guard(request: Request, call_next: Next) -> Response:
    """Reads are open on loopback; elsewhere every request needs the token. UI pages get a
    Content-Security-Policy: nothing but this origin, but frames and pictures from the replay
    origin (archived pages and pictures come from pywb, never from here)."""
    settings: WebSettings = request.app.state.settings
    if settings.reads_need_token and not settings.token_matches(
        bearer(request.headers.get("authorization"))
    ):
        return JSONResponse(
            {"detail": "this server is not on loopback: every request needs the bearer token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    response = await call_next(request)
    if not request.url.path.startswith("/api/"):
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; img-src 'self' data: {settings.replay_origin}; "
            f"frame-src {settings.replay_origin}; frame-ancestors 'self'; base-uri 'none'; "
            "form-action 'self'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
    return response


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """A bad parameter: 422, with FastAPI's list of errors and one line saying them."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    message = "; ".join(_error_line(error) for error in errors) or "bad request"
    return JSONResponse({"message": message, "detail": _plain(errors)}, status_code=422)


async def _unprocessable(request: Request, exc: Exception) -> Response:
    """A request well formed but naming what does not exist: 422, in the shape of the others."""
    detail = [{"type": "value_error", "loc": ["query"], "msg": str(exc)}]
    return JSONResponse({"message": str(exc), "detail": detail}, status_code=422)


async def _unavailable(request: Request, exc: Exception) -> Response:
    """The catalogue or a crawl failed: said in one line, as the CLI says it."""
    return JSONResponse({"message": str(exc), "detail": str(exc)}, status_code=503)


def _error_line(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
    return f"{where}: {error.get('msg', 'invalid')}"


def _plain(errors: Any) -> list[dict[str, Any]]:
    """The errors without their `ctx` and `input`, which may hold values JSON cannot carry."""
    return [
        {key: value for key, value in error.items() if key in ("type", "loc", "msg")}
        for error in errors
    ]
