"""The HTTP face: the feeds at /feeds/..., a JSON read API under /api/ (described at
/openapi.json) and a small server-rendered dashboard at /. FastAPI on uvicorn, 127.0.0.1 by default.

The database is opened read-only for every request, so the server can run beside `collect` or the
scheduler. Every answer is either JSON, a feed file or HTML from autoescaping templates; event text
reaches HTML only through render.py. Bad input answers 4xx with `{"error": ...}`, never a traceback."""

from __future__ import annotations

import logging
import sys
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, Query, Request
from fastapi import Path as FastApiPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from kratom_tracker import __version__, answer, publish, regions, render, rules, timefmt
from kratom_tracker.config.model import Config, PublishSettings
from kratom_tracker.engine.health import health_changed_at, source_health_rows
from kratom_tracker.publish import FeedFile
from kratom_tracker.publish.feeds import region_file_stem, spec_for_stem
from kratom_tracker.publish.formats import FORMATS, feed_name_pattern
from kratom_tracker.publish.opml import OPML_CONTENT_TYPE, OPML_NAME
from kratom_tracker.store import Store, StoreError
from kratom_tracker.values import EvidenceDocument
from kratom_tracker.web import embeds, http

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


class ChainLevel(BaseModel):
    code: str
    name: str
    kind: str


class RegionRef(BaseModel):
    code: str
    name: str
    kind: str | None = None  # country, state, county, city, locality, international
    chain: list[ChainLevel] | None = None  # the levels whose law applies, country first


class Evidence(BaseModel):
    source_id: str | None = None
    url: str | None = None
    quote: str | None = None
    observed_at: str | None = None
    status: str | None = None
    kind: Literal["primary", "secondary"] | None = None  # how far the citation can be trusted
    citation: str | None = None
    instrument: str | None = None
    jurisdiction: str | None = None
    verified_on: str | None = None


class ThresholdOut(BaseModel):
    value: float
    unit: str
    basis: str


class ConditionsOut(BaseModel):
    """What a machine can compare: the age limit, the thresholds above which it is banned, the acts prohibited."""

    min_age: int | None = None
    thresholds: list[ThresholdOut] = []
    prohibited: list[str] = []


class PendingOut(BaseModel):
    """A bill or proposed rule listed beside the law in force (never instead of it)."""

    jurisdiction: str
    substance: str
    stage: str | None = None
    bill_id: str | None = None
    instrument: str | None = None
    citation: str | None = None
    effective_date: str | None = None
    expiry_date: str | None = None
    detail: str | None = None
    conditions: ConditionsOut
    conditions_text: str
    evidence: Evidence


class Applicable(BaseModel):
    # `pending` stays in the list for clients of the v1 contract; status model v2 never answers it.
    status: Literal["legal", "regulated", "banned", "pending", "unknown"]
    jurisdiction: str | None = None
    effective_date: str | None = None
    expiry_date: str | None = None
    disputed: bool
    detail: str | None = None
    conditions: ConditionsOut | None = None
    conditions_text: str | None = None
    instrument: str | None = None
    citation: str | None = None
    primary: bool | None = None
    evidence: list[Evidence]
    pending: list[PendingOut] = []
    preempted: list[str] = []


class AssertionOut(BaseModel):
    jurisdiction: str
    substance: str
    status: str
    effective_date: str | None = None
    source_id: str | None = None
    evidence_url: str | None = None
    quote: str | None = None
    observed_at: str | None = None
    detail: str | None = None
    expiry_date: str | None = None
    instrument: str | None = None
    citation: str | None = None
    stage: str | None = None
    bill_id: str | None = None
    preempts_local: bool | None = None
    evidence_kind: str | None = None
    verified_on: str | None = None
    conditions: ConditionsOut | None = None
    conditions_text: str | None = None


class StatusAnswer(BaseModel):
    """Exactly what `kratom-tracker status REGION --json` prints."""

    region: RegionRef
    as_of: str
    applicable: dict[str, Applicable]
    assertions: list[AssertionOut]
    note: str | None = None  # which levels have rules and what applies, in words


class EventOut(BaseModel):
    id: int
    kind: Literal["content", "notice", "status", "article"]
    source_id: str
    jurisdiction: str
    detected_at: str
    title: str
    summary: str | None = None
    diff: str | None = None
    url: str | None = None
    data: dict[str, Any]
    evidence_sha256: str | None = None  # set when the fetched document is kept: GET /api/evidence/{id}


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
    # POST /api/check fetches a URL its caller chose: only public addresses, unless the operator says
    # otherwise (`serve --check-private-urls`, for an intranet wiki; the tests' pages on 127.0.0.1).
    check_private_urls: bool = False

    @property
    def publish(self) -> PublishSettings:
        return self.config.publish if self.config else PublishSettings()


class FeedCache:
    """The feed files, rendered from the database in memory by the same code as `publish` (so the same
    bytes), on demand for any known region, and kept until the events change (at most MAX_FILES, the
    least recently asked for dropped first). A GET never writes a file: publishing has two owners,
    `publish` and the daemon, and the server only reads."""

    MAX_FILES = 64 * 4

    def __init__(self, settings: ServerSettings):
        self.settings = settings
        self.lock = threading.Lock()
        self.signature: tuple[int, int] | None = None
        self.files: OrderedDict[str, FeedFile] = OrderedDict()

    def read(self, name: str) -> FeedFile | None:
        if not self.settings.db.exists():
            return None
        with self.lock, _open(self.settings) as store:
            signature = store.events_signature()
            if signature != self.signature:
                self.files.clear()
                self.signature = signature
            if name not in self.files:
                rendered = self._render(store, name)
                if rendered is None:
                    return None
                self.files.update(rendered)
                while len(self.files) > self.MAX_FILES:
                    self.files.popitem(last=False)
            self.files.move_to_end(name)
            return self.files[name]

    def _render(self, store: Store, name: str) -> dict[str, FeedFile] | None:
        settings = self.settings.publish
        if name == OPML_NAME:
            return {name: publish.render_index(store, settings)}
        spec = spec_for_stem(name.rpartition(".")[0], settings.title)
        return publish.render_spec(store, spec, settings) if spec is not None else None


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
    """The `status --json` answer, computed by rules.py (the one implementation of the contract), with
    the place's chain and the sentence saying which levels apply (answer.py)."""
    region = _region(region_text)
    if not settings.db.exists():
        return answer.with_place(rules.status_document(region, None, as_of))
    with _open(settings) as store:
        return answer.with_place(rules.status_document(region, store, as_of))


def _last_change(settings: ServerSettings) -> datetime | None:
    """When the database last changed (newest event or fetch): the Last-Modified of the API."""
    if not settings.db.exists():
        return None
    with _open(settings) as store:
        return http.parse_time(store.last_change_at())


def _status_changed(settings: ServerSettings, as_of: date | None) -> datetime | None:
    """An answer for "today" also changes at midnight, with no change in the database."""
    midnight = None if as_of else datetime.combine(date.today(), time()).astimezone(UTC)
    return http.latest(_last_change(settings), midnight)


def _json(request: Request, document: Any, last_modified: datetime | None) -> Response:
    return http.cached(request, JSONResponse(document).body, "application/json", last_modified, http.API_CACHE)


MAX_EVENT_ID = 2**63 - 1  # SQLite's largest integer
# A kept document is whatever a source served, hostile pages included: it is served as the evidence it
# is, in a sandbox (no script runs, nothing loads, no form posts), never as part of our site.
EVIDENCE_HEADERS = {"Content-Security-Policy": "sandbox; default-src 'none'", "X-Content-Type-Options": "nosniff"}


def _header_safe(value: str) -> str:
    """A stored header value that can be sent again: printable ASCII only (a hostile server's bytes
    must not split our response)."""
    return value if value.isascii() and value.isprintable() else ""


def evidence_document(settings: ServerSettings, event_id: int) -> EvidenceDocument:
    with _open(settings) as store:
        document = store.evidence_for_event(event_id)
        if document is None:
            known = store.event(event_id) is not None
    if document is None:
        raise ApiError(404, f"event {event_id} has no kept document (only status events from fetched sources "
                            "keep theirs)" if known else f"no event {event_id}")
    return document


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


def _health_changed(settings: ServerSettings) -> datetime | None:
    """The sources' health also changes when a source turns stale, with no write: the later of the two."""
    if not settings.db.exists() or settings.config is None:
        return _last_change(settings)
    with _open(settings) as store:
        return http.latest(_last_change(settings), health_changed_at(settings.config, store))


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
    embeds.install(app, settings, sys.modules[__name__])

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

    # Outermost last: HEAD → GET, CORS on /feeds and /api, ETags per encoding, gzip (see web/http.py).
    app.add_middleware(GZipMiddleware, minimum_size=500)
    app.add_middleware(http.GzipETags)
    app.add_middleware(http.ScopedCors, **http.cors_options())
    app.add_middleware(http.HeadAsGet)

    @app.get("/api/status/{region:path}", response_model=None, responses={200: {"model": StatusAnswer}, **_ERRORS},
             summary="What applies in a region (the `status --json` contract)")
    def api_status(request: Request, region: str,
                   as_of: str | None = Query(None, description="YYYY-MM-DD", json_schema_extra=AS_OF_FORM)) -> Response:
        day = _as_of(as_of)
        return _json(request, status_document(settings, region, day), _status_changed(settings, day))

    @app.get("/api/changes", response_model=None, responses={200: {"model": ChangesAnswer}, **_ERRORS},
             summary="Recorded changes, newest first, a page at a time")
    def api_changes(
        request: Request,
        region: str | None = Query(None, description="code or name; covers everything below it"),
        kind: Literal["content", "notice", "status", "article"] | None = Query(None),
        since: str | None = Query(None, description="YYYY-MM-DD, an ISO timestamp or a span such as 30d",
                                  json_schema_extra=SINCE_FORM),
        limit: int = Query(50, ge=1, le=MAX_LIMIT),
        cursor: str | None = Query(None, description="next_cursor of the previous page",
                                   json_schema_extra=CURSOR_FORM),
    ) -> Response:
        page = changes_page(settings, region, kind, since, limit, cursor)
        return _json(request, page, _last_change(settings))

    @app.get("/api/evidence/{event_id}", response_model=None,
             responses={200: {"description": "The document as it was fetched, in its own content type",
                              "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                        **_ERRORS, 404: {"model": ErrorAnswer, "description": "No such event, or none kept"}},
             summary="The fetched document kept as the evidence of a status event")
    def api_evidence(event_id: int = FastApiPath(..., ge=1, le=MAX_EVENT_ID)) -> Response:
        document = evidence_document(settings, event_id)
        # The Content-Type as the source sent it (with its charset), not one Starlette would complete.
        headers = {**EVIDENCE_HEADERS, "Content-Type": _header_safe(document.content_type) or "application/octet-stream",
                   "X-Evidence-SHA256": document.sha256, "X-Evidence-First-Seen": document.first_seen}
        if render.safe_url(document.url) and _header_safe(document.url) == document.url:
            headers["X-Evidence-URL"] = document.url
        return Response(document.body, headers=headers)

    @app.get("/api/sources", response_model=None, responses={200: {"model": list[SourceHealth]}, **_ERRORS},
             summary="Source health: last outcome, consecutive failures, last change, staleness")
    def api_sources(request: Request) -> Response:
        return _json(request, source_rows(settings), _health_changed(settings))

    @app.get("/feeds/{name:path}", response_model=None, include_in_schema=False)
    def feed(request: Request, name: str) -> Response:
        if name != OPML_NAME and not feed_name.match(name):
            raise ApiError(404, f"no feed {name!r}; feeds are all.atom, all.rss, all.json, region/<CODE>.* "
                                f"and the list {OPML_NAME}")
        file = feeds.read(name)
        if file is None:
            raise ApiError(404, f"no feed {name!r}: no such region")
        media_type = OPML_CONTENT_TYPE if name == OPML_NAME else FORMATS[name.rsplit(".", 1)[1]].content_type
        return http.cached(request, file.data, media_type + "; charset=utf-8", http.parse_time(file.updated),
                           http.FEED_CACHE)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(request: Request, q: str | None = Query(None, max_length=200)) -> Response:
        page = dashboard_context(settings, q)
        body = templates.get_template("dashboard.html").render(**page).encode("utf-8")
        return http.cached(request, body, "text/html; charset=utf-8", _health_changed(settings), http.PAGE_CACHE,
                           status_code=page["http_status"])

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
        # Keep the exception's headers: a 405 must say which methods are served (Allow, RFC 9110), and every
        # GET route answers HEAD too (web/http.py).
        headers = dict(exc.headers or {})
        if headers.get("Allow") == "GET":
            headers["Allow"] = "GET, HEAD"
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=headers or None)

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
        context.update(embeds.dashboard_extras(embeds.CachedReader(store), context["region"],
                                               settings.publish.base_url))
        events = store.events(region=region_code, limit=DASHBOARD_CHANGES, with_above=bool(region_code))
        if region_code:
            context["region_feed"] = region_file_stem(region_code) + ".atom"  # every known region has one
            context["above"] = [regions.display_name(code) for code in regions.chain(region_code)[:-1]]
    context["changes"] = [
        {"event": e, "title": render.event_title(e), "html": Markup(render.event_html(e)),  # noqa: S704 sanitized
         "link": render.safe_url(e.url)}
        for e in events
    ]
    context["sources"] = source_rows(settings)
    context["formats"] = list(FORMATS.values())
    return context


# -- command ----------------------------------------------------------------------------------------


