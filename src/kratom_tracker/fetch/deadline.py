"""An overall deadline for each HTTP exchange, on top of requests' connect and read timeouts.

A read timeout bounds each wait for bytes, not the exchange: a server that sends one byte a second (in
the status line, the headers or the body) never trips a 1 s read timeout and would hold a worker for as
long as it likes. So every exchange made under `Limit(timeout)` is watched: one daemon thread for the
process keeps the deadlines in a heap and, when one passes, shuts the exchange's socket down; the reading
thread then sees the connection end, and the client reports a timeout (`Limit.expired`), also for a
close-delimited body that would otherwise look complete.

The deadline runs from the moment the request is handed to the connection (for a new plain-HTTP
connection that includes connecting; the connect timeout bounds a TLS handshake before it). Each
exchange of a fetch — a retry, a redirect — gets the full timeout, as each attempt did under libcurl.
Connections come from the pool classes below (`POOL_CLASSES`, installed by the client's adapter); SOCKS
proxies use urllib3's own classes and only have the read timeout."""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


@dataclass(eq=False)
class _Exchange:
    sock: Any  # socket.socket, ssl.SSLSocket or urllib3's SSLTransport
    deadline: float
    active: bool = True
    expired: bool = False

    def expire(self) -> None:
        """Called by the watchdog with its lock held: ends the connection under the reading thread."""
        self.expired = True
        try:
            if isinstance(self.sock, socket.socket):
                # The plain socket's shutdown even for an SSLSocket: SSLSocket.shutdown would also drop
                # the TLS object the reading thread is using.
                socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
            else:
                self.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError, TypeError, ValueError):
            pass  # already closed: nothing left to stop


class _Watchdog:
    """One thread for the process; a finished exchange stays in the heap until its deadline (lazy
    deletion: finishing is one flag set under the lock, a couple of microseconds per request)."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self._heap: list[tuple[float, int, _Exchange]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, exchange: _Exchange) -> None:
        with self.lock:
            heapq.heappush(self._heap, (exchange.deadline, next(self._order), exchange))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kt-fetch-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is exchange:
                self.lock.notify()  # sooner than what the thread sleeps towards

    def finish(self, exchange: _Exchange | None) -> None:
        if exchange is not None and exchange.active:
            with self.lock:
                exchange.active = False
                exchange.sock = None  # nothing of the connection stays referenced until the deadline

    def _run(self) -> None:
        with self.lock:
            while True:
                if not self._heap:
                    self.lock.wait()
                    continue
                deadline, _, exchange = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self.lock.wait(wait)
                    continue
                heapq.heappop(self._heap)
                if exchange.active:
                    exchange.expire()


    def cut_all(self) -> None:
        """Ends every exchange in flight now (a stopping daemon must not wait out a hung host)."""
        with self.lock:
            for _, _, exchange in self._heap:
                if exchange.active:
                    exchange.expire()


_WATCHDOG = _Watchdog()


def cut_all() -> None:
    _WATCHDOG.cut_all()
_local = threading.local()  # .timeout: the limit of this thread's fetch; .exchange: its latest exchange


class Limit:
    """`with Limit(timeout) as limit:` exchanges this thread makes inside the block are cut `timeout`
    seconds after their request; `limit.expired` tells whether the latest one was. (A class rather than
    a @contextmanager: it is entered for every request.)"""

    __slots__ = ("timeout", "aborted", "_previous", "_previous_aborted")

    def __init__(self, timeout: float, aborted: threading.Event | None = None) -> None:
        self.timeout = timeout
        self.aborted = aborted  # once set, no new request starts under this limit (`Aborted`)
        self._previous: float | None = None
        self._previous_aborted: threading.Event | None = None

    def __enter__(self) -> Limit:
        self._previous = getattr(_local, "timeout", None)
        self._previous_aborted = getattr(_local, "aborted", None)
        _local.timeout, _local.exchange, _local.aborted = self.timeout, None, self.aborted
        return self

    def __exit__(self, *exc: object) -> None:
        _WATCHDOG.finish(_local.exchange)
        _local.timeout, _local.aborted = self._previous, self._previous_aborted

    @property
    def expired(self) -> bool:
        exchange = getattr(_local, "exchange", None)
        return exchange is not None and exchange.expired


class Aborted(Exception):
    """Raised instead of starting (or retrying) a request after the fetcher was told to stop. Not an
    OSError or HTTPException, so urllib3 does not retry it."""


def _check_aborted() -> None:
    aborted = getattr(_local, "aborted", None)
    if aborted is not None and aborted.is_set():
        raise Aborted


class _DeadlineMixin:
    """For urllib3's HTTP(S)Connection: starts the clock in `request`, arms the watchdog in `getresponse`
    (the first moment the socket surely exists; the body is read after it returns, still watched).

    One window is left: urllib3 puts a connection back in the pool inside the read that ends its body,
    a moment before the fetch finishes the exchange. Should that exchange's deadline pass in those
    microseconds while another fetch has taken the connection and not yet sent on it, that request
    fails as on a dropped kept-alive connection (urllib3 retries it if the budget allows)."""

    _requested_at = 0.0
    _exchange: _Exchange | None = None

    def request(self, *args: Any, **kwargs: Any) -> None:
        # A new exchange on this connection (a kept-alive one reused by another fetch) or on this thread
        # (a retry, a redirect): the previous one is over and must never be cut later.
        _WATCHDOG.finish(self._exchange)
        _WATCHDOG.finish(getattr(_local, "exchange", None))
        self._exchange = None
        _check_aborted()
        self._requested_at = time.monotonic()
        super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self) -> Any:
        timeout = getattr(_local, "timeout", None)
        sock = getattr(self, "sock", None)
        if timeout is None or sock is None:
            return super().getresponse()  # type: ignore[misc]
        exchange = self._exchange = _local.exchange = _Exchange(sock, self._requested_at + timeout)
        _WATCHDOG.watch(exchange)
        try:
            return super().getresponse()  # type: ignore[misc]
        except Exception as exc:
            if exchange.expired:
                _check_aborted()  # cut by a stop: not a timeout, and not to be retried
                # urllib3 counts (and retries) this as the read timeout it is
                raise TimeoutError(f"no complete answer within {timeout:g} s") from exc
            raise


class DeadlineHTTPConnection(_DeadlineMixin, HTTPConnection):
    pass


class DeadlineHTTPSConnection(_DeadlineMixin, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = DeadlineHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = DeadlineHTTPSConnection


POOL_CLASSES: dict[str, type[HTTPConnectionPool]] = {"http": _HTTPPool, "https": _HTTPSPool}
