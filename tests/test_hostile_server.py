"""Servers we do not control, misbehaving on purpose (tests/hostile_server.py on 127.0.0.1).

For every case: a good first answer sets the starting point; the hostile answer gives no event, no
traceback, the right fetch outcome in `fetches` and `sources`, and bounded memory (the time is bounded by
a 1 s timeout for the hang and drip cases and one retry in the sources.yaml below); then the good answer again is handled normally
(no false change) and a real edit after that is exactly one event."""

from __future__ import annotations

import sqlite3
import time
import tracemalloc
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import html_page, run_cli
from hostile_server import (
    CHUNKED,
    CLOSE,
    DRIP,
    GARBAGE,
    HANG,
    RAW,
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
    error: str = ""  # words `sources.last_error` must contain


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

# -- the second reliability round: each of these gave a false change (or a traceback) before ----------------
EDITED_CUT = EDITED_PAGE[: len(EDITED_PAGE) * 2 // 3]  # an edit cut short: what a false change is made of


def _looks_same(transform: Callable[[str], str]) -> Reply:
    """The good page with a difference no reader can see."""
    return html(html_page(transform(PAGE_TEXT)))


def _redirect_to(location: str | Callable[[HostileServer], str]) -> Callable[[HostileServer], None]:
    def serve_it(server: HostileServer) -> None:
        target = location(server) if callable(location) else location
        server.set("/doc", Reply(status=302, headers=(("Location", target),)))
        server.set("/elsewhere", html(EDITED_PAGE))

    return serve_it


def _zero_host(server: HostileServer) -> str:
    return server.base.replace("127.0.0.1", "0.0.0.0") + "/elsewhere"


def _raw(head: bytes, body: bytes = EDITED_PAGE) -> Reply:
    return Reply(mode=RAW, body=head + b"\r\n\r\n" + body)


CASES += [
    # framing: only a complete, final 2xx is a document
    Case("chunked-cut-by-a-clean-close", page(Reply(mode=CHUNKED, body=EDITED_PAGE, cut=True)), "connection-error",
         requests=2),
    Case("chunked-and-content-length-at-once", page(Reply(mode=CHUNKED, body=EDITED_PAGE, content_length=40)),
         "http-error"),
    Case("no-length-body-cut-by-a-clean-close", page(html(EDITED_CUT, content_length=None)), "unconfirmed"),
    Case("http-1.0-body-ended-by-close", page(_raw(b"HTTP/1.0 200 OK\r\nContent-Type: text/html", EDITED_CUT)),
         "unconfirmed"),
    Case("content-length-larger-than-body", page(html(EDITED_PAGE, content_length=len(EDITED_PAGE) + 500)),
         "connection-error", requests=2),
    Case("two-content-lengths", page(html(EDITED_PAGE, headers=(("Content-Length", "12"),))), "connection-error"),
    Case("302-without-location", page(html(EDITED_PAGE, status=302)), "http-error", 302),
    Case("300-multiple-choices", page(html(EDITED_PAGE, status=300, headers=(("Location", "/elsewhere"),))),
         "http-error", 300),
    Case("206-partial-content", page(html(EDITED_CUT, status=206)), "http-error", 206),
    Case("204-no-content", page(html(b"", status=204, content_length=None)), "http-error", 204),
    Case("304-to-an-unconditional-request", page(html(b"", status=304, content_length=None)), "http-error", 304),
    Case("bad-chunk-size", page(_raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", b"zz\r\nabc\r\n0\r\n\r\n")),
         "connection-error"),
    # redirects: never to the network the tracker runs in, never past another host's robots.txt
    Case("redirect-to-link-local-metadata", _redirect_to("http://169.254.169.254/latest/meta-data/"), "http-error",
         error="redirect to a link-local address refused"),
    Case("redirect-to-private-10-net", _redirect_to("http://10.0.0.1/admin"), "http-error",
         error="redirect to a private address refused"),
    Case("redirect-to-private-192-168", _redirect_to("http://192.168.1.1/"), "http-error",
         error="redirect to a private address refused"),
    Case("redirect-to-cgnat-shared-space", _redirect_to("http://100.64.0.1/"), "http-error",
         error="redirect to a private address refused"),
    Case("redirect-to-ipv6-link-local", _redirect_to("http://[fe80::1]/"), "http-error",
         error="redirect to a link-local address refused"),
    Case("redirect-to-0.0.0.0-reaches-localhost", _redirect_to(_zero_host), "http-error",
         error="redirect to a private address refused"),
    Case("redirect-to-a-bad-port", _redirect_to("http://127.0.0.1:99999/elsewhere"), "http-error"),
    Case("redirect-to-javascript", _redirect_to("javascript:alert(1)"), "http-error", error="not an http(s) URL"),
    # differences nobody can see are not changes
    Case("nfd-instead-of-nfc", page(_looks_same(lambda t: unicodedata.normalize("NFD", t))), "unchanged"),
    Case("zero-width-spaces", page(_looks_same(lambda t: t.replace("persons", "per\u200bsons"))), "unchanged"),
    Case("zero-width-joiners", page(_looks_same(lambda t: t.replace("Kratom", "Kra\u200dto\u200cm"))), "unchanged"),
    Case("soft-hyphens", page(_looks_same(lambda t: t.replace("prohibited", "pro\u00adhib\u00adited"))),
         "unchanged"),
    Case("byte-order-marks-inside-the-text", page(_looks_same(lambda t: t.replace("<p>", "<p>\ufeff"))),
         "unchanged"),
    Case("full-width-digits", page(_looks_same(lambda t: t.replace("21", "\uff12\uff11"))), "unchanged"),
    Case("bidi-marks", page(_looks_same(lambda t: t.replace("“Section", "\u200e“\u202aSection\u202c"))),
         "unchanged"),
    Case("word-joiner", page(_looks_same(lambda t: t.replace("Section 5", "Section \u20605"))), "unchanged"),
    Case("feed-title-with-zero-width-space",
         page(html(GOOD_FEED.replace(b"advisory two", "advisory\u200b two".encode()),
                   content_type="application/rss+xml")), "unchanged", feed=True),
    # most items gone at once is something to confirm, not a withdrawal
    Case("feed-lists-only-its-oldest-item", page(html(_rss([(1, "Kratom advisory one")]),
                                                      content_type="application/rss+xml")),
         "unconfirmed", feed=True),
    Case("feed-cut-to-its-oldest-item-by-a-clean-close",
         page(html(_rss([(1, "Kratom advisory one")]), content_type="application/rss+xml", content_length=None)),
         "unconfirmed", feed=True),
]
FAILED = {"connection-error", "timeout", "http-error", "selector-missing", "empty", "too-large",
          "robots-denied", "parse-error", "internal-error"}


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
    if case.error:
        assert case.error in (_db(db, "SELECT last_error FROM sources")[0][0] or "")
    if case.requests is not None:
        assert len(hostile.requests_to("/doc")) - before == case.requests
    # nothing hostile was kept (an unconfirmed version is only remembered, to be recognised next time)
    assert _db(db, "SELECT COUNT(*) FROM snapshots WHERE reason != 'unconfirmed'") == [(1,)]

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


def test_the_corpus_has_at_least_seventy_cases():
    assert len(CASES) >= 70
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


# -- the second reliability round: cases that need more than one answer or one host -----------------------


def _two_sources(path: Path, first: str, second: str, feed: bool = False, timeout: str = "5s") -> None:
    kind = "type: feed" if feed else "type: page\n    select: main"
    path.write_text(f"""politeness:
  per_host_delay: 0s
fetch:
  retries: 0
sources:
  - id: hostile
    {kind}
    url: {first}
    jurisdiction: US
    timeout: {timeout}
  - id: healthy
    type: page
    select: main
    url: {second}
    jurisdiction: US
""", encoding="utf-8")


def _outcomes(db: Path) -> dict[str, str]:
    return dict(_db(db, "SELECT id, last_outcome FROM sources"))


def _events(db: Path) -> list[tuple]:
    return _db(db, "SELECT source_id, title FROM events ORDER BY id")


@pytest.mark.parametrize("etag", ['"caf\u00c3\u00a9"', '"\u00e2\u0082\u00ac"', '"a\u0085b"', 'W/"' + "x" * 8000 + '"',
                                  '"tab\there"'])
def test_an_odd_etag_is_stored_and_the_next_pass_runs_every_source(hostile, tmp_path, capsys, etag):
    """Whatever validator a server sends (read as Latin-1 from its bytes), storing it and sending it back
    never fails the source or the pass."""
    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _two_sources(sources, hostile.url("/doc"), hostile.url("/ok"))
    hostile.set("/doc", html(GOOD_PAGE, headers=(("ETag", etag),)))
    hostile.set("/ok", html(GOOD_PAGE))
    for _ in range(2):
        _collect(sources, db, capsys)
    assert _outcomes(db) == {"hostile": "unchanged", "healthy": "unchanged"}
    hostile.set("/ok", html(EDITED_PAGE))
    _collect(sources, db, capsys)
    assert _outcomes(db)["healthy"] == "changed" and len(_events(db)) == 1


def test_a_stored_validator_that_cannot_be_sent_is_dropped_not_failed_forever(hostile, tmp_path, capsys):
    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _two_sources(sources, hostile.url("/doc"), hostile.url("/ok"))
    hostile.set("/doc", html(GOOD_PAGE))
    hostile.set("/ok", html(GOOD_PAGE))
    _collect(sources, db, capsys)
    with sqlite3.connect(db) as conn:  # e.g. written by an older version from a UTF-8-decoded header
        conn.execute("UPDATE sources SET etag = '\"\u20ac\u0100\"', last_modified = 'Tue,\r\nX: y'")
    hostile.set("/doc", html(EDITED_PAGE))
    _collect(sources, db, capsys)
    assert _outcomes(db) == {"hostile": "changed", "healthy": "unchanged"}
    request = hostile.requests_to("/doc")[-1]
    assert "if-none-match" not in request.headers and "x" not in request.headers


def test_an_extractor_crash_is_that_sources_outcome_and_the_others_run(hostile, tmp_path, capsys, monkeypatch):
    from kratom_tracker.extractors import get

    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _two_sources(sources, hostile.url("/doc"), hostile.url("/ok"), feed=True)
    hostile.set("/doc", html(GOOD_FEED, content_type="application/rss+xml"))
    hostile.set("/ok", html(GOOD_PAGE))
    _collect(sources, db, capsys)
    feed = type(get("feed"))

    def broken(self, source):
        raise OverflowError("timestamp out of range for platform time_t")

    monkeypatch.setattr(feed, "request_url", broken)  # raises in the fetch thread, outside extract()
    hostile.set("/ok", html(EDITED_PAGE))
    _collect(sources, db, capsys)
    assert _outcomes(db) == {"hostile": "internal-error", "healthy": "changed"}
    assert "OverflowError" in _db(db, "SELECT last_error FROM sources WHERE id = 'hostile'")[0][0]
    assert len(_events(db)) == 1


def test_a_crash_while_settling_one_source_keeps_the_batch(hostile, tmp_path, capsys, monkeypatch):
    import kratom_tracker.engine.pipeline as pipeline

    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _two_sources(sources, hostile.url("/doc"), hostile.url("/ok"))
    hostile.set("/doc", html(GOOD_PAGE))
    hostile.set("/ok", html(GOOD_PAGE))
    _collect(sources, db, capsys)
    real = pipeline.detect

    def detect(source, previous, current):
        if source.id == "hostile":
            raise ValueError("a bug this page found")
        return real(source, previous, current)

    monkeypatch.setattr(pipeline, "detect", detect)
    hostile.set("/doc", html(EDITED_PAGE))
    hostile.set("/ok", html(EDITED_PAGE))
    _collect(sources, db, capsys)
    assert _outcomes(db) == {"hostile": "internal-error", "healthy": "changed"}
    assert [source for source, _ in _events(db)] == ["healthy"]


def test_an_infinite_timeout_from_code_is_bounded_not_a_crash(hostile):
    from kratom_tracker.config.model import Politeness
    from kratom_tracker.fetch.client import Fetcher

    hostile.set("/doc", html(GOOD_PAGE))
    fetcher = Fetcher("t", Politeness(per_host_delay=0))
    try:
        for timeout in (float("inf"), float("nan"), 1e300, -1.0):
            assert fetcher.fetch(hostile.url("/doc"), timeout=timeout).outcome is None
    finally:
        fetcher.close()


def test_a_redirect_to_another_host_obeys_that_hosts_robots_txt(hostile, tmp_path, capsys):
    with HostileServer() as other:
        other.set("/robots.txt", html(b"User-agent: *\nDisallow: /\n", content_type="text/plain"))
        other.set("/elsewhere", html(EDITED_PAGE))
        sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
        _write_sources(sources, hostile.url("/doc"), feed=False)
        hostile.set("/doc", html(GOOD_PAGE))
        _collect(sources, db, capsys)
        hostile.set("/doc", Reply(status=302, headers=(("Location", other.url("/elsewhere")),)))
        _collect(sources, db, capsys)
        assert _last(db)[0] == "robots-denied"
        assert other.requests_to("/elsewhere") == [] and len(other.requests_to("/robots.txt")) == 1
        assert _db(db, "SELECT COUNT(*) FROM events") == [(0,)]


def test_a_redirect_to_another_host_records_the_final_url(hostile, tmp_path, capsys):
    with HostileServer() as other:
        other.set("/elsewhere", html(EDITED_PAGE))
        sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
        _write_sources(sources, hostile.url("/doc"), feed=False)
        hostile.set("/doc", html(GOOD_PAGE))
        _collect(sources, db, capsys)
        hostile.set("/doc", Reply(status=301, headers=(("Location", other.url("/elsewhere")),)))
        _collect(sources, db, capsys)
        # Followed (robots.txt of the other host read first) and recorded, but a page that now redirects
        # elsewhere is not the page watched: the outcome says `moved` and no event is written.
        assert _last(db)[0] == "moved"
        assert _db(db, "SELECT COUNT(*) FROM events") == [(0,)]
        assert _db(db, "SELECT final_url FROM fetches ORDER BY id DESC LIMIT 1") == [(other.url("/elsewhere"),)]
        assert len(other.requests_to("/robots.txt")) == 1  # its own robots.txt was read first


def test_a_redirect_chain_of_five_is_followed_and_a_sixth_refused(hostile, tmp_path, capsys):
    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _write_sources(sources, hostile.url("/doc"), feed=False)
    hostile.set("/doc", html(GOOD_PAGE))
    _collect(sources, db, capsys)
    for hop in range(6):
        hostile.set(f"/hop{hop}", Reply(status=302, headers=(("Location", f"/hop{hop + 1}"),)))
    hostile.set("/hop6", html(EDITED_PAGE))
    hostile.set("/doc", Reply(status=302, headers=(("Location", "/hop1"),)))  # 6 redirects in all
    _collect(sources, db, capsys)
    assert _last(db)[0] == "http-error" and _db(db, "SELECT COUNT(*) FROM events") == [(0,)]
    hostile.set("/doc", Reply(status=302, headers=(("Location", "/hop2"),)))  # 5 redirects
    _collect(sources, db, capsys)
    assert _last(db)[0] == "moved"  # followed to the end (not refused), and the end is another path
    assert _db(db, "SELECT final_url FROM fetches ORDER BY id DESC LIMIT 1") == [(hostile.url("/hop6"),)]


def _feed_of(count: int, scheme: str = "http", host: str = "example.org", slash: str = "") -> bytes:
    entries = "".join(f"<item><title>Kratom notice {n}</title><link>{scheme}://{host}/n/{n}{slash}</link>"
                      f"<guid>{scheme}://{host}/n/{n}{slash}</guid><description>Notice {n}</description></item>"
                      for n in range(count, 0, -1))
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><link>https://example.org/</link>"
            f"<description>d</description>{entries}</channel></rss>").encode()


def test_a_guid_scheme_or_host_spelling_change_is_not_a_change(hostile, tmp_path, capsys):
    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _write_sources(sources, hostile.url("/doc"), feed=True)
    hostile.set("/doc", html(_feed_of(20), content_type="application/rss+xml"))
    _collect(sources, db, capsys)
    for variant in (_feed_of(20, "https"), _feed_of(20, "https", "www.example.org", "/"),
                    _feed_of(20, "http", "EXAMPLE.org")):
        hostile.set("/doc", html(variant, content_type="application/rss+xml"))
        _collect(sources, db, capsys)
        assert _db(db, "SELECT COUNT(*) FROM events") == [(0,)]
    hostile.set("/doc", html(_feed_of(21, "https"), content_type="application/rss+xml"))
    _collect(sources, db, capsys)
    assert [t for _, t in _events(db)] == ["New: Kratom notice 21"]


def test_a_flood_of_items_is_capped_and_summed_up(hostile, tmp_path, capsys):
    from kratom_tracker.config.model import MAX_EVENTS_PER_SOURCE

    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _write_sources(sources, hostile.url("/doc"), feed=True)
    hostile.set("/doc", html(_feed_of(1), content_type="application/rss+xml"))
    _collect(sources, db, capsys)
    started = time.monotonic()
    hostile.set("/doc", html(_feed_of(3001), content_type="application/rss+xml"))
    _collect(sources, db, capsys)
    assert time.monotonic() - started < 60
    events = _db(db, "SELECT title, data FROM events ORDER BY id")
    assert len(events) == MAX_EVENTS_PER_SOURCE
    assert "2951 more changes" in events[-1][0] and '"count": 2951' in events[-1][1]


def test_a_mass_disappearance_waits_for_a_second_fetch_then_nothing_is_lost(hostile, tmp_path, capsys):
    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _write_sources(sources, hostile.url("/doc"), feed=True)
    hostile.set("/doc", html(_feed_of(6), content_type="application/rss+xml"))
    _collect(sources, db, capsys)
    only_the_oldest = _feed_of(6).replace(b"<item>", b"<!--<item>", 5).replace(b"</item>", b"</item>-->", 5)
    hostile.set("/doc", html(only_the_oldest, content_type="application/rss+xml"))
    _collect(sources, db, capsys)
    assert _last(db)[0] == "unconfirmed" and _events(db) == []
    _collect(sources, db, capsys)  # the same list again: confirmed, every withdrawal written once
    assert _last(db)[0] == "changed"
    assert sorted(t for _, t in _events(db)) == [f"Withdrawn: Kratom notice {n}" for n in range(2, 7)]
    _collect(sources, db, capsys)
    assert _last(db)[0] == "unchanged" and len(_events(db)) == 5


def test_a_page_flipping_between_two_versions_is_one_change(hostile, tmp_path, capsys):
    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _write_sources(sources, hostile.url("/doc"), feed=False)
    for body in (GOOD_PAGE, EDITED_PAGE, GOOD_PAGE, EDITED_PAGE, GOOD_PAGE, EDITED_PAGE):
        hostile.set("/doc", html(body))
        _collect(sources, db, capsys)
    assert len(_events(db)) == 1
    hostile.set("/doc", html(html_page(PAGE_TEXT.replace("21", "25"))))  # a third version is news
    _collect(sources, db, capsys)
    assert len(_events(db)) == 2


def test_an_unframed_edit_seen_twice_is_one_change(hostile, tmp_path, capsys):
    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _write_sources(sources, hostile.url("/doc"), feed=False)
    hostile.set("/doc", html(GOOD_PAGE))
    _collect(sources, db, capsys)
    hostile.set("/doc", html(EDITED_PAGE, content_length=None))
    _collect(sources, db, capsys)
    assert _last(db)[0] == "unconfirmed" and _events(db) == []
    _collect(sources, db, capsys)
    assert _last(db)[0] == "changed" and len(_events(db)) == 1


@pytest.mark.parametrize("first", ["http://bücher.invalid/kratom", "http://xn--bcher-kva.invalid/x",
                                   "PATH:/café/kratom", "PATH:/ü%20x/"])
def test_urls_the_config_accepts_never_stop_the_pass(hostile, tmp_path, capsys, first):
    """Non-ASCII paths and IDN hosts (accepted by `sources check`) are fetched or fail as that source's
    outcome; the healthy source runs either way."""
    if first.startswith("PATH:"):
        path = first[5:]
        from urllib.parse import quote

        hostile.set(quote(path, safe="/%"), html(GOOD_PAGE))
        first = hostile.base + path
    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _two_sources(sources, first, hostile.url("/ok"), timeout="2s")
    hostile.set("/ok", html(GOOD_PAGE))
    _collect(sources, db, capsys)
    outcomes = _outcomes(db)
    assert outcomes["healthy"] == "initial"
    assert outcomes["hostile"] == ("connection-error" if ".invalid" in first else "initial")


@pytest.mark.parametrize("pattern", [r".*.*.*.*=", r"\w*\w*\w*\w*\w*!", r"(?:k|r)*.*.*\d="])
def test_an_accepted_ignore_pattern_cannot_hang_a_pass_on_a_long_line(hostile, tmp_path, capsys, pattern):
    """Patterns the nested-repeat check lets through but that backtrack polynomially (minutes on one long
    line with Python's re) run on RE2: linear in the line."""
    from kratom_tracker import checks

    assert checks.regex(pattern) == pattern
    sources, db = tmp_path / "sources.yaml", tmp_path / "t.db"
    _write_sources(sources, hostile.url("/doc"), feed=False)
    with sources.open("a", encoding="utf-8") as out:
        out.write(f"    ignore: ['{pattern}']\n")
    long_line = "kratom" * 2000  # one 12 000-character line without '=' or '!'
    hostile.set("/doc", html(html_page(f"<p>{long_line}</p><p>Section 5.</p>")))
    started = time.monotonic()
    _collect(sources, db, capsys)
    hostile.set("/doc", html(html_page(f"<p>{long_line}</p><p>Section 6.</p>")))
    _collect(sources, db, capsys)
    assert time.monotonic() - started < 10
    assert _last(db)[0] == "changed"
