"""Servers we do not control, misbehaving on purpose (tests/hostile_server.py on 127.0.0.1).

For every case: a good first answer sets the starting point; the hostile answer gives no event, no
traceback, the right fetch outcome in `fetches` and `sources`, and bounded memory (the time is bounded by
a 1 s timeout for the hang and drip cases and one retry in the sources.yaml below); then the good answer again is handled normally
(no false change) and a real edit after that is exactly one event."""

from __future__ import annotations

import sqlite3
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import html_page, run_cli
from hostile_server import (
    CLOSE,
    DRIP,
    GARBAGE,
    HANG,
    STALL,
    STREAM,
    TRUNCATE,
    HostileServer,
    Reply,
    closed_port,
    gzip_bomb,
    serve,
)

PAGE_TEXT = "<h1>Kratom rules</h1><p>Café: sale to persons under 21 is prohibited – “Section 5”.</p>"
GOOD_PAGE = html_page(PAGE_TEXT)
EDITED_PAGE = html_page(PAGE_TEXT.replace("under 21", "under 18"))
# Same text, other bytes: an unchanged body is skipped by its hash, so decoding cases need new bytes.
RESTYLED_PAGE = html_page(PAGE_TEXT.replace("<h1>", "<h1 class='title'>"))
MEMORY_CAP = 64 * 1024 * 1024  # Python heap peak during one hostile collect (the body cap is 10 MB)


def _rss(items: list[tuple[int, str]]) -> bytes:
    entries = "".join(f"<item><title>{title}</title><link>https://example.org/{n}</link><guid>id-{n}</guid>"
                      f"<pubDate>Tue, 0{n} Jun 2026 10:00:00 GMT</pubDate><description>{title} details"
                      "</description></item>" for n, title in items)
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Advisories</title>"
            f"<link>https://example.org/</link><description>d</description>{entries}</channel></rss>").encode()


GOOD_FEED = _rss([(2, "Kratom advisory two"), (1, "Kratom advisory one")])
EDITED_FEED = _rss([(3, "Kratom advisory three"), (2, "Kratom advisory two"), (1, "Kratom advisory one")])


@dataclass(frozen=True)
class Case:
    name: str
    serve: Callable[[HostileServer], None]  # sets the hostile answers
    outcome: str  # what `fetches` and `sources.last_outcome` must say
    http_status: int | None = None
    requests: int | None = None  # how many requests the hostile answer should have cost (retries)
    feed: bool = False
    refused: bool = False  # point the source at a port nothing listens on


def page(*replies: Reply) -> Callable[[HostileServer], None]:
    return lambda server: server.set("/doc", *replies)


def html(body: bytes, **kwargs) -> Reply:
    return Reply(body=body, **kwargs)


def _robots(*replies: Reply) -> Callable[[HostileServer], None]:
    return lambda server: server.set("/robots.txt", *replies)


def _redirect_loop(server: HostileServer) -> None:
    server.set("/doc", Reply(status=302, headers=(("Location", "/loop"),)))
    server.set("/loop", Reply(status=302, headers=(("Location", "/doc"),)))


def _moved(server: HostileServer) -> None:
    server.set("/doc", Reply(status=301, headers=(("Location", "/new-home"),)))
    server.set("/new-home", Reply(body=GOOD_PAGE))


_ERROR_PAGE = b"<html><body><h1>Service temporarily unavailable</h1><p>Try later.</p></body></html>"
_CP1252_PAGE = ("<!doctype html><html><head><title>Test page</title></head><body><nav><a href='/'>Home</a> "
                "<a href='/news'>News</a></nav><main>" + PAGE_TEXT + "</main><footer></footer></body>"
                "</html>").encode("cp1252")
_TITLE_SWALLOWS_ALL = (b"<html><head><title>x</head><body><nav><a href='/'>Home</a> <a href='/news'>News</nav>"
                   b"<main><h1>Kratom rules</h2><p>" + "Café: sale to persons under 21 is prohibited – “Section 5”."
                   .encode() + b"<div><table><tr><td></main></body>")
_MALFORMED_PAGE = (b"<html><body><nav><a href='/'>Home</a> <a href='/news'>News</nav><main><h1>Kratom rules</h2>"
                   b"<p>" + "Café: sale to persons under 21 is prohibited – “Section 5”.".encode()
                   + b"<div><table><tr><td></main></i></b></body></html></html>")
_SIXTY_MB = 50 * 1024 * 1024

CASES = [
    Case("connection-refused", page(html(GOOD_PAGE)), "connection-error", refused=True),
    Case("accept-then-hang", page(Reply(mode=HANG)), "timeout", requests=2),
    Case("close-without-answer", page(Reply(mode=CLOSE)), "connection-error", requests=2),
    Case("not-http-at-all", page(Reply(mode=GARBAGE)), "http-error"),
    Case("slow-drip-1-byte-per-second", page(html(GOOD_PAGE, mode=DRIP)), "timeout", requests=2),
    Case("timeout-mid-body", page(html(GOOD_PAGE, mode=STALL)), "timeout", requests=2),
    Case("500", page(html(_ERROR_PAGE, status=500)), "http-error", 500, requests=2),
    Case("502", page(html(_ERROR_PAGE, status=502)), "http-error", 502, requests=2),
    Case("503-without-retry-after", page(html(_ERROR_PAGE, status=503)), "http-error", 503, requests=2),
    Case("503-with-retry-after", page(html(_ERROR_PAGE, status=503, headers=(("Retry-After", "1"),))),
         "http-error", 503, requests=2),
    Case("503-retry-after-an-hour-is-capped",
         page(html(_ERROR_PAGE, status=503, headers=(("Retry-After", "3600"),))), "http-error", 503, requests=2),
    Case("503-retry-after-http-date",
         page(html(_ERROR_PAGE, status=503, headers=(("Retry-After", "Wed, 21 Oct 2099 07:28:00 GMT"),))),
         "http-error", 503, requests=2),
    Case("429-with-retry-after", page(html(b"slow down", status=429, headers=(("Retry-After", "1"),))),
         "http-error", 429, requests=2),
    Case("503-then-200-within-the-retry", page(html(_ERROR_PAGE, status=503), html(GOOD_PAGE)),
         "unchanged", requests=2),
    Case("404-then-200-again", page(html(b"gone", status=404), html(GOOD_PAGE)), "http-error", 404, requests=1),
    Case("200-with-an-error-page", page(html(_ERROR_PAGE)), "selector-missing"),
    Case("empty-200", page(html(b"")), "empty"),
    Case("whitespace-only-200", page(html(b" \r\n\t \n")), "empty"),
    Case("truncated-body", page(html(GOOD_PAGE, mode=TRUNCATE)), "connection-error", requests=2),
    Case("wrong-charset-header", page(html(RESTYLED_PAGE, content_type="text/html; charset=iso-8859-1")),
         "unchanged"),
    Case("unknown-charset-header", page(html(RESTYLED_PAGE, content_type="text/html; charset=x-klingon")),
         "unchanged"),
    Case("no-charset-non-utf8-body", page(html(_CP1252_PAGE, content_type="text/html")), "unchanged"),
    Case("gzip-bomb", page(html(gzip_bomb(), headers=(("Content-Encoding", "gzip"),))), "too-large"),
    Case("50-mb-body-with-content-length", page(html(b"", content_length=_SIXTY_MB)), "too-large"),
    Case("50-mb-body-streamed", page(Reply(mode=STREAM, stream_bytes=_SIXTY_MB, content_length=None)),
         "too-large"),
    Case("redirect-loop", _redirect_loop, "http-error"),
    Case("redirect-to-file-url", page(Reply(status=302, headers=(("Location", "file:///etc/passwd"),))),
         "http-error"),
    Case("redirect-to-a-good-page", _moved, "unchanged"),
    Case("robots-disallows", _robots(html(b"User-agent: *\nDisallow: /doc\n", content_type="text/plain")),
         "robots-denied", requests=0),
    Case("robots-500", _robots(html(b"oops", status=500, content_type="text/plain")), "robots-denied",
         requests=0),
    Case("robots-hangs", _robots(Reply(mode=HANG)), "unchanged"),
    Case("html-as-octet-stream", page(html(RESTYLED_PAGE, content_type="application/octet-stream")), "unchanged"),
    Case("malformed-html", page(html(_MALFORMED_PAGE)), "unchanged"),
    Case("unclosed-title-swallows-the-page", page(html(_TITLE_SWALLOWS_ALL)), "selector-missing"),
    Case("cp1252-declared-as-latin-1", page(html(_CP1252_PAGE, content_type="text/html; charset=iso-8859-1")),
         "unchanged"),
    Case("nul-bytes-in-html", page(html(RESTYLED_PAGE.replace(b"<footer>", b"<footer>\x00\x00"))),
         "parse-error"),
    Case("binary-as-html", page(html(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40)),
         "parse-error"),
    Case("malformed-xml-feed", page(html(GOOD_FEED[: len(GOOD_FEED) - 90], content_type="application/rss+xml")),
         "parse-error", feed=True),
    Case("feed-items-all-vanish", page(html(_rss([]), content_type="application/rss+xml")), "empty", feed=True),
    Case("html-error-page-instead-of-feed", page(html(_ERROR_PAGE)), "parse-error", feed=True),
    Case("feed-as-octet-stream", page(html(GOOD_FEED.replace(b"<channel>", b"<channel> "),
                                           content_type="application/octet-stream")), "unchanged",
         feed=True),
]
FAILED = {"connection-error", "timeout", "http-error", "selector-missing", "empty", "too-large",
          "robots-denied", "parse-error"}


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    yield from serve()


def _write_sources(path: Path, url: str, feed: bool, timeout: str = "5s") -> None:
    """Good answers get a roomy timeout (a loaded CI machine must not turn them into failures); the
    hostile step of a hang or drip case gets 1 s, so its time stays bounded."""
    kind = "type: feed\n    match: \"(?i)kratom\"" if feed else "type: page\n    select: main"
    path.write_text(f"""politeness:
  per_host_delay: 0s
fetch:
  retries: 1
  max_retry_wait: 1s
sources:
  - id: hostile
    {kind}
    url: {url}
    jurisdiction: US
    timeout: {timeout}
""", encoding="utf-8")


def _collect(sources: Path, db: Path, capsys) -> str:
    code = run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet")
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output
    assert code in (0, 1), output  # 1: the only source failed this time ("nothing could run")
    return output


def _db(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def _last(db: Path) -> tuple:
    return _db(db, "SELECT last_outcome, last_http_status, consecutive_failures FROM sources")[0]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_server_case(hostile, tmp_path, capsys, case):
    good, edited = (GOOD_FEED, EDITED_FEED) if case.feed else (GOOD_PAGE, EDITED_PAGE)
    content_type = "application/rss+xml" if case.feed else "text/html; charset=utf-8"
    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _write_sources(sources, hostile.url("/doc"), case.feed)
    hostile.set("/doc", Reply(body=good, content_type=content_type))
    _collect(sources, db, capsys)
    assert _last(db)[0] == "initial", _db(db, "SELECT outcome, error FROM fetches")

    case.serve(hostile)
    short = "1s" if case.outcome == "timeout" or "hang" in case.name else "5s"
    url = f"http://127.0.0.1:{closed_port()}/doc" if case.refused else hostile.url("/doc")
    _write_sources(sources, url, case.feed, timeout=short)
    before = len(hostile.requests_to("/doc"))
    tracemalloc.start()
    try:
        _collect(sources, db, capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_CAP
    assert _db(db, "SELECT COUNT(*) FROM events") == [(0,)]
    outcome, status, failures = _last(db)
    assert outcome == case.outcome, _db(db, "SELECT outcome, error FROM fetches")
    assert _db(db, "SELECT outcome FROM fetches ORDER BY id DESC LIMIT 1") == [(case.outcome,)]
    assert failures == (1 if case.outcome in FAILED else 0)
    if case.http_status is not None:
        assert status == case.http_status
    if case.requests is not None:
        assert len(hostile.requests_to("/doc")) - before == case.requests
    assert _db(db, "SELECT COUNT(*) FROM snapshots") == [(1,)]  # nothing hostile was kept

    # The good answer again: handled normally, no false change.
    _write_sources(sources, hostile.url("/doc"), case.feed)
    hostile.set("/robots.txt", Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
    hostile.set("/doc", Reply(body=good, content_type=content_type))
    _collect(sources, db, capsys)
    assert _last(db)[0] == "unchanged", _db(db, "SELECT outcome, error FROM fetches")
    assert _db(db, "SELECT COUNT(*) FROM events") == [(0,)]

    # And a real edit after the trouble is exactly one event.
    hostile.set("/doc", Reply(body=edited, content_type=content_type))
    _collect(sources, db, capsys)
    assert _last(db)[0] == "changed"
    assert _db(db, "SELECT COUNT(*) FROM events") == [(1,)]


def test_redirect_to_file_url_never_reads_the_file(hostile, tmp_path, capsys):
    secret = tmp_path / "secret.html"
    secret.write_text("<main>top secret local file</main>", encoding="utf-8")
    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _write_sources(sources, hostile.url("/doc"), feed=False)
    hostile.set("/doc", Reply(status=302, headers=(("Location", secret.as_uri()),)))
    _collect(sources, db, capsys)
    assert _last(db)[0] == "http-error"
    assert _db(db, "SELECT COUNT(*) FROM snapshots") == [(0,)]
    error = _db(db, "SELECT last_error FROM sources")[0][0]
    assert "top secret" not in (error or "")


def test_the_corpus_has_at_least_twenty_cases():
    assert len(CASES) >= 20
    assert len({c.name for c in CASES}) == len(CASES)


def test_two_passes_at_once_write_a_change_once(hostile, tmp_path, capsys):
    """Two collects that both read the state before either wrote (two processes on one database): the
    second settles against what the first stored, so the change is one event, not two."""
    from kratom_tracker.config.loader import load
    from kratom_tracker.engine.pipeline import commit, fetch_and_extract
    from kratom_tracker.fetch.client import Fetcher
    from kratom_tracker.store import SourceState, Store

    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _write_sources(sources, hostile.url("/doc"), feed=False)
    hostile.set("/doc", Reply(body=GOOD_PAGE))
    _collect(sources, db, capsys)
    hostile.set("/doc", Reply(body=EDITED_PAGE))
    config = load(sources)
    source = config.sources[0]
    fetcher = Fetcher.from_config(config)
    with Store(db) as first, Store(db) as second:
        stale = first.source_states()[source.id]
        fetched = [fetch_and_extract(source, stale, fetcher) for _ in range(2)]
        assert commit(first, fetched[0], stale)[1] != []
        assert commit(second, fetched[1], SourceState(**vars(stale)))[1] == []
    fetcher.close()
    assert _db(db, "SELECT COUNT(*) FROM events") == [(1,)]
    assert _db(db, "SELECT outcome FROM fetches ORDER BY id DESC LIMIT 2") == [("unchanged",), ("changed",)]
