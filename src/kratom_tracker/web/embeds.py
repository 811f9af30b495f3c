"""The routes of embeds, maps and the article check (installed by web/app.py's `create_app`):
- GET /embed/{region}.html and .json — the card and its data (publish/embed.py), with an ETag, a short
  max-age and a CSP of their own: nothing runs, only the card's own style applies, any site may frame it;
- GET /map/us.svg and /map/world.svg?substance=leaf|7-OH — the status map (publish/statusmap.py);
- POST /api/check — the article check (articles/check.py) on a URL (fetched politely), HTML or text."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from kratom_tracker import regions, rules
from kratom_tracker.articles.check import ArticleError, check_article, load_article
from kratom_tracker.articles.claims import read_article
from kratom_tracker.publish.embed import EMBED_CSP, embed_document, embed_html, etag
from kratom_tracker.publish.statusmap import SVG_STYLE, CachedReader, parse_substance, us_map, world_map

EMBED_MAX_AGE = 300  # seconds: a status changes on an effective date, not by the minute; ETags make rechecks cheap
MAX_ARTICLE_CHARS = 2_000_000
_SVG_CSP = ("default-src 'none'; style-src 'sha256-"
            + base64.b64encode(hashlib.sha256(SVG_STYLE.encode()).digest()).decode() + "'; frame-ancestors *")


class CheckRequest(BaseModel):
    """One of `url` (fetched with the project's Fetcher: robots.txt, per-host delay), `html` or `text`."""

    url: str | None = Field(None, max_length=2000, pattern=r"^https?://")
    html: str | None = Field(None, max_length=MAX_ARTICLE_CHARS)
    text: str | None = Field(None, max_length=MAX_ARTICLE_CHARS)
    regions: list[str] = Field(default_factory=list, max_length=50, description="the regions the readers are in")
    as_of: str | None = Field(None, description="YYYY-MM-DD")


def _cached(request: Request, data: bytes, media_type: str, headers: dict[str, str]) -> Response:
    tag = etag(data)
    common = {"ETag": tag, "Cache-Control": f"public, max-age={EMBED_MAX_AGE}", **headers}
    if tag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=common)
    return Response(data, media_type=media_type, headers=common)


def install(app: FastAPI, settings: Any, helpers: Any) -> None:
    """`helpers` is web/app.py's module (its ApiError, _open, _region, _as_of), passed in to keep one
    implementation of each and no import cycle."""

    def reader() -> CachedReader:
        if not settings.db.exists():
            return CachedReader(None)
        with helpers._open(settings) as store:
            return CachedReader(store)

    def substance_of(text: str | None) -> str:
        try:
            return parse_substance(text)
        except ValueError as exc:
            raise helpers.ApiError(400, str(exc)) from None

    def embed_doc(name: str, as_of: str | None) -> dict[str, Any]:
        code = name.replace("_", "/", 1) if "_" in name else name
        region = helpers._region(code)
        day = helpers._as_of(as_of) or date.today()
        return embed_document(rules.status_document(region, reader(), day), settings.publish.base_url)

    @app.get("/embed/{name:path}", include_in_schema=False)
    def embed(name: str, request: Request, as_of: str | None = Query(None)) -> Response:
        stem, dot, ext = name.rpartition(".")
        if not dot or ext not in ("html", "json"):
            raise helpers.ApiError(404, "embeds are /embed/<REGION>.html and /embed/<REGION>.json")
        document = embed_doc(stem, as_of)
        if ext == "json":
            data = (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
            return _cached(request, data, "application/json", {"Access-Control-Allow-Origin": "*"})
        return _cached(request, embed_html(document), "text/html; charset=utf-8",
                       {"Content-Security-Policy": EMBED_CSP, "Referrer-Policy": "no-referrer"})

    @app.get("/map/{name}", include_in_schema=False)
    def status_map(name: str, request: Request, substance: str | None = Query(None, max_length=40),
                   as_of: str | None = Query(None)) -> Response:
        if name not in ("us.svg", "world.svg"):
            raise helpers.ApiError(404, "maps are /map/us.svg and /map/world.svg (?substance=leaf|7-OH)")
        chosen = substance_of(substance)
        day = helpers._as_of(as_of) or date.today()
        draw = us_map if name == "us.svg" else world_map
        data = draw(reader(), chosen, day, settings.publish.base_url)
        return _cached(request, data, "image/svg+xml", {"Content-Security-Policy": _SVG_CSP})

    @app.post("/api/check", response_model=None, responses={200: {"description": "The check-article document"},
                                                             **helpers._ERRORS},
              summary="Check an article's legal claims against the status in force")
    def api_check(body: CheckRequest) -> JSONResponse:
        given = [x for x in (body.url, body.html, body.text) if x]
        if len(given) != 1:
            raise helpers.ApiError(400, "give exactly one of url, html or text")
        audience = [helpers._region(r) for r in body.regions]
        day = helpers._as_of(body.as_of)
        try:
            if body.url:
                if not body.url.lower().startswith(("http://", "https://")):  # never a file path of the server's
                    raise helpers.ApiError(400, "url: an http(s) URL")
                fetcher = _fetcher(settings)
                try:
                    article = load_article(body.url, fetcher)
                finally:
                    fetcher.close()
            else:
                article = read_article(body.html or body.text or "", "request", "text/html" if body.html else "text/plain")
        except ArticleError as exc:
            raise helpers.ApiError(400, str(exc)) from None
        return JSONResponse(check_article(article, reader(), day, audience, settings.publish.base_url))


def _fetcher(settings: Any) -> Any:
    from kratom_tracker.config.model import DEFAULT_USER_AGENT, Politeness
    from kratom_tracker.fetch.client import Fetcher

    config = settings.config
    public_only = not settings.check_private_urls
    if config is not None:
        return Fetcher(config.user_agent, config.politeness, config.fetch.retries, config.fetch.max_retry_wait,
                       public_only=public_only)
    return Fetcher(DEFAULT_USER_AGENT, Politeness(), public_only=public_only)


def dashboard_extras(store_reader: CachedReader, region: regions.Region | None, base_url: str) -> dict[str, Any]:
    """What the dashboard adds: on the home page the US map and the table of every region; on a region's
    page the snippet to paste."""
    from kratom_tracker.publish.embed import embed_snippet, map_snippet
    from kratom_tracker.publish.statusmap import LEGEND_ORDER, status_rows, us_tiles
    from kratom_tracker.vocab import Substance

    today = date.today()
    substances = tuple(s.value for s in Substance.answered())
    if region is not None:
        return {"embed_snippet": embed_snippet(base_url, region), "embed_path": f"/embed/{region.code}.html",
                "map_snippet": map_snippet(base_url, Substance.SEVEN_OH.value)}
    # The home page draws the same tiles as /map/us.svg in HTML (grid classes in style.css): links work and
    # the page keeps its rule of no inline SVG, style or script.
    return {"map_tiles": us_tiles(store_reader, Substance.LEAF.value, today), "legend": LEGEND_ORDER,
            "all_regions": status_rows(store_reader, today, substances), "substances": substances}
