"""The requests-based Fetcher on its own, against servers on 127.0.0.1: the body cap after decoding, Retry-After,
a body shorter than its Content-Length, the overall deadline, redirects, the shared retry budget, proxies read
once, and that decoding text never imports the HTTP client."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from hostile_server import DRIP, STREAM, TRUNCATE, HostileServer, Reply, closed_port, gzip_bomb, serve
from kratom_tracker.config.model import Politeness
from kratom_tracker.fetch.client import Fetcher
from kratom_tracker.fetch.session import HOST_POOLS
from kratom_tracker.vocab import Outcome

PAGE = b"<html><body><main>" + "Café – kratom rules. ".encode() * 200 + b"</main></body></html>"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    yield from serve()


@pytest.fixture
def no_proxy_environment(monkeypatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@contextmanager
def fetcher(retries: int = 0, max_retry_wait: float = 30.0, robots: bool = False,
            concurrency: int = 2) -> Iterator[Fetcher]:
    instance = Fetcher("kratom-tracker-test/1", Politeness(per_host_concurrency=concurrency, per_host_delay=0,
                                                           robots=robots), retries, max_retry_wait)
    try:
        yield instance
    finally:
        instance.close()


def gzipped(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


# -- the body cap counts decoded bytes ---------------------------------------------------------------------


def test_a_gzip_bomb_stops_at_the_cap_on_decoded_bytes(hostile):
    bomb = gzip_bomb(64 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024  # on the wire it is far under the cap
    hostile.set("/doc", Reply(body=bomb, headers=(("Content-Encoding", "gzip"),)))
    with fetcher() as client:
        response = client.fetch(hostile.url("/doc"), timeout=10, max_bytes=1024 * 1024)
    assert response.outcome == Outcome.TOO_LARGE
    assert response.body == b""
    assert "exceeds the cap of 1048576 bytes" in response.error


def test_a_compressed_body_is_decoded_and_capped_by_its_decoded_size(hostile):
    with fetcher() as client:
        hostile.set("/small", Reply(body=gzipped(PAGE), headers=(("Content-Encoding", "gzip"),)))
        small = client.fetch(hostile.url("/small"), timeout=10, max_bytes=len(PAGE))
        hostile.set("/big", Reply(body=gzipped(PAGE * 20), headers=(("Content-Encoding", "gzip"),)))
        big = client.fetch(hostile.url("/big"), timeout=10, max_bytes=len(PAGE) * 10)
    assert small.outcome is None and small.body == PAGE
    assert len(gzipped(PAGE * 20)) < len(PAGE) * 10  # the wire size is under the cap, the decoded one is not
    assert big.outcome == Outcome.TOO_LARGE


# -- Retry-After -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_waited_for_then_the_retry_succeeds(hostile, status):
    hostile.set("/doc", Reply(status=status, body=b"slow down", headers=(("Retry-After", "1"),)),
                Reply(body=PAGE))
    with fetcher(retries=1, max_retry_wait=5) as client:
        started = time.monotonic()
        response = client.fetch(hostile.url("/doc"), timeout=5)
        waited = time.monotonic() - started
    assert response.outcome is None and response.body == PAGE
    assert len(hostile.requests_to("/doc")) == 2
    assert 0.9 <= waited < 4


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_capped_by_max_retry_wait(hostile, status):
    hostile.set("/doc", Reply(status=status, body=b"come back in an hour", headers=(("Retry-After", "3600"),)))
    with fetcher(retries=1, max_retry_wait=0.3) as client:
        started = time.monotonic()
        response = client.fetch(hostile.url("/doc"), timeout=5)
        waited = time.monotonic() - started
    assert response.outcome == Outcome.HTTP_ERROR and response.status == status
    assert len(hostile.requests_to("/doc")) == 2
    assert 0.25 <= waited < 3


def test_without_retry_after_the_first_retry_is_at_once(hostile):
    hostile.set("/doc", Reply(status=503, body=b"busy"), Reply(body=PAGE))
    with fetcher(retries=2) as client:
        started = time.monotonic()
        response = client.fetch(hostile.url("/doc"), timeout=5)
    assert response.outcome is None
    assert time.monotonic() - started < 0.5


# -- only a complete, final 2xx is a document ---------------------------------------------------------------


def test_a_body_shorter_than_its_content_length_is_a_failure(hostile):
    hostile.set("/doc", Reply(body=PAGE, mode=TRUNCATE))
    with fetcher() as client:
        response = client.fetch(hostile.url("/doc"), timeout=5)
    assert response.outcome == Outcome.CONNECTION_ERROR
    assert response.body == b""
    assert "cut short" in response.error
    assert len(hostile.requests_to("/doc")) == 1  # retries: 0


def test_a_short_body_is_retried_and_a_complete_one_then_accepted(hostile):
    hostile.set("/doc", Reply(body=PAGE, mode=TRUNCATE), Reply(body=PAGE))
    with fetcher(retries=1) as client:
        response = client.fetch(hostile.url("/doc"), timeout=5)
    assert response.outcome is None and response.body == PAGE
    assert len(hostile.requests_to("/doc")) == 2


def test_a_redirect_without_location_is_not_a_document(hostile):
    hostile.set("/doc", Reply(status=302, body=PAGE))
    with fetcher() as client:
        response = client.fetch(hostile.url("/doc"), timeout=5)
    assert response.outcome == Outcome.HTTP_ERROR and response.status == 302


def test_redirects_are_followed_and_the_final_url_recorded(hostile):
    hostile.set("/doc", Reply(status=301, headers=(("Location", "/moved"),)))
    hostile.set("/moved", Reply(status=302, headers=(("Location", hostile.url("/final")),)))
    hostile.set("/final", Reply(body=PAGE))
    with fetcher() as client:
        response = client.fetch(hostile.url("/doc"), timeout=5)
    assert response.outcome is None and response.body == PAGE
    assert response.final_url == hostile.url("/final")


def test_a_redirect_with_an_endless_body_is_not_read_into_memory(hostile):
    hostile.set("/doc", Reply(status=302, headers=(("Location", "/final"),), mode=STREAM,
                              stream_bytes=2_000_000_000, content_length=None))
    hostile.set("/final", Reply(body=PAGE))
    with fetcher() as client:
        started = time.monotonic()
        response = client.fetch(hostile.url("/doc"), timeout=5)
    assert response.outcome is None and response.body == PAGE
    assert time.monotonic() - started < 2


# -- the retry budget is one per fetch ------------------------------------------------------------------------


def test_urllib3_retries_and_body_retries_share_one_budget(hostile):
    hostile.set("/doc", Reply(status=503, body=b"busy"), Reply(body=PAGE, mode=TRUNCATE), Reply(body=PAGE))
    with fetcher(retries=1) as client:
        response = client.fetch(hostile.url("/doc"), timeout=5)
    assert response.outcome == Outcome.CONNECTION_ERROR  # the one retry went to the 503
    assert len(hostile.requests_to("/doc")) == 2


def test_connection_refused_is_retried_then_a_connection_error():
    with fetcher(retries=2, max_retry_wait=0.1) as client:
        response = client.fetch(f"http://127.0.0.1:{closed_port()}/doc", timeout=2)
    assert response.outcome == Outcome.CONNECTION_ERROR
    assert "refused" in response.error.lower()


# -- the overall deadline -----------------------------------------------------------------------------------------


def test_a_body_dripping_faster_than_the_read_timeout_is_cut_at_the_deadline(hostile):
    # A byte every 0.3 s never trips a 1 s read timeout; only the overall deadline ends it.
    hostile.set("/doc", Reply(body=PAGE[:40], mode=DRIP, drip_interval=0.3))
    with fetcher() as client:
        started = time.monotonic()
        response = client.fetch(hostile.url("/doc"), timeout=1.0)
        took = time.monotonic() - started
    assert response.outcome == Outcome.TIMEOUT
    assert took < 2.0


@contextmanager
def dripping_headers(interval: float = 0.2) -> Iterator[str]:
    """A server that answers with a status line and headers one byte every `interval` seconds, forever."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                if stop.wait(interval):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/doc"
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def test_headers_dripping_faster_than_the_read_timeout_are_cut_at_the_deadline():
    with dripping_headers() as url, fetcher() as client:
        started = time.monotonic()
        response = client.fetch(url, timeout=1.0)
        took = time.monotonic() - started
    assert response.outcome == Outcome.TIMEOUT
    assert took < 2.0


def test_a_kept_alive_connection_outlives_an_earlier_fetchs_deadline(site):
    """A deadline belongs to one exchange: the connection it used, reused later, is not cut by it."""
    site.set("/a", PAGE)
    site.set("/b", PAGE)
    with fetcher() as client:
        assert client.fetch(site.url("/a"), timeout=0.5).outcome is None
        time.sleep(0.7)  # /a's deadline passes while its connection waits in the pool
        assert client.fetch(site.url("/b"), timeout=5).outcome is None


# -- one session, pools sized to the politeness ---------------------------------------------------------------


def test_one_session_per_fetcher_with_pools_sized_to_the_per_host_concurrency(site):
    site.set("/doc", PAGE)
    with fetcher(concurrency=3) as client:
        for _ in range(5):
            assert client.fetch(site.url("/doc"), timeout=5).outcome is None
        adapter = client._session.get_adapter(site.url("/doc"))
        pools = adapter.poolmanager.pools
        assert adapter.poolmanager.connection_pool_kw["maxsize"] == 3
        assert pools._maxsize == HOST_POOLS
        assert len(pools) == 1


# -- proxies are read once ------------------------------------------------------------------------------------------


def test_a_proxy_set_after_the_fetcher_was_made_is_not_used(site, monkeypatch, no_proxy_environment):
    site.set("/doc", PAGE)
    with fetcher() as client:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port()}")
        response = client.fetch(site.url("/doc"), timeout=5)
    assert response.outcome is None and response.body == PAGE


def test_the_proxy_of_the_environment_at_construction_is_used_after_it_is_unset(hostile, monkeypatch,
                                                                                no_proxy_environment):
    monkeypatch.setenv("http_proxy", hostile.base)
    with fetcher() as client:
        monkeypatch.delenv("http_proxy")
        hostile.set("http://kratom.example/doc", Reply(body=PAGE))  # a proxy is asked for the absolute URL
        response = client.fetch("http://kratom.example/doc", timeout=5)
    assert response.outcome is None and response.body == PAGE
    assert len(hostile.requests_to("http://kratom.example/doc")) == 1


def test_no_proxy_read_at_construction_is_honoured(site, monkeypatch, no_proxy_environment):
    site.set("/doc", PAGE)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("no_proxy", "127.0.0.0/8")
    with fetcher() as client:
        monkeypatch.delenv("no_proxy")
        response = client.fetch(site.url("/doc"), timeout=5)
    assert response.outcome is None


# -- text decoding does not need the HTTP client ------------------------------------------------------------------


def test_decoding_text_does_not_import_requests():
    code = ("import sys; import kratom_tracker.charset, kratom_tracker.values, kratom_tracker.fetch; "
            "print(sorted(m for m in ('requests', 'urllib3') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
