"""Polite HTTP on requests: one session per Fetcher with pooled keep-alive connections, per-host
concurrency and delay, robots.txt, conditional GET, bounded retries, redirects (at most 5, http(s) only),
connect and read timeouts under an overall deadline per request, and a body cap counted on decoded bytes
(so it holds for gzip and deflate bodies). Only a complete, final 2xx answer is a document; anything else
is a failed outcome (`models`), never an exception. Nothing outside this package knows which HTTP library
is used."""

from __future__ import annotations

import ipaddress
import math
import socket
import threading
import time
from dataclasses import dataclass, replace
from http.client import HTTPException
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError as Urllib3Error

from kratom_tracker.config.model import Config, Politeness
from kratom_tracker.fetch import deadline
from kratom_tracker.fetch.session import (
    MAX_REDIRECTS,
    Adapter,
    EnvironmentProxies,
    new_session,
    not_http,
    retry_policy,
)
from kratom_tracker.values import Response
from kratom_tracker.vocab import Outcome

ROBOTS_TTL = 24 * 3600
READ_CHUNK = 64 * 1024  # decoded bytes per read; a body may pass the cap by at most this much in memory
ERROR_BODY_KEPT = 2048  # of an HTTP error's body, for the fetch log
PREPARED_KEPT = 50_000  # prepared GETs kept by URL (the sources' and their robots.txt)
CONNECT_TIMEOUT_MAX = 10.0  # a host that takes longer to accept is as good as down
TIMEOUT_MAX = 3600.0  # a timeout the config did not bound (or an infinite one) is held to this
DOCUMENT_STATUSES = (200, 203)  # 206 is part of a document, 204/205 none: only these are the document
_FAILURES = (requests.RequestException, Urllib3Error, HTTPException, OSError, ValueError)


@dataclass
class _HostGate:
    """At most `limit` requests in flight to one host, and at least `delay` seconds between starts."""

    semaphore: threading.BoundedSemaphore
    delay: float
    lock: threading.Lock
    aborted: threading.Event  # the Fetcher's: a stopping daemon does not wait out the politeness delay
    next_start: float = 0.0

    def __enter__(self) -> _HostGate:
        while not self.semaphore.acquire(timeout=0.5):
            if self.aborted.is_set():
                raise _Aborted
        if self.delay > 0:
            with self.lock:
                now = time.monotonic()
                start = max(now, self.next_start)
                self.next_start = start + self.delay
            if start > now and self.aborted.wait(start - now):
                self.semaphore.release()
                raise _Aborted
        return self

    def __exit__(self, *exc: object) -> None:
        self.semaphore.release()


_Aborted = deadline.Aborted  # the Fetcher was told to stop: at a host gate or before a request


class _Attempt(NamedTuple):
    response: Response
    left: int  # retries left after it
    again: bool = False  # failed in the body in a way worth another request
    target: str | None = None  # a redirect's absolute target: the fetch goes on there


class Fetcher:
    """Thread-safe; one per process so per-host limits hold across every caller (collect, daemon)."""

    def __init__(self, user_agent: str, politeness: Politeness, retries: int = 2, max_retry_wait: float = 30.0,
                 public_only: bool = False):
        """`public_only`: every hop, the first one included, must resolve to public addresses only; for
        URLs chosen by someone else (POST /api/check), so the server cannot be made to probe its own
        network (cloud metadata at 169.254.169.254, an admin page on 10.0.0.1, a service on loopback)."""
        self.user_agent = user_agent
        self.public_only = public_only
        self.politeness = politeness
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self._adapter = Adapter(retry_policy(retries, max_retry_wait), politeness.per_host_concurrency)
        self._session = new_session(user_agent, self._adapter)
        self._proxies = EnvironmentProxies()  # read once, here
        self._templates: dict[str, requests.PreparedRequest] = {}
        self._gates: dict[str, _HostGate] = {}
        self._robots: dict[str, tuple[float, object | None, str]] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._aborted = threading.Event()

    @classmethod
    def from_config(cls, config: Config) -> Fetcher:
        return cls(config.user_agent, config.politeness, config.fetch.retries, config.fetch.max_retry_wait)

    def close(self) -> None:
        """Closes the kept-alive connections (a later fetch opens new ones)."""
        self._session.close()

    def abort_in_flight(self) -> None:
        """For a stopping daemon: fetches waiting at a host gate give up, and every exchange in flight in
        this process is cut (they end as timeouts). The Fetcher is not used after this."""
        self._aborted.set()
        deadline.cut_all()

    def _gate(self, host: str) -> _HostGate:
        with self._lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = _HostGate(threading.BoundedSemaphore(self.politeness.per_host_concurrency),
                                 self.politeness.per_host_delay, threading.Lock(), self._aborted)
                self._gates[host] = gate
            return gate

    def fetch(self, url: str, timeout: float = 30.0, max_bytes: int = 10_000_000,
              etag: str | None = None, last_modified: str | None = None,
              headers: dict[str, str] | None = None) -> Response:
        """GET `url` politely; `headers` are added to the request (an API key header: never logged).
        Never raises: whatever a URL, a stored validator or a server does, the answer is a Response
        (a failure is an outcome), so one source can never stop the others."""
        started = time.monotonic()
        try:
            return self._fetch(url, _bounded(timeout), max_bytes, etag, last_modified, started, headers or {})
        except _Aborted:
            return Response(url=url, outcome=Outcome.CONNECTION_ERROR, error="stopped before the request",
                            elapsed_ms=_ms(started))
        except Exception as exc:  # noqa: BLE001 - a bug or an input nobody foresaw: this source's outcome
            return Response(url=url, outcome=Outcome.CONNECTION_ERROR, elapsed_ms=_ms(started),
                            error=_reason(f"request failed: {type(exc).__name__}: {exc}"))

    def _fetch(self, url: str, timeout: float, max_bytes: int, etag: str | None, last_modified: str | None,
               started: float, extra: dict[str, str]) -> Response:
        """Each redirect is one more hop, followed here (not by requests): every hop passes the same
        checks as the first (http(s) only, robots.txt of its host, that host's gate), and a hop to a
        loopback, link-local or private address is refused unless the source's own address is of the
        same kind (a public page must not be turned into a probe of the network it is fetched from)."""
        validators = _validators(etag, last_modified)
        home = urlsplit(url).netloc
        origin: str | None = None
        current, hops, left = url, 0, self.retries
        while True:
            parts = urlsplit(current)
            try:
                port = parts.port
            except ValueError:
                port = -1
            if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
                if hops:
                    return Response(url=url, outcome=Outcome.HTTP_ERROR, elapsed_ms=_ms(started),
                                    error=_reason(f"redirected to {current!r}, not an http(s) URL"))
                return Response(url=url, outcome=Outcome.CONNECTION_ERROR, error="not an http(s) URL")
            if self.public_only:
                kind = _address_kind(parts.hostname)
                if kind != "public":
                    return Response(url=url, outcome=Outcome.HTTP_ERROR, elapsed_ms=_ms(started),
                                    error=_reason(f"{'redirect to ' if hops else ''}a {kind} address refused: "
                                                  f"{current}"))
            elif hops:  # only a redirect costs a name lookup of its own (the first hop's is the connection's)
                origin = origin or _address_kind(urlsplit(url).hostname or "")
                kind = _address_kind(parts.hostname)
                if kind not in ("public", origin):
                    return Response(url=url, outcome=Outcome.HTTP_ERROR, elapsed_ms=_ms(started),
                                    error=_reason(f"redirect to a {kind} address refused: {current}"))
            proxies = self._proxies.for_url(parts.scheme, parts.hostname, port)
            if self.politeness.robots:
                allowed, why = self._robots_allows(parts.scheme, parts.netloc, current, timeout, proxies)
                if not allowed:
                    return Response(url=url, final_url=current, outcome=Outcome.ROBOTS_DENIED, error=why,
                                    elapsed_ms=_ms(started))
            with self._gate(parts.netloc):
                # The source's own headers (an API key) go to its own host only, never to a redirect target.
                headers = {**extra, **validators} if parts.netloc == home else validators
                response, target, left = self._get(current, headers, timeout, max_bytes, started, proxies, left)
            if target is None:
                return replace(response, url=url, final_url=current)
            hops += 1
            if hops > MAX_REDIRECTS:
                return Response(url=url, status=response.status, outcome=Outcome.HTTP_ERROR,
                                elapsed_ms=_ms(started), error=f"more than {MAX_REDIRECTS} redirects")
            current = target

    def _get(self, url: str, headers: dict[str, str], timeout: float, max_bytes: int, started: float,
             proxies: dict[str, str], left: int | None = None) -> tuple[Response, str | None, int]:
        """GET with bounded retries, `retries` more requests at most for the whole fetch (every hop draws
        on the one budget): urllib3 retries connection failures, timeouts before the answer and 429/5xx
        (waiting as Retry-After asks, capped, or backing off); this loop retries a body cut short or
        timed out, with the same backoff. The answer, the redirect target (None: final) and what is left."""
        left = self.retries if left is None else left
        while True:
            attempt = self._attempt(url, headers, timeout, max_bytes, started, proxies, left)
            if attempt.target is not None or not attempt.again or attempt.left <= 0 or self._aborted.is_set():
                return attempt.response, attempt.target, attempt.left
            left = attempt.left - 1
            time.sleep(min(_backoff(self.retries - left), self.max_retry_wait))

    def _attempt(self, url: str, headers: dict[str, str], timeout: float, max_bytes: int, started: float,
                 proxies: dict[str, str], left: int) -> _Attempt:
        with deadline.Limit(timeout, self._aborted) as limit:
            self._adapter.allow(left)
            try:
                answer = self._session.send(self._request(url, headers), proxies=proxies, stream=True,
                                            allow_redirects=False,
                                            timeout=(min(timeout, CONNECT_TIMEOUT_MAX), timeout))
            except _FAILURES as exc:  # urllib3 has retried what was worth it: nothing is left to try
                return _Attempt(_failure(url, exc, limit.expired, started), 0)
            finally:
                left = self._adapter.left()
                self._adapter.allow(None)
            try:
                if answer.is_redirect:
                    target = urljoin(url, self._session.get_redirect_target(answer) or "")
                    return _Attempt(Response(url=url, status=answer.status_code), left, target=target)
                response, again = _receive(url, answer, max_bytes, started, limit, bool(headers))
            finally:
                answer.close()
            return _Attempt(response, left, again)

    def _request(self, url: str, headers: dict[str, str]) -> requests.PreparedRequest:
        """The GET for `url`: prepared once per URL (a daemon fetches the same URLs all day) and copied
        for each fetch. Prepared directly rather than by Session.request, whose merging of the session's
        settings was 0.23 of 0.83 s in a profile of 1000 conditional GETs: the session's headers and
        hooks are all there is to merge, and the environment is not read (trust_env is off)."""
        template = self._templates.get(url)
        if template is None:
            if len(self._templates) >= PREPARED_KEPT:
                self._templates.clear()
            template = requests.PreparedRequest()
            template.prepare(method="GET", url=url, headers=self._session.headers, hooks=self._session.hooks,
                             cookies=self._session.cookies)
            self._templates[url] = template
        prepared = template.copy()
        prepared.headers.update(headers)
        return prepared

    # -- robots.txt ----------------------------------------------------------------------------------

    def _robots_allows(self, scheme: str, netloc: str, url: str, timeout: float,
                       proxies: dict[str, str]) -> tuple[bool, str]:
        key = f"{scheme}://{netloc}"
        with self._lock:
            lock = self._robots_locks.setdefault(key, threading.Lock())
        with lock:  # one robots.txt request per host, however many sources wait on it
            cached = self._robots.get(key)
            if cached is None or time.monotonic() - cached[0] > ROBOTS_TTL:
                cached = (time.monotonic(), *self._load_robots(key, timeout, proxies))
                self._robots[key] = cached
        _, parser, why = cached
        if parser is None:
            return (why == ""), why
        if parser.can_fetch(url, self.user_agent):  # type: ignore[attr-defined]
            return True, ""
        return False, f"robots.txt of {netloc} disallows this URL for our user agent"

    def _load_robots(self, base: str, timeout: float, proxies: dict[str, str]) -> tuple[object | None, str]:
        """(parser, "") to obey, (None, "") to allow all, (None, reason) to deny all (RFC 9309)."""
        from protego import Protego

        with self._gate(urlsplit(base).netloc):
            response, target, _ = self._get(base + "/robots.txt", {}, min(timeout, 15.0), 512 * 1024,
                                            time.monotonic(), proxies)
        if target is not None:
            response = self._robots_redirect(base, target, timeout, proxies)
        if response.outcome is None:
            try:
                return Protego.parse(response.text), ""
            except Exception:  # a robots.txt we cannot read is treated as absent
                return None, ""
        if response.outcome == Outcome.HTTP_ERROR and 400 <= response.status < 500:
            return None, ""
        if response.outcome == Outcome.HTTP_ERROR:
            return None, f"robots.txt answered HTTP {response.status}; not fetching until it is readable"
        return None, ""  # unreachable: let the page request fail on its own

    def _robots_redirect(self, base: str, target: str, timeout: float, proxies: dict[str, str]) -> Response:
        """robots.txt that redirects (http → https, to www.): followed on the same host, or to another
        public host (RFC 9309 allows five hops); anything else reads as "no robots.txt"."""
        for _ in range(MAX_REDIRECTS):
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https") or not parts.hostname or \
                    _address_kind(parts.hostname) not in ("public", _address_kind(urlsplit(base).hostname or "")):
                break
            with self._gate(parts.netloc):
                response, next_target, _ = self._get(target, {}, min(timeout, 15.0), 512 * 1024,
                                                     time.monotonic(), proxies)
            if next_target is None:
                return response
            target = next_target
        return Response(url=target, outcome=Outcome.HTTP_ERROR, status=404, error="robots.txt redirects away")


def _bounded(timeout: float) -> float:
    """A timeout the HTTP layer can use: NaN, infinite or absurd values (the config refuses them; a
    caller may not have) become TIMEOUT_MAX, which no socket call overflows."""
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        return TIMEOUT_MAX
    return timeout if math.isfinite(timeout) and 0 < timeout <= TIMEOUT_MAX else TIMEOUT_MAX


def _sendable(value: str | None) -> str | None:
    """A stored validator as it can be sent back: http.client writes header values as Latin-1, and a
    value with a character outside it (or a line break) would fail every later request of the source;
    such a validator is not sent (the GET is unconditional, which always works)."""
    if not value:
        return None
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value) or value != value.strip():
        return None
    return value


def _validators(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if sent := _sendable(etag):
        headers["If-None-Match"] = sent
    if sent := _sendable(last_modified):
        headers["If-Modified-Since"] = sent
    return headers


def _address_kind(hostname: str) -> str:
    """"loopback", "link-local", "private" (RFC 1918, ULA, CGNAT, reserved, unspecified, multicast) or
    "public", by the host's addresses (the most private one wins); a name that does not resolve is
    "public" here and fails on connecting."""
    try:
        addresses = [ipaddress.ip_address(hostname.strip("[]"))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return "public"
        addresses = []
        for info in infos:
            try:
                addresses.append(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
            except ValueError:
                continue
    kinds = {_kind_of(a) for a in addresses}
    for kind in ("loopback", "link-local", "private"):
        if kind in kinds:
            return kind
    return "public"


def _kind_of(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_private or address.is_reserved or address.is_unspecified or address.is_multicast \
            or not address.is_global:
        return "private"
    return "public"


def _receive(url: str, answer: requests.Response, max_bytes: int, started: float,
             limit: deadline.Limit, conditional: bool = True) -> tuple[Response, bool]:
    """The body of an answer whose headers have arrived, read to its end (so its connection goes back to
    the pool) or to the cap, and what it amounts to; True when a failure is worth another request."""
    status, final_url = answer.status_code, answer.url
    headers = {name.lower(): value for name, value in answer.headers.items()}
    fields: dict[str, Any] = {"url": url, "status": status, "headers": headers}
    length = headers.get("content-length", "")
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    if chunked and length:  # RFC 9112 6.3: both framings at once is an error (and a smuggling trick)
        return Response(**fields, outcome=Outcome.HTTP_ERROR, elapsed_ms=_ms(started),
                        error="conflicting framing: both Transfer-Encoding: chunked and Content-Length"), False
    if status != 304 and length.isdigit() and int(length) > max_bytes:  # refused before a byte of it
        return Response(**fields, outcome=Outcome.TOO_LARGE, elapsed_ms=_ms(started),
                        error=f"Content-Length exceeds the cap of {max_bytes} bytes"), False
    body = _Body(max_bytes)
    try:
        body.read(answer.raw)
    except _FAILURES as exc:
        outcome, error = _body_failure(exc, limit.expired)
        return Response(**fields, outcome=outcome, error=error, elapsed_ms=_ms(started)), True
    if body.too_large:
        return Response(**fields, outcome=Outcome.TOO_LARGE, elapsed_ms=_ms(started),
                        error=f"body exceeds the cap of {max_bytes} bytes"), False
    if limit.expired and not length and not answer.raw.chunked:  # the deadline ended a body that had
        # no length of its own, so its end says nothing: it is not complete
        return Response(**fields, outcome=Outcome.TIMEOUT, error="read timed out mid-body",
                        elapsed_ms=_ms(started)), True
    if answer.raw.length_remaining:  # urllib3 enforces Content-Length; this holds if that ever changes
        return Response(**fields, outcome=Outcome.CONNECTION_ERROR, elapsed_ms=_ms(started),
                        error=f"body cut short: {answer.raw.length_remaining} bytes missing"), True
    if status == 304 and conditional:
        return Response(**fields, final_url=final_url, outcome=Outcome.NOT_MODIFIED,
                        elapsed_ms=_ms(started)), False
    content = b"".join(body.chunks)
    if status == 304:
        return Response(**fields, final_url=final_url, outcome=Outcome.HTTP_ERROR, elapsed_ms=_ms(started),
                        error="HTTP 304 to a request that was not conditional"), False
    if status not in DOCUMENT_STATUSES:
        return Response(**fields, final_url=final_url, body=content[:ERROR_BODY_KEPT], outcome=Outcome.HTTP_ERROR,
                        error=f"HTTP {status}", elapsed_ms=_ms(started)), False
    return Response(**fields, final_url=final_url, body=content, elapsed_ms=_ms(started),
                    unframed=not length and not chunked), False


class _Body:
    """A body as decoded bytes, up to a cap: counted after decompression, so a gzip bomb stops here."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self.chunks: list[bytes] = []
        self.too_large = False

    def read(self, raw: Any) -> None:
        for chunk in raw.stream(READ_CHUNK, decode_content=True):
            self.size += len(chunk)
            if self.size > self.max_bytes:
                self.too_large, self.chunks = True, []
                return
            self.chunks.append(chunk)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _reason(exc: BaseException | str) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "…"


def _backoff(retry: int) -> float:
    """urllib3's schedule for backoff_factor 0.5: the first retry at once, then 1 s, 2 s, 4 s, ..."""
    return 0.0 if retry <= 1 else 0.5 * 2 ** (retry - 1)


def _root(exc: BaseException) -> BaseException:
    """The error under requests' and urllib3's wrappers (ConnectionError(MaxRetryError(reason)), ...)."""
    for _ in range(6):
        if isinstance(exc, MaxRetryError) and exc.reason is not None:
            exc = exc.reason
        elif isinstance(exc, (requests.RequestException, ProtocolError)) and exc.args \
                and isinstance(exc.args[-1], BaseException):
            exc = exc.args[-1]
        else:
            break
    return exc


def _is_timeout(exc: BaseException) -> bool:
    cause = _root(exc)
    if isinstance(cause, ConnectTimeoutError):
        return not isinstance(cause, NewConnectionError)  # urllib3's refused/unresolved connections
    return isinstance(exc, requests.Timeout) or isinstance(cause, (ReadTimeoutError, TimeoutError))


def _failure(url: str, exc: BaseException, expired: bool, started: float) -> Response:
    """A fetch that got no answer to read: refused, timed out, not HTTP, too many or bad redirects."""
    last = getattr(exc, "response", None)  # TooManyRedirects carries the last redirect
    status = last.status_code if last is not None else 0
    if isinstance(exc, (requests.TooManyRedirects, requests.exceptions.InvalidSchema)):
        outcome, error = Outcome.HTTP_ERROR, _reason(exc)  # a loop, or a redirect to file:, ftp:, ...
    elif expired or _is_timeout(exc):
        outcome, error = Outcome.TIMEOUT, _reason(_root(exc))
    elif not_http(_root(exc)):
        outcome, error = Outcome.HTTP_ERROR, _reason(f"not an HTTP answer: {_root(exc)!r}")
    else:
        outcome, error = Outcome.CONNECTION_ERROR, _reason(_root(exc))
    return Response(url=url, status=status, outcome=outcome, error=error, elapsed_ms=_ms(started))


def _body_failure(exc: BaseException, expired: bool) -> tuple[str, str]:
    if expired or _is_timeout(exc):
        return Outcome.TIMEOUT, "read timed out mid-body"
    if isinstance(exc, DecodeError):
        return Outcome.CONNECTION_ERROR, f"body not decodable: {_reason(exc)}"
    return Outcome.CONNECTION_ERROR, f"body cut short: {_reason(exc)}"
