"""A small static HTTP/1.1 server for the benchmark: keep-alive, Last-Modified and ETag from the file's
modification time and size (as nginx does), 304 for a matching If-None-Match or If-Modified-Since.

It is asyncio-based and serves from memory (re-reading a file only when its mtime or size changes), so
it costs both tools as little CPU as possible; it is shared by both, so it never favours one.

    python bench/server.py --root DIR [--port 0]    prints "PORT <n>" on stdout once listening"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path


class Files:
    """Files under `root`, cached by (mtime_ns, size); a stat per request notices every edit."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self._cache: dict[str, tuple[int, int, bytes, str, str, int]] = {}

    def lookup(self, target: str) -> tuple[bytes, str, str, int] | None:
        path = target.split("?", 1)[0]
        if ".." in path:
            return None
        full = os.path.join(self.root, path.lstrip("/"))
        try:
            st = os.stat(full)
        except OSError:
            return None
        cached = self._cache.get(path)
        if cached is None or cached[0] != st.st_mtime_ns or cached[1] != st.st_size:
            with open(full, "rb") as handle:
                body = handle.read()
            mtime = int(st.st_mtime)
            etag = f'"{mtime:x}-{st.st_size:x}"'
            cached = (st.st_mtime_ns, st.st_size, body, etag, formatdate(mtime, usegmt=True), mtime)
            self._cache[path] = cached
        return cached[2], cached[3], cached[4], cached[5]


def _not_modified(headers: dict[bytes, bytes], etag: str, mtime: int) -> bool:
    inm = headers.get(b"if-none-match")
    if inm is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        return etag in [tag.strip() for tag in inm.decode("latin-1").split(",")] or inm.strip() == b"*"
    ims = headers.get(b"if-modified-since")
    if ims is not None:
        try:
            return mtime <= int(parsedate_to_datetime(ims.decode("latin-1")).timestamp())
        except (TypeError, ValueError):
            return False
    return False


class HttpProtocol(asyncio.Protocol):
    files: Files

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 65536:
                    self.transport.close()
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4:]
            if not self.answer(head):
                self.transport.close()
                return

    def answer(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        try:
            method, target, version = lines[0].split(b" ", 2)
        except ValueError:
            return False
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        keep_alive = headers.get(b"connection", b"").lower() != b"close" and version == b"HTTP/1.1"
        found = self.files.lookup(target.decode("latin-1")) if method in (b"GET", b"HEAD") else None
        connection = b"keep-alive" if keep_alive else b"close"
        if found is None:
            body = b"not found\n"
            self.transport.write(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: "
                                 + str(len(body)).encode() + b"\r\nConnection: " + connection + b"\r\n\r\n"
                                 + (body if method == b"GET" else b""))
            return keep_alive
        body, etag, last_modified, mtime = found
        common = (f"ETag: {etag}\r\nLast-Modified: {last_modified}\r\n").encode() + b"Connection: " + connection
        if _not_modified(headers, etag, mtime):
            self.transport.write(b"HTTP/1.1 304 Not Modified\r\n" + common + b"\r\n\r\n")
        else:
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "
                                 + str(len(body)).encode() + b"\r\n" + common + b"\r\n\r\n"
                                 + (body if method == b"GET" else b""))
        return keep_alive


async def serve(root: Path, host: str, port: int) -> None:
    HttpProtocol.files = Files(root)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HttpProtocol, host, port, backlog=1024, reuse_address=True)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if not args.root.is_dir():
        print(f"--root {args.root} is not a directory", file=sys.stderr)
        return 2
    asyncio.run(serve(args.root, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
