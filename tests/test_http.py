"""HTTP as feed readers expect it, through a real uvicorn on 127.0.0.1: strong ETags and Last-Modified on
feeds, API and dashboard, 304 on a conditional GET, HEAD, gzip, CORS on feeds and the API, Cache-Control;
a feed for every known region (possibly empty, always valid) and the OPML list of the region feeds."""

from __future__ import annotations

import gzip
import http.client
from urllib.parse import urlsplit

import feedparser
import pytest
from lxml import etree

from conftest import running_app
from kratom_tracker.config.loader import load
from kratom_tracker.web.app import ServerSettings, create_app
from test_publish import build_event_db


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from conftest import Site

    site = Site()
    site.set("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    data = build_event_db(site, tmp_path_factory.mktemp("http"))
    with running_app(create_app(ServerSettings(db=data.db, config=load(data.sources)))) as base:
        yield base
    site.close()


def request(base: str, path: str, method: str = "GET", headers: dict[str, str] | None = None):
    """One raw request (http.client sends no Accept-Encoding unless told): (status, headers, body)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        conn.request(method, path, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


PAGES = ["/feeds/all.atom", "/feeds/region/US-FL.rss", "/feeds/feeds.opml", "/api/changes", "/api/sources",
         "/api/status/US-FL", "/?q=US-FL"]


@pytest.mark.parametrize("path", PAGES)
def test_strong_validators_and_a_304_on_a_conditional_get(server, path):
    status, headers, body = request(server, path)
    assert status == 200 and body
    etag = headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong
    assert headers["last-modified"].endswith(" GMT") and headers["cache-control"]
    status, again, body = request(server, path, headers={"If-None-Match": etag})
    assert status == 304 and body == b"" and again["etag"] == etag
    status, _, body = request(server, path, headers={"If-Modified-Since": headers["last-modified"]})
    assert status == 304 and body == b""
    # If-None-Match wins over If-Modified-Since (RFC 9110): another tag means the full answer
    status, _, body = request(server, path, headers={"If-None-Match": '"other"',
                                                     "If-Modified-Since": headers["last-modified"]})
    assert status == 200 and body


def test_gzip_has_its_own_strong_etag_and_revalidates(server):
    status, plain, body = request(server, "/feeds/all.atom")
    status, headers, packed = request(server, "/feeds/all.atom", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip" and gzip.decompress(packed) == body
    assert headers["etag"] == plain["etag"][:-1] + '-gzip"'
    assert "accept-encoding" in headers["vary"].lower()
    status, again, _ = request(server, "/feeds/all.atom", headers={"Accept-Encoding": "gzip",
                                                                   "If-None-Match": headers["etag"]})
    assert status == 304 and again["etag"] == headers["etag"]


@pytest.mark.parametrize("path", ["/feeds/all.json", "/api/status/Tampa%2C%20Florida", "/"])
def test_head_answers_the_headers_of_get_without_a_body(server, path):
    _, get_headers, body = request(server, path)
    status, headers, empty = request(server, path, method="HEAD")
    assert status == 200 and empty == b""
    assert headers["etag"] == get_headers["etag"] and headers["content-length"] == str(len(body))


def test_cors_on_feeds_and_the_api_not_on_the_dashboard(server):
    origin = {"Origin": "https://reader.example"}
    for path in ("/feeds/all.atom", "/api/changes"):
        _, headers, _ = request(server, path, headers=origin)
        assert headers["access-control-allow-origin"] == "*"
        assert "etag" in headers["access-control-expose-headers"].lower()
    status, headers, _ = request(server, "/api/changes", method="OPTIONS",
                                 headers={**origin, "Access-Control-Request-Method": "GET"})
    assert status == 200 and "GET" in headers["access-control-allow-methods"]
    _, headers, _ = request(server, "/", headers=origin)
    assert "access-control-allow-origin" not in headers


@pytest.mark.parametrize("name", ["region/US-CA.atom", "region/US-FL_tampa.rss", "region/US-FL_tampa.json",
                                  "region/CA-ON_toronto.atom", "region/US-MS_union-county.atom"])
def test_every_known_region_has_a_valid_feed(server, name):
    status, headers, body = request(server, f"/feeds/{name}")
    assert status == 200, name
    if name.endswith(".json"):
        assert headers["content-type"].startswith("application/feed+json")
        return
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")


def test_a_state_event_reaches_its_cities_feed_and_a_county_event_its_states(server):
    _, _, tampa = request(server, "/feeds/region/US-FL_tampa.atom")
    titles = [e.title for e in feedparser.parse(tampa).entries]
    assert any(t.startswith("Florida — ") for t in titles)
    assert not any(t.startswith("Sarasota County") for t in titles)  # another county: not Tampa's
    assert not any(t.startswith("Texas") for t in titles)


def test_opml_lists_the_region_feeds(server):
    status, headers, body = request(server, "/feeds/feeds.opml")
    assert status == 200 and headers["content-type"].startswith("text/x-opml")
    root = etree.fromstring(body)
    assert root.tag == "opml" and root.get("version") == "2.0"
    urls = [o.get("xmlUrl") for o in root.iter("outline")]
    assert urls[0].endswith("/feeds/all.atom")
    assert any(u.endswith("/feeds/region/US-FL.atom") for u in urls)
    assert any(u.endswith("/feeds/region/US-FL_sarasota-county.atom") for u in urls)
    for outline in root.iter("outline"):
        assert outline.get("text") and outline.get("type") == "rss"
