"""Shared test harness: a local HTTP server on 127.0.0.1 whose pages tests change between runs, the
recorded real documents of ../shared/fixtures/real/, and helpers to write a sources.yaml and run the
command line in-process. No test touches the network."""

from __future__ import annotations

import email.utils
import hashlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Every test validates sources.yaml for real: no cache of validated configurations.
os.environ["KRATOM_TRACKER_CACHE"] = ""
FIXTURES = Path(os.environ.get("KRATOM_TRACKER_FIXTURES", REPO.parent / "shared" / "fixtures" / "real"))


def fixture_path(name: str) -> Path:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"recorded fixture {name} not found in {FIXTURES}")
    return path


def fixture_bytes(name: str) -> bytes:
    return fixture_path(name).read_bytes()


def excerpt_text(name: str) -> str:
    """The body of an _EXCERPT.txt fixture without its provenance header (up to the first blank line
    after a line of dashes or '---', else the whole file)."""
    text = fixture_path(name).read_text(encoding="utf-8")
    for marker in ("\n---\n", "\n----", "\n===="):
        if marker in text[:1500]:
            head, _, rest = text.partition(marker)
            return rest.split("\n", 1)[1] if rest.startswith(("-", "=")) else rest
    return text


def html_page(body_html: str, title: str = "Test page", footer: str = "") -> bytes:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<nav><a href='/'>Home</a> <a href='/news'>News</a></nav><main>{body_html}</main>"
            f"<footer>{footer}</footer></body></html>").encode()


@dataclass
class Page:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Answer with an ETag and honour If-None-Match: True derives it from the body, a string is sent as
    # given (so a test can change the ETag while the bytes stay the same, as a "touch" on a server does).
    etag: bool | str = True
    last_modified: str | None = None  # a fixed Last-Modified; None means the time the body was set


class Site:
    """Pages by path; `requests` records (path, headers) of every request received."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, body: bytes | str, **kwargs) -> Page:
        if isinstance(body, str):
            body = body.encode("utf-8")
        kwargs.setdefault("last_modified", email.utils.formatdate(time.time(), usegmt=True))
        page = Page(body=body, **kwargs)
        with self.lock:
            self.pages[path] = page
        return page

    def requests_to(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [headers for p, headers in self.requests if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0] if self.path.split("?")[0] in site.pages else self.path
                with site.lock:
                    site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                    page = site.pages.get(path) or site.pages.get(self.path)
                if page is None:
                    self._send(404, b"not found", "text/plain", {})
                    return
                if page.delay:
                    time.sleep(page.delay)
                headers = dict(page.headers)
                etag = page.etag if isinstance(page.etag, str) else (
                    '"' + hashlib.sha1(page.body).hexdigest()[:16] + '"' if page.etag else None)
                if etag:
                    headers["ETag"] = etag
                if page.last_modified:
                    headers["Last-Modified"] = page.last_modified
                if page.status == 200 and etag and self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", None, headers)
                    return
                self._send(page.status, page.body, page.content_type, headers)

            def _send(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str]) -> None:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)) if status != 304 else "0")
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

        return Handler


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site()
    server.set("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    yield server
    server.close()


def write_sources(tmp_path: Path, body: str, name: str = "sources.yaml") -> Path:
    """A sources.yaml with fast politeness defaults for tests, then the given `sources:` YAML."""
    path = tmp_path / name
    path.write_text(
        "politeness:\n  per_host_delay: 0s\n  per_host_concurrency: 4\nfetch:\n  retries: 0\n" + body,
        encoding="utf-8")
    return path


def run_cli(*args: str) -> int:
    from kratom_tracker.cli import main

    return main(list(args))


def collect(sources: Path, db: Path) -> int:
    """One quiet `collect` pass, in-process."""
    return run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet")


def stored_events(db: Path) -> list[dict]:
    """Every event row, oldest first, with `data` decoded."""
    import json
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("SELECT * FROM events ORDER BY id")]
    for row in rows:
        row["data"] = json.loads(row["data"]) if row["data"] else {}
    return rows


@contextmanager
def running_app(app) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free 127.0.0.1 port; yields its base URL."""
    import socket

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_CHROMIUM = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()
NO_CHROMIUM = "no chromium with chromedriver here (apt-get install chromium chromium-driver)"


@contextmanager
def headless_chromium() -> Iterator:
    """Debian's Chromium through selenium, with the flags this closed network needs and a fresh profile."""
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="kt-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 "--window-size=1280,1400", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory) -> Path:
    """The offline demo's database (baseline, Federal Register and Wikipedia changes), made once for the
    session: read it, or copy it before changing it."""
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("demo")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert run_cli("demo", "--db", str(folder / "tracker.db"), "--out", str(folder / "feeds")) == 0
    return folder / "tracker.db"
