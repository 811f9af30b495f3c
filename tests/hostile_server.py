"""A raw-socket HTTP server on 127.0.0.1 that misbehaves on demand, for the hostile-server tests and
the crash-safety script.

`http.server` always writes well-formed answers; a hostile server does not: it hangs after accepting,
drips one byte a second, promises more bytes than it sends, stalls mid-body, sends a gzip bomb or an
endless body. Each path answers with a queue of `Reply` values (the last one repeats), so "404, then 200
again" or "503, then 200" are one `set` call. Nothing here ever listens on or connects to anything but
127.0.0.1."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

# How a reply misbehaves on the wire.
NORMAL = "normal"  # a well-formed answer (whatever its status, headers and body say)
HANG = "hang"  # accept the connection, never answer
CLOSE = "close"  # read the request, close without a byte of answer
DRIP = "drip"  # headers, then the body one byte every `drip_interval` seconds
STALL = "stall"  # headers and the first half of the body, then silence
TRUNCATE = "truncate"  # Content-Length says the whole body; half is sent, then the connection closes
STREAM = "stream"  # `stream_bytes` of filler with no Content-Length (ends when the connection closes)
GARBAGE = "garbage"  # bytes that are not HTTP at all
RAW = "raw"  # `body` is the whole answer, status line and headers included, sent as is; then close
CHUNKED = "chunked"  # the body in chunks of `chunk_size` (plus `headers`); `cut` ends it without the 0-chunk

_HANG_LIMIT = 30.0  # a hung handler gives up after this long, so a forgotten test never leaks a thread


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    mode: str = NORMAL
    content_length: int | None = -1  # -1: the body's length; None: no header; else this number
    drip_interval: float = 1.0
    stream_bytes: int = 0
    chunk_size: int = 16
    cut: bool = False  # CHUNKED: close before the terminating chunk


@dataclass
class Request:
    path: str
    headers: dict[str, str] = field(default_factory=dict)


class HostileServer:
    """`set(path, *replies)`; `url(path)`; `requests_to(path)`; `close()`."""

    def __init__(self) -> None:
        self._replies: dict[str, list[Reply]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                server._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.set("/robots.txt", Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, *replies: Reply) -> None:
        """Answer `path` with these replies in turn; the last one keeps answering."""
        with self._lock:
            self._replies[path] = list(replies)

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self._stopping.set()  # wakes every hanging handler
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one connection ------------------------------------------------------------------------------

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            queue = self._replies.get(path)
            if not queue:
                return Reply(status=404, body=b"not found", content_type="text/plain")
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _handle(self, sock: socket.socket) -> None:
        sock.settimeout(5)
        try:
            request = _read_request(sock)
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
            reply = self._next_reply(request.path.split("?")[0])
            self._answer(sock, reply)
        except OSError:
            pass  # the client gave up first: that is what most of these cases are about

    def _answer(self, sock: socket.socket, reply: Reply) -> None:
        if reply.mode == HANG:
            self._stopping.wait(_HANG_LIMIT)
            return
        if reply.mode == CLOSE:
            return
        if reply.mode == GARBAGE:
            sock.sendall(reply.body or b"\x00\xff garbage, not HTTP \x00\r\n\r\n")
            return
        if reply.mode == RAW:
            sock.sendall(reply.body)
            return
        body = reply.body
        if reply.mode == CHUNKED:
            sock.sendall(_head(reply, len(body)) + b"".join(
                b"%x\r\n%s\r\n" % (len(body[i:i + reply.chunk_size]), body[i:i + reply.chunk_size])
                for i in range(0, len(body), reply.chunk_size)) + (b"" if reply.cut else b"0\r\n\r\n"))
            return
        head = _head(reply, len(body))
        if reply.mode == NORMAL:
            sock.sendall(head + body)
        elif reply.mode == TRUNCATE:
            sock.sendall(head + body[: len(body) // 2])
        elif reply.mode == STALL:
            sock.sendall(head + body[: len(body) // 2])
            self._stopping.wait(_HANG_LIMIT)
        elif reply.mode == DRIP:
            sock.sendall(head)
            for index in range(len(body)):
                if self._stopping.wait(reply.drip_interval):
                    return
                sock.sendall(body[index:index + 1])
        elif reply.mode == STREAM:
            sock.sendall(head)
            chunk = b"<p>" + b"x" * 65_530 + b"</p>\n"
            sent = 0
            while sent < reply.stream_bytes and not self._stopping.is_set():
                sock.sendall(chunk)
                sent += len(chunk)
        else:  # pragma: no cover - a typo in a test
            raise ValueError(f"unknown mode {reply.mode!r}")


def _read_request(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 1_000_000:
            return None
    head = data.split(b"\r\n\r\n", 1)[0].decode("iso-8859-1")
    request_line, *header_lines = head.split("\r\n")
    parts = request_line.split(" ")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Request(path=parts[1] if len(parts) > 1 else "/", headers=headers)


_REASONS = {200: "OK", 204: "No Content", 206: "Partial Content", 300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 304: "Not Modified", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def _head(reply: Reply, body_length: int) -> bytes:
    lines = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Whatever')}", "Connection: close"]
    if reply.content_type is not None:
        lines.append(f"Content-Type: {reply.content_type}")
    if reply.mode == CHUNKED:
        lines.append("Transfer-Encoding: chunked")
    if reply.content_length == -1 and reply.mode not in (STREAM, CHUNKED):
        lines.append(f"Content-Length: {body_length}")
    elif reply.content_length is not None and reply.content_length >= 0:
        lines.append(f"Content-Length: {reply.content_length}")
    lines += [f"{name}: {value}" for name, value in reply.headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1")


# -- ready-made hostile bodies ---------------------------------------------------------------------------


@lru_cache(maxsize=4)
def gzip_bomb(expanded_bytes: int = 200 * 1024 * 1024) -> bytes:
    """A gzip stream of `expanded_bytes` zeros: about a thousandth of that on the wire."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    block = b"\0" * (1024 * 1024)
    parts = []
    for _ in range(expanded_bytes // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    return b"".join(parts)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve() -> Iterator[HostileServer]:
    """For a pytest fixture: `yield from serve()`."""
    server = HostileServer()
    try:
        yield server
    finally:
        server.close()


def wait_for(predicate, timeout: float = 5.0) -> bool:
    """Poll `predicate` until it holds or `timeout` passes (for the crash script, not assertions on time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
