"""`kratom-tracker serve`: the feeds at /feeds/..., a JSON read API under /api/ (described at
/openapi.json) and a small server-rendered dashboard at /. FastAPI on uvicorn, 127.0.0.1 by default.

The database is opened read-only for every request, so the server can run beside `collect` or the
scheduler. Every answer is either JSON, a feed file or HTML from autoescaping templates; event text
reaches HTML only through render.py. Bad input answers 4xx with `{"error": ...}`, never a traceback."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__, publish, regions, render
from .config import Config, PublishSettings, db_path, load, sources_path
from .store import Store, StoreError, require_database

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
    feeds_dir: Path
    config: Config | None = None

    @property
    def publish(self) -> PublishSettings:
        return self.config.publish if self.config else PublishSettings()


class FeedPublisher:
    """Keeps the feeds folder in step with the database: republishes (same function and settings as
    `publish`, so the same bytes) when the events changed since the last look."""

    def __init__(self, settings: ServerSettings):
        self.settings = settings
        self.lock = threading.Lock()
        self.signature: tuple | None = None
        self.files: tuple | None = None

    def _file_stamp(self) -> tuple:
        """Size and mtime of the database and its WAL: unchanged files mean unchanged events, for a stat."""
        stamp = []
        for suffix in ("", "-wal"):
            try:
                info = os.stat(str(self.settings.db) + suffix)
                stamp.append((info.st_size, info.st_mtime_ns))
            except OSError:
                stamp.append(None)
        return tuple(stamp)

    def refresh(self) -> None:
        if not self.settings.db.exists():
            return
        with self.lock:
            stamp = self._file_stamp()
            if stamp == self.files and (self.settings.feeds_dir / "all.atom").exists():
                return
            self._refresh()
            self.files = stamp

    def _refresh(self) -> None:
        with Store(self.settings.db, readonly=True) as store:
            signature = store.db.execute("SELECT COUNT(*), MAX(id) FROM events").fetchone()
            if signature == self.signature and (self.settings.feeds_dir / "all.atom").exists():
                return
            try:
                publish.publish(store, self.settings.feeds_dir, self.settings.publish)
            except OSError as exc:  # a read-only folder: serve what is there
                log.warning("cannot publish into %s: %s", self.settings.feeds_dir, exc)
                return
            self.signature = signature

    def read(self, name: str) -> bytes | None:
        self.refresh()
        path = self.settings.feeds_dir / name
        with self.lock:
            return path.read_bytes() if path.is_file() else None


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
    from .cli import UsageError, parse_since

    try:
        return parse_since(text)
    except UsageError as exc:
        raise ApiError(400, str(exc).replace("--since", "since")) from None


def _as_of(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"as_of {text!r}: use a date as YYYY-MM-DD") from None


def status_document(settings: ServerSettings, region_text: str, as_of: date | None = None) -> dict[str, Any]:
    """The `status --json` answer, computed by status.py (the one implementation of the contract)."""
    try:
        from . import status
    except ImportError:
        raise ApiError(501, "status queries are not available in this build") from None
    region = _region(region_text)
    try:
        return status.status_document(region, settings.db, as_of)
    except StoreError as exc:
        raise ApiError(503, str(exc)) from None


def changes_page(settings: ServerSettings, region: str | None, kind: str | None, since: str | None,
                 limit: int, cursor: str | None) -> dict[str, Any]:
    before_id = None
    if cursor is not None:
        if not cursor.isdigit() or int(cursor) < 1:
            raise ApiError(400, f"cursor {cursor!r}: use the next_cursor of an earlier answer")
        before_id = int(cursor)
    code = _region(region).code if region else None
    since_value = _since(since)
    with _open(settings) as store:
        events = store.events(region=code, kind=kind, since=since_value, limit=limit + 1, before_id=before_id)
    more = len(events) > limit
    events = events[:limit]
    return {"changes": events, "next_cursor": str(events[-1]["id"]) if more and events else None}


def source_rows(settings: ServerSettings) -> list[dict[str, Any]]:
    if settings.config is not None:
        from .health import source_health_rows

        return source_health_rows(settings.config, settings.db)
    if not settings.db.exists():
        return []
    with _open(settings) as store:
        return store.sources_health()


# -- the application --------------------------------------------------------------------------------


def create_app(settings: ServerSettings) -> FastAPI:
    app = FastAPI(
        title="kratom-tracker", version=__version__, docs_url=None, redoc_url=None,
        description="Read API over the changes kratom-tracker recorded: status per region, changes, source "
                    "health. Feeds at /feeds/, a dashboard at /.",
    )
    feeds = FeedPublisher(settings)
    templates = Environment(loader=PackageLoader("kratom_tracker", "templates"), autoescape=True)
    templates.filters["safe_url"] = render.safe_url
    app.mount("/static", StaticFiles(packages=[("kratom_tracker", "static")]), name="static")
    _install_error_handlers(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.get("/api/status/{region:path}", response_model=None, responses={200: {"model": StatusAnswer}, **_ERRORS},
             summary="What applies in a region (the `status --json` contract)")
    def api_status(region: str, as_of: str | None = Query(None, description="YYYY-MM-DD")) -> JSONResponse:
        return JSONResponse(status_document(settings, region, _as_of(as_of)))

    @app.get("/api/changes", response_model=None, responses={200: {"model": ChangesAnswer}, **_ERRORS},
             summary="Recorded changes, newest first, a page at a time")
    def api_changes(
        region: str | None = Query(None, description="code or name; covers everything below it"),
        kind: Literal["content", "notice", "status"] | None = Query(None),
        since: str | None = Query(None, description="YYYY-MM-DD, an ISO timestamp or a span such as 30d"),
        limit: int = Query(50, ge=1, le=MAX_LIMIT),
        cursor: str | None = Query(None, description="next_cursor of the previous page"),
    ) -> JSONResponse:
        return JSONResponse(changes_page(settings, region, kind, since, limit, cursor))

    @app.get("/api/sources", response_model=None, responses={200: {"model": list[SourceHealth]}, **_ERRORS},
             summary="Source health: last outcome, consecutive failures, last change, staleness")
    def api_sources() -> JSONResponse:
        return JSONResponse(source_rows(settings))

    @app.get("/feeds/{name:path}", response_model=None, include_in_schema=False)
    def feed(name: str) -> Response:
        if not publish.FEED_NAME.match(name):
            raise ApiError(404, f"no feed {name!r}; feeds are all.atom, all.rss, all.json and region/<CODE>.*")
        data = feeds.read(name)
        if data is None:
            raise ApiError(404, f"no feed {name!r} (no events in that region yet?)")
        media_type = publish.CONTENT_TYPES[name.rsplit(".", 1)[1]]
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
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

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
            context["region_feed"] = publish.region_file_stem(region_code) + ".atom" if events else None
            above = regions.chain(region_code)[:-1]
            context["above"] = [regions.display_name(code) for code in above]
            events = sorted(events + _events_at(store, above, DASHBOARD_CHANGES), key=lambda e: -e["id"])
            events = events[:DASHBOARD_CHANGES]
    context["changes"] = [
        {"event": e, "title": render.event_title(e), "html": Markup(render.event_html(e)),  # noqa: S704 sanitized
         "link": render.safe_url(e.get("url"))}
        for e in events
    ]
    context["sources"] = source_rows(settings)
    return context


def _events_at(store: Store, jurisdictions: list[str], limit: int) -> list[dict[str, Any]]:
    """Newest events recorded exactly at these jurisdictions (the levels above a region apply to it too)."""
    if not jurisdictions:
        return []
    columns = ("id", "kind", "source_id", "jurisdiction", "detected_at", "title", "summary", "diff", "url", "data")
    rows = store.db.execute(
        f"SELECT {', '.join(columns)} FROM events WHERE jurisdiction IN ({','.join('?' * len(jurisdictions))}) "
        "ORDER BY id DESC LIMIT ?", [*jurisdictions, limit]).fetchall()
    events = [dict(zip(columns, row, strict=True)) for row in rows]
    for event in events:
        event["data"] = json.loads(event["data"]) if event["data"] else {}
    return events


# -- command ----------------------------------------------------------------------------------------


def load_server_settings(args: argparse.Namespace) -> ServerSettings:
    path = sources_path(getattr(args, "sources", None))
    config = load(path) if path.exists() else None
    return ServerSettings(db=db_path(getattr(args, "db", None)), feeds_dir=Path(getattr(args, "feeds", None)
                                                                                  or "data/feeds"), config=config)


def serve_command(args: argparse.Namespace) -> int:
    from .cli import UsageError

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: use a port from 1 to 65535")
    settings = load_server_settings(args)
    require_database(settings.db)  # refuse at start: a server over nothing would only answer 503s
    import uvicorn

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}, reachable from other machines", file=sys.stderr)
    print(f"kratom-tracker: dashboard at http://{args.host}:{args.port}/ , feeds at /feeds/all.atom , "
          f"API description at /openapi.json", file=sys.stderr)
    _check_can_listen(args.host, args.port)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0


def _check_can_listen(host: str, port: int) -> None:
    """Fail with a clear message (exit 2) rather than uvicorn's log line when the port is taken."""
    import socket

    from .cli import UsageError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
