"""The requests session behind a `Fetcher`: one per Fetcher (so one per process), its connection pools,
its retry policy (urllib3 `Retry`) and the proxies of the environment, read once."""

from __future__ import annotations

import threading
from http.client import BadStatusLine, RemoteDisconnected
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.request import getproxies, proxy_bypass_environment

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import address_in_network, is_ipv4_address, is_valid_cidr
from urllib3.exceptions import InvalidHeader, ProtocolError
from urllib3.util.retry import Retry

from kratom_tracker.fetch import deadline

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_REDIRECTS = 5  # as libcurl's MAXREDIRS was: a sixth redirect is an error
# Hosts whose pools (and kept-alive connections) stay open at once. The shipped sources.yaml names 35
# hosts; the default of 10 would close and reopen pools all pass long. Idle connections per pool are at
# most what was in use at once (per_host_concurrency, 2 by default), so 256 pools stay within ~512 fds.
HOST_POOLS = 256
# A redirect's body is read by requests to free its connection; above this (or without a length) the
# connection is dropped instead, so an endless body behind a 302 costs no memory.
REDIRECT_BODY_READ = 64 * 1024


class PoliteRetry(Retry):
    """urllib3's Retry with Retry-After capped at `max_wait` (an hour-long Retry-After must not park a
    worker) and read only on 429 and 503 (413 is not worth another try); an unparseable Retry-After falls
    back to the backoff instead of failing the request; an answer that is not HTTP is not asked again."""

    RETRY_AFTER_STATUS_CODES = frozenset({429, 503})

    def __init__(self, *args: Any, max_wait: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_wait = max_wait

    def new(self, **kw: Any) -> PoliteRetry:
        retry = super().new(**kw)
        retry.max_wait = self.max_wait
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        try:
            seconds = super().get_retry_after(response)
        except InvalidHeader:
            return None
        return None if seconds is None else min(seconds, self.max_wait)

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> PoliteRetry:
        if error is not None and not_http(error):
            raise error  # garbage instead of a status line: asking again gives the same garbage
        return super().increment(method, url, response, error, _pool, _stacktrace)


def not_http(error: BaseException) -> bool:
    """A ProtocolError around http.client's BadStatusLine (not its RemoteDisconnected subclass, which is
    a connection closed without an answer and worth a retry)."""
    cause = error.args[1] if isinstance(error, ProtocolError) and len(error.args) > 1 else error
    return isinstance(cause, BadStatusLine) and not isinstance(cause, RemoteDisconnected)


def retry_policy(retries: int, max_retry_wait: float) -> PoliteRetry:
    """Connection errors, read errors before the answer and 429/5xx, `retries` times in all: the first
    retry at once, then 1 s, 2 s, ... (backoff 0.5 s × 2^(n-1), capped), or as Retry-After asks."""
    return PoliteRetry(total=retries, connect=None, read=None, status=None, other=None, redirect=None,
                       status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}),
                       backoff_factor=0.5, backoff_max=max_retry_wait, respect_retry_after_header=True,
                       raise_on_status=False, max_wait=max_retry_wait)


class Adapter(HTTPAdapter):
    """requests' adapter with deadline-aware pools and a retry budget per thread: urllib3 retries what
    fails before an answer, the client what fails in the body, and every hop of a fetch (redirects
    included) draws on the one budget of `retries` more requests."""

    def __init__(self, retry: Retry, pool_size: int) -> None:
        self._budget = threading.local()
        # Retry objects are immutable: one per budget, made once rather than for every request.
        self._policies = [retry.new(total=n) for n in range(int(retry.total or 0) + 1)]
        super().__init__(pool_connections=HOST_POOLS, pool_maxsize=pool_size, max_retries=retry)

    @property  # type: ignore[override]
    def max_retries(self) -> Retry:
        return getattr(self._budget, "retry", None) or self._default_retry

    @max_retries.setter
    def max_retries(self, retry: Retry) -> None:
        self._default_retry = retry

    def allow(self, retries: int | None) -> None:
        """This thread's requests from now on may be retried `retries` times in all (None: the default)."""
        self._budget.retry = None if retries is None else self._policies[max(0, min(retries, len(self._policies) - 1))]

    def left(self) -> int:
        retry = getattr(self._budget, "retry", None)
        return int(retry.total or 0) if retry is not None else 0

    def spend(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        """A response hook (each hop): what urllib3 retried for this answer leaves less for the next."""
        retry, used = getattr(self._budget, "retry", None), getattr(response.raw, "retries", None)
        if retry is not None and used is not None and used.history:
            self.allow(int(retry.total or 0) - len(used.history))
        return response

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = deadline.POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = deadline.POOL_CLASSES
        return manager


def new_session(user_agent: str, adapter: Adapter) -> requests.Session:
    session = requests.Session()
    # With trust_env on, requests looks at the environment on every request (proxy variables, no_proxy
    # matching, ~/.netrc, the CA bundle variables). Measured: 2000 conditional GETs (304) to a local
    # server in one thread, Session.get, 39 environment variables and no ~/.netrc: 0.90 s with trust_env
    # on, 0.66 s off (0.45 against 0.33 ms a request: 0.12 ms, 27% of it). The proxy variables are read
    # once instead (`EnvironmentProxies`); netrc and REQUESTS_CA_BUNDLE were never used (nor by libcurl).
    session.trust_env = False
    session.headers = CaseInsensitiveDict(
        {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate", "Accept": "*/*"})
    session.max_redirects = MAX_REDIRECTS
    # No cookies kept between requests, as with libcurl before: one source's session cookie is not
    # another's, and nothing we watch needs one.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.hooks["response"] += [adapter.spend, _drop_large_redirect_body]
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _drop_large_redirect_body(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    if response.is_redirect:
        length = response.headers.get("content-length", "")
        if not (length.isdigit() and int(length) <= REDIRECT_BODY_READ):
            response.raw.close()  # requests then reads an empty body and opens a new connection
    return response


class EnvironmentProxies:
    """http_proxy / https_proxy / all_proxy / no_proxy as they were when the Fetcher was made, and the
    choice per host made once (requests with trust_env would read the environment on every request)."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        proxies = dict(getproxies() if environ is None else environ)
        self._no_proxy = proxies.pop("no", "")
        self._proxies = proxies
        self._by_host: dict[tuple[str, str], dict[str, str]] = {}

    def for_url(self, scheme: str, hostname: str, port: int | None) -> dict[str, str]:
        if not self._proxies:
            return {}
        key = (scheme, f"{hostname}:{port}")
        chosen = self._by_host.get(key)
        if chosen is None:
            chosen = {} if self._bypassed(hostname, port) else self._proxies
            self._by_host[key] = chosen
        return chosen

    def _bypassed(self, hostname: str, port: int | None) -> bool:
        if not self._no_proxy:
            return False
        if is_ipv4_address(hostname):
            for entry in self._no_proxy.replace(" ", "").split(","):
                if is_valid_cidr(entry) and address_in_network(hostname, entry):
                    return True
        return bool(proxy_bypass_environment(f"{hostname}:{port}" if port else hostname, {"no": self._no_proxy}))
