"""The HTTP face: the feeds at /feeds/..., a JSON read API under /api/ (described at
/openapi.json) and a small server-rendered dashboard at /. FastAPI on uvicorn, 127.0.0.1 by default.

The database is opened read-only for every request, so the server can run beside `collect` or the
scheduler. Every answer is either JSON, a feed file or HTML from autoescaping templates; event text
reaches HTML only through render.py. Bad input answers 4xx with `{"error": ...}`, never a traceback."""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from kratom_tracker import __version__, publish, regions, render, rules, timefmt
from kratom_tracker.config.model import Config, PublishSettings
from kratom_tracker.engine.health import source_health_rows
from kratom_tracker.publish.feeds import region_file_stem
from kratom_tracker.publish.formats import FORMATS, feed_name_pattern
from kratom_tracker.store import Store, StoreError

log = logging.getLogger(__name__)

MAX_LIMIT = 500
DASHBOARD_CHANGES = 20
SECURITY_HEADERS = {
    # The dashboard needs no script at all; even if markup slipped through, a browser would not run it.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


# -- response shapes (for the OpenAPI description; answers are passed through unchanged) -------------


class ErrorAnswer(BaseModel):
    error: str


class RegionRef(BaseModel):
    code: str
    name: str


class Evidence(BaseModel):
    source_id: str | None = None
    url: str | None = None
    quote: str | None = None
    observed_at: str | None = None


class Applicable(BaseModel):
    status: Literal["legal", "regulated", "banned", "pending", "unknown"]
    jurisdiction: str | None = None
    effective_date: str | None = None
    disputed: bool
    evidence: list[Evidence]


class AssertionOut(BaseModel):
    jurisdiction: str
    substance: str
    status: str
    effective_date: str | None = None
    source_id: str | None = None
    evidence_url: str | None = None
    quote: str | None = None
    observed_at: str | None = None


class StatusAnswer(BaseModel):
    """Exactly what `kratom-tracker status REGION --json` prints."""

    region: RegionRef
    as_of: str
    applicable: dict[str, Applicable]
    assertions: list[AssertionOut]


class EventOut(BaseModel):
    id: int
    kind: Literal["content", "notice", "status"]
    source_id: str
    jurisdiction: str
    detected_at: str
    title: str
    summary: str | None = None
    diff: str | None = None
    url: str | None = None
    data: dict[str, Any]


class ChangesAnswer(BaseModel):
    changes: list[EventOut]
    next_cursor: str | None = None


class SourceHealth(BaseModel):
    id: str
    type: str | None = None
    name: str | None = None
    jurisdiction: str | None = None
    url: str | None = None
    interval: str | None = None
    enabled: bool | None = None
    last_fetch_at: str | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    last_success_at: str | None = None
    last_change_at: str | None = None
    consecutive_failures: int
    stale: bool | None = None


# The forms of the text parameters, in the description as well as in the code: "any string" told clients
# (and schemathesis) that the server takes what it refuses. The empty string stays valid: `as_of=` and
# the like (a form left blank) mean not given. Only documented here; the server still checks each and
# answers 400 with its own message. Each replaces the `anyOf: [string, null]` FastAPI writes (a query
# parameter cannot be null).
_BLANK: dict[str, Any] = {"type": "string", "maxLength": 0}
AS_OF_FORM: dict[str, Any] = {"anyOf": [{"type": "string", "format": "date"}, _BLANK]}
SINCE_FORM: dict[str, Any] = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"},
                                        {"type": "string", "pattern": r"^\s*[0-9]+\s*[dhm]\s*$"}, _BLANK]}
CURSOR_FORM: dict[str, Any] = {"anyOf": [{"type": "string", "pattern": "^([0-9]*[1-9][0-9]*)?$"}]}  # a number > 0

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorAnswer, "description": "A bad parameter"},
    404: {"model": ErrorAnswer, "description": "Unknown region"},
    500: {"model": ErrorAnswer, "description": "An unexpected error (details in the server log only)"},
    503: {"model": ErrorAnswer, "description": "No database yet"},
}


# -- settings and shared helpers --------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSettings:
    db: Path
    config: Config | None = None

    @property
    def publish(self) -> PublishSettings:
        return self.config.publish if self.config else PublishSettings()


class FeedCache:
    """The feed files, rendered from the database in memory by the same code as `publish` (so the same
    bytes) and kept until the events change. A GET never writes a file: publishing has two owners,
    `publish` and the daemon, and the server only reads."""

    def __init__(self, settings: ServerSettings):
        self.settings = settings
        self.lock = threading.Lock()
        self.signature: tuple[int, int] | None = None
        self.files: dict[str, bytes] = {}

    def read(self, name: str) -> bytes | None:
        if not self.settings.db.exists():
            return None
        with self.lock, _open(self.settings) as store:
            signature = store.events_signature()
            if signature != self.signature:
                self.files = publish.render_all(store, self.settings.publish)
                self.signature = signature
            return self.files.get(name)


def _open(settings: ServerSettings) -> Store:
    try:
        return Store(settings.db, readonly=True)
    except StoreError as exc:
        raise ApiError(503, str(exc)) from None


def _region(text: str) -> regions.Region:
    try:
        return regions.lookup(text)
    except regions.UnknownRegion as exc:
        raise ApiError(404, str(exc)) from None


def _since(text: str | None) -> str | None:
    try:
        return timefmt.parse_since(text)
    except ValueError as exc:
        raise ApiError(400, f"since {exc}") from None


def _as_of(text: str | None) -> date | None:
    if not text:  # `as_of=` (a form left blank) means not given, as the description allows
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"as_of {text!r}: use a date as YYYY-MM-DD") from None


def status_document(settings: ServerSettings, region_text: str, as_of: date | None = None) -> dict[str, Any]:
    """The `status --json` answer, computed by rules.py (the one implementation of the contract)."""
    region = _region(region_text)
    if not settings.db.exists():
        return rules.status_document(region, None, as_of)
    with _open(settings) as store:
        return rules.status_document(region, store, as_of)


MAX_EVENT_ID = 2**63 - 1  # SQLite's largest integer


def _cursor(text: str | None) -> int | None:
    """The event id a page starts below; `cursor=` means not given. Only ASCII digits: '¹'.isdigit() is
    true but int('¹') raises. A cursor above every possible id pages from the newest, as no cursor does
    (and binding it would overflow SQLite's integers)."""
    if not text:
        return None
    digits = text.lstrip("0")
    if not (text.isascii() and text.isdigit()) or not digits:  # not a number, or 0
        raise ApiError(400, f"cursor {text[:40]!r}: use the next_cursor of an earlier answer")
    return MAX_EVENT_ID if len(digits) > 19 else min(int(digits), MAX_EVENT_ID)


def changes_page(settings: ServerSettings, region: str | None, kind: str | None, since: str | None,
                 limit: int, cursor: str | None) -> dict[str, Any]:
    before_id = _cursor(cursor)
    code = _region(region).code if region else None
    since_value = _since(since)
    with _open(settings) as store:
        events = store.events(region=code, kind=kind, since=since_value, limit=limit + 1, before_id=before_id)
    more = len(events) > limit
    events = events[:limit]
    return {"changes": [e.as_dict() for e in events], "next_cursor": str(events[-1].id) if more and events else None}


def source_rows(settings: ServerSettings) -> list[dict[str, Any]]:
    if not settings.db.exists():
        return [r.as_dict() for r in source_health_rows(settings.config, None)] if settings.config else []
    with _open(settings) as store:
        if settings.config is not None:
            return [r.as_dict() for r in source_health_rows(settings.config, store)]
        return [asdict(row) for row in store.sources_health()]


# -- the application --------------------------------------------------------------------------------


def create_app(settings: ServerSettings) -> FastAPI:
    app = FastAPI(
        title="kratom-tracker", version=__version__, docs_url=None, redoc_url=None,
        # Starlette's own trailing-slash redirect builds an absolute Location from the Host header (a
        # forged Host makes it point anywhere); `trailing_slash` below answers with a relative one.
        redirect_slashes=False,
        description="Read API over the changes kratom-tracker recorded: status per region, changes, source "
                    "health. Feeds at /feeds/, a dashboard at /.",
    )
    feeds = FeedCache(settings)
    feed_name = feed_name_pattern()  # from the formats registered when the app is made
    templates = Environment(loader=PackageLoader("kratom_tracker", "templates"), autoescape=True)
    templates.filters["safe_url"] = render.safe_url
    app.mount("/static", StaticFiles(packages=[("kratom_tracker", "static")]), name="static")
    _install_error_handlers(app)

    @app.middleware("http")
    async def trailing_slash(request: Request, call_next):
        response = await call_next(request)
        path = request.url.path
        if response.status_code == 404 and len(path) > 1 and path.endswith("/") and request.method in ("GET", "HEAD"):
            # A path-only Location (one leading slash: "//host" would be another site), never the Host header.
            target = "/" + path.strip("/")
            if request.url.query:
                target += "?" + request.url.query
            return RedirectResponse(quote(target, safe="/?&=%:@!$'()*+,;~-._"), status_code=307)
        return response

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.get("/api/status/{region:path}", response_model=None, responses={200: {"model": StatusAnswer}, **_ERRORS},
             summary="What applies in a region (the `status --json` contract)")
    def api_status(region: str, as_of: str | None = Query(None, description="YYYY-MM-DD",
                                                          json_schema_extra=AS_OF_FORM)) -> JSONResponse:
        return JSONResponse(status_document(settings, region, _as_of(as_of)))

    @app.get("/api/changes", response_model=None, responses={200: {"model": ChangesAnswer}, **_ERRORS},
             summary="Recorded changes, newest first, a page at a time")
    def api_changes(
        region: str | None = Query(None, description="code or name; covers everything below it"),
        kind: Literal["content", "notice", "status"] | None = Query(None),
        since: str | None = Query(None, description="YYYY-MM-DD, an ISO timestamp or a span such as 30d",
                                  json_schema_extra=SINCE_FORM),
        limit: int = Query(50, ge=1, le=MAX_LIMIT),
        cursor: str | None = Query(None, description="next_cursor of the previous page",
                                   json_schema_extra=CURSOR_FORM),
    ) -> JSONResponse:
        return JSONResponse(changes_page(settings, region, kind, since, limit, cursor))

    @app.get("/api/sources", response_model=None, responses={200: {"model": list[SourceHealth]}, **_ERRORS},
             summary="Source health: last outcome, consecutive failures, last change, staleness")
    def api_sources() -> JSONResponse:
        return JSONResponse(source_rows(settings))

    @app.get("/feeds/{name:path}", response_model=None, include_in_schema=False)
    def feed(name: str) -> Response:
        if not feed_name.match(name):
            raise ApiError(404, f"no feed {name!r}; feeds are all.atom, all.rss, all.json and region/<CODE>.*")
        data = feeds.read(name)
        if data is None:
            raise ApiError(404, f"no feed {name!r} (no events in that region yet?)")
        media_type = FORMATS[name.rsplit(".", 1)[1]].content_type
        return Response(data, media_type=media_type + ("; charset=utf-8"))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(q: str | None = Query(None, max_length=200)) -> HTMLResponse:
        page = dashboard_context(settings, q)
        body = templates.get_template("dashboard.html").render(**page)
        return HTMLResponse(body, status_code=page["http_status"])

    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                   for e in exc.errors()]
        message = "; ".join(f"{'.'.join(d['loc'][1:]) or 'request'}: {d['msg']}" for d in details)
        return JSONResponse({"error": message or "bad request", "detail": details}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Keep the exception's headers: a 405 must say which methods are served (Allow, RFC 9110).
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s", request.url.path)
        return JSONResponse({"error": "internal error; see the server log"}, status_code=500)


# -- dashboard --------------------------------------------------------------------------------------


def dashboard_context(settings: ServerSettings, query: str | None) -> dict[str, Any]:
    """Everything the dashboard template shows; event HTML comes from render.py only."""
    context: dict[str, Any] = {"query": query or "", "region": None, "status": None, "error": None,
                               "changes": [], "sources": [], "region_feed": None, "no_database": False, "above": [],
                               "http_status": 200}
    if not settings.db.exists():
        context["no_database"] = True
        return context
    region_code = None
    if query and query.strip():
        try:
            region = regions.lookup(query)
            region_code = region.code
            context["region"] = region
            context["status"] = status_document(settings, region.code)
        except regions.UnknownRegion as exc:
            context["error"], context["http_status"] = str(exc), 404
        except ApiError as exc:
            context["error"], context["http_status"] = exc.message, exc.status
    with _open(settings) as store:
        events = store.events(region=region_code, limit=DASHBOARD_CHANGES)
        if region_code:
            context["region_feed"] = region_file_stem(region_code) + ".atom" if events else None
            above = regions.chain(region_code)[:-1]
            context["above"] = [regions.display_name(code) for code in above]
            events = sorted(events + store.events_at(above, DASHBOARD_CHANGES), key=lambda e: -e.id)
            events = events[:DASHBOARD_CHANGES]
    context["changes"] = [
        {"event": e, "title": render.event_title(e), "html": Markup(render.event_html(e)),  # noqa: S704 sanitized
         "link": render.safe_url(e.url)}
        for e in events
    ]
    context["sources"] = source_rows(settings)
    context["formats"] = list(FORMATS.values())
    return context


# -- command ----------------------------------------------------------------------------------------


