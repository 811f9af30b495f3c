"""HTTP as feed readers and caches expect it: strong validators, conditional GET, HEAD, gzip and CORS.

- Every feed, API answer and dashboard page carries a strong `ETag` (a hash of its bytes), `Last-Modified`
  and `Cache-Control`, and a matching `If-None-Match` (or, without one, `If-Modified-Since`) gets `304 Not
  Modified` with no body (RFC 9110 §13: If-None-Match wins over If-Modified-Since).
- gzip is Starlette's GZipMiddleware. A strong ETag names one representation, so a gzip-encoded answer gets
  its own (`"…-gzip"`, as Apache does); a client revalidating with that tag gets the same 304 (`GzipETags`).
- HEAD is answered for every GET route by running the GET and dropping the body (`HeadAsGet`), so the
  OpenAPI description keeps one operation per route.
- CORS (Starlette's CORSMiddleware) on the feeds and the API only: any origin may GET them from a browser.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FEED_CACHE = "public, max-age=300"  # readers poll; five minutes fresh, then a cheap revalidation
API_CACHE = "public, no-cache"  # may be stored, revalidated before every use (ETag makes that a 304)
PAGE_CACHE = "no-cache"
GZIP_SUFFIX = "-gzip"
CORS_PATHS = ("/feeds/", "/api/")


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _tags(header: str) -> list[str]:
    """The entity tags of an If-None-Match header (weak ones compared by their opaque part, as the
    weak comparison that If-None-Match uses requires)."""
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def _not_modified(request: Request, etag: str, last_modified: datetime | None) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = _tags(if_none_match)
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since and last_modified is not None:
        try:
            parsed = parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return last_modified.replace(microsecond=0) <= parsed
    return False


def cached(request: Request, body: bytes, media_type: str, last_modified: datetime | None,
           cache_control: str, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`body` with its validators, or 304 when the request's validators match. Only a 200 is cached."""
    extra = dict(headers or {})
    if status_code != 200:
        return Response(body, status_code=status_code, media_type=media_type, headers=extra)
    etag = strong_etag(body)
    validators = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding", **extra}
    if last_modified is not None:
        validators["Last-Modified"] = http_date(last_modified)
    if _not_modified(request, etag, last_modified):
        return Response(status_code=304, headers=validators)
    return Response(body, media_type=media_type, headers=validators)


def parse_time(text: str | None) -> datetime | None:
    """A stored UTC timestamp (`2026-07-01T12:00:00Z`) as an aware datetime; None for nothing or junk."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def latest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None


# -- ASGI middleware ---------------------------------------------------------------------------------


class HeadAsGet:
    """HEAD runs the GET route and sends its headers (Content-Length included) without the body."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class GzipETags:
    """Outside GZipMiddleware: a gzip-encoded answer's ETag becomes `"<tag>-gzip"`, and a client that
    revalidates with such a tag is asked about the plain tag inside, its 304 answered with the tag it sent."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent: dict[str, str] = {}  # plain tag -> the -gzip tag the client sent
        headers = []
        for name, value in scope.get("headers", []):
            if name == b"if-none-match":
                tags = []
                for tag in value.decode("latin-1").split(","):
                    tag = tag.strip()
                    plain = _without_suffix(tag)
                    if plain != tag:
                        sent[plain] = tag
                    tags.append(plain)
                value = ", ".join(tags).encode("latin-1")
            headers.append((name, value))

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _retag(message.get("headers", []), message["status"], sent)}
            await send(message)

        await self.app({**scope, "headers": headers}, receive, tagged)


def _without_suffix(tag: str) -> str:
    return tag[: -len(GZIP_SUFFIX) - 1] + '"' if tag.endswith(GZIP_SUFFIX + '"') else tag


def _retag(headers: list[tuple[bytes, bytes]], status: int, sent: dict[str, str]) -> list[tuple[bytes, bytes]]:
    encoded = any(n == b"content-encoding" and v.strip().lower() == b"gzip" for n, v in headers)
    out = []
    for name, value in headers:
        if name == b"etag":
            tag = value.decode("latin-1")
            if encoded and tag.endswith('"'):
                tag = tag[:-1] + GZIP_SUFFIX + '"'
            elif status == 304 and tag in sent:
                tag = sent[tag]
            value = tag.encode("latin-1")
        out.append((name, value))
    return out


class ScopedCors:
    """Starlette's CORSMiddleware for the feed and API paths only; the dashboard stays same-origin."""

    def __init__(self, app: ASGIApp, **options: Any):
        self.app = app
        self.cors = CORSMiddleware(app, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith(CORS_PATHS):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def cors_options() -> dict[str, Any]:
    return {"allow_origins": ["*"], "allow_methods": ["GET", "HEAD"], "allow_headers": [],
            "expose_headers": ["ETag", "Last-Modified", "Cache-Control"], "max_age": 86400}
