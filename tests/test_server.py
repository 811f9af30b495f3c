"""The HTTP server: the API answers match their own OpenAPI description, /api/status is the `status
--json` contract, /api/changes pages with a cursor, bad parameters answer 4xx JSON, /feeds/ serves the
same bytes as `publish`, and the dashboard carries no live markup from hostile pages."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from conftest import run_cli
from kratom_tracker.config.loader import load
from kratom_tracker.web.app import MAX_LIMIT, ServerSettings, create_app
from test_publish import HOSTILE_MARKERS, all_events, assert_no_live_markup, build_event_db


@pytest.fixture
def data(site, tmp_path):
    return build_event_db(site, tmp_path)


@pytest.fixture
def client(data):
    settings = ServerSettings(db=data.db, config=load(data.sources))
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


class OpenApi:
    """Validates answers against the response schemas of the server's own /openapi.json."""

    def __init__(self, spec: dict):
        validate(spec)  # the description itself is valid OpenAPI
        self.spec = spec

    def check(self, path_template: str, response) -> None:
        operation = self.spec["paths"][path_template]["get"]
        documented = operation["responses"].get(str(response.status_code))
        assert documented, f"{path_template} answered {response.status_code}, which is not documented"
        assert response.headers["content-type"].startswith("application/json")
        schema = dict(documented["content"]["application/json"]["schema"])
        schema["components"] = self.spec["components"]
        jsonschema.Draft202012Validator(schema).validate(response.json())


@pytest.fixture
def openapi(client) -> OpenApi:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    return OpenApi(answer.json())


def test_openapi_describes_every_api_route(openapi):
    assert {"/api/status/{region}", "/api/changes", "/api/sources"} <= set(openapi.spec["paths"])


def test_changes_pages_with_a_cursor_and_match_the_store(client, openapi, data):
    expected = all_events(data.db)
    seen, cursor, pages = [], None, 0
    while True:
        answer = client.get("/api/changes", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        openapi.check("/api/changes", answer)
        body = answer.json()
        seen += body["changes"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and pages == (len(expected) + 1) // 2


def test_changes_filters_match_the_cli(client, openapi, data, capsys):
    answer = client.get("/api/changes", params={"region": "US-FL", "kind": "status"})
    openapi.check("/api/changes", answer)
    changes = answer.json()["changes"]
    assert {c["jurisdiction"] for c in changes} == {"US-FL", "US-FL/sarasota-county"}
    assert {c["kind"] for c in changes} == {"status"}
    run_cli("changes", "--db", str(data.db), "--region", "US-FL", "--kind", "status", "--json")
    assert json.loads(capsys.readouterr().out) == changes
    assert client.get("/api/changes", params={"since": "2999-01-01"}).json()["changes"] == []


@pytest.mark.parametrize(("params", "status"), [
    ({"limit": 0}, 422), ({"limit": "many"}, 422), ({"limit": 100000}, 422), ({"kind": "gossip"}, 422),
    ({"cursor": "abc"}, 400), ({"cursor": "-3"}, 400), ({"since": "last tuesday"}, 400),
    ({"region": "Narnia"}, 404), ({"region": "<script>alert(1)</script>"}, 404),
])
def test_bad_parameters_answer_4xx_json(client, openapi, params, status):
    answer = client.get("/api/changes", params=params)
    assert answer.status_code == status
    openapi.check("/api/changes", answer)
    assert answer.json()["error"]
    assert "Traceback" not in answer.text


@pytest.mark.parametrize("query", [
    "cursor=%C2%B9",  # '¹'.isdigit() is true, but int('¹') raises
    "cursor=%D9%A3",  # an Arabic-Indic 3: never a cursor this server hands out
    "since=%C2%B9d",
])
def test_digits_that_are_not_ascii_answer_400(client, openapi, query):
    answer = client.get(f"/api/changes?{query}")
    assert answer.status_code == 400, answer.text
    openapi.check("/api/changes", answer)


@pytest.mark.parametrize("query", [
    "cursor=" + "9" * 30,  # past SQLite's 64-bit integers
    "cursor=" + "9" * 5000,  # past the digits int() converts
    "since=999999999999d",  # further back than datetime goes
    "since=" + "9" * 5000 + "d",
    "since=0001-01-01T00:00:00%2B01:00",  # in UTC that is before year 1
])
def test_out_of_range_cursor_and_since_mean_from_the_start(client, openapi, data, query):
    answer = client.get(f"/api/changes?limit={MAX_LIMIT}&{query}")
    assert answer.status_code == 200, answer.text
    openapi.check("/api/changes", answer)
    assert answer.json()["changes"] == all_events(data.db)


def test_since_before_year_1000_is_compared_as_a_four_digit_year(client, data):
    # strftime('%Y') leaves year 999 unpadded: '999-...' sorts after '2026-...' and hid every event.
    answer = client.get("/api/changes", params={"since": "0999-01-01T00:00:00Z", "limit": MAX_LIMIT})
    assert answer.json()["changes"] == all_events(data.db)


def test_empty_parameters_mean_not_given(client, openapi):
    everything = client.get("/api/changes").json()
    for query in ("cursor=", "since=", "region=", "cursor=&since=&region="):
        answer = client.get(f"/api/changes?{query}")
        assert answer.status_code == 200, (query, answer.text)
        openapi.check("/api/changes", answer)
        assert answer.json() == everything


def test_empty_as_of_means_today(client, openapi):
    answer = client.get("/api/status/US-FL?as_of=")
    assert answer.status_code == 200, answer.text
    openapi.check("/api/status/{region}", answer)
    assert answer.json() == client.get("/api/status/US-FL").json()


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE"])
def test_methods_not_served_answer_405_with_allow(client, method):
    for path in ("/api/changes", "/api/sources", "/api/status/US-FL"):
        answer = client.request(method, path)
        assert answer.status_code == 405, (method, path)
        assert answer.headers["allow"] == "GET, HEAD", (method, path)
        assert answer.json()["error"]


def test_unknown_paths_and_feeds_answer_json_404(client):
    for path in ("/api/nothing", "/feeds/../tracker.db", "/feeds/region/..%2F..%2Ftracker.db", "/feeds/x.html",
                 "/feeds/region/US-ZZ.atom", "/feeds/region/US-FL_nowhere-at-all.atom", "/feeds/feeds.rss"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["error"]


def test_sources_health(client, openapi):
    answer = client.get("/api/sources")
    openapi.check("/api/sources", answer)
    rows = {row["id"]: row for row in answer.json()}
    assert set(rows) == {"cited-baseline", "sarasota-page", "tx-feed"}
    assert rows["tx-feed"]["last_outcome"] == "changed" and rows["tx-feed"]["consecutive_failures"] == 0
    assert rows["sarasota-page"]["last_change_at"]


def test_sources_health_shows_a_failing_selector(data, site, client):
    site.set("/sarasota", "<html><body><p>redesigned, no main</p></body></html>")
    run_cli("collect", "--sources", str(data.sources), "--db", str(data.db), "--quiet", "--only", "sarasota-page")
    row = next(r for r in client.get("/api/sources").json() if r["id"] == "sarasota-page")
    assert row["last_outcome"] == "selector-missing" and row["consecutive_failures"] == 1


def test_status_is_the_status_json_contract(client, openapi, data, capsys):
    for region in ("US-FL", "Florida", "US-FL/sarasota-county", "US-TX"):
        answer = client.get(f"/api/status/{region}")
        openapi.check("/api/status/{region}", answer)
        run_cli("status", region, "--db", str(data.db), "--json")
        assert answer.json() == json.loads(capsys.readouterr().out), region
    answer = client.get("/api/status/US-FL", params={"as_of": "2020-06-01"})
    run_cli("status", "US-FL", "--db", str(data.db), "--json", "--as-of", "2020-06-01")
    assert answer.json() == json.loads(capsys.readouterr().out)
    for bad, code in (("/api/status/Narnia", 404), ("/api/status/US-FL?as_of=yesterday", 400)):
        answer = client.get(bad)
        assert answer.status_code == code
        openapi.check("/api/status/{region}", answer)


def test_feeds_are_the_same_bytes_as_publish(client, data):
    out = data.tmp / "published"
    assert run_cli("publish", "--db", str(data.db), "--out", str(out), "--sources", str(data.sources)) == 0
    for name in ("all.atom", "all.rss", "all.json", "region/US-FL.atom", "region/US-FL_sarasota-county.rss"):
        answer = client.get(f"/feeds/{name}")
        assert answer.status_code == 200, name
        assert answer.content == (out / name).read_bytes(), name
    assert client.get("/feeds/all.atom").headers["content-type"].startswith("application/atom+xml")
    assert client.get("/feeds/all.json").headers["content-type"].startswith("application/feed+json")


def test_feeds_follow_new_events(client, data, site):
    before = client.get("/feeds/all.atom").content
    data.baseline.write_text(data.baseline.read_text().replace("US-TX,leaf,regulated", "US-TX,leaf,banned"))
    run_cli("collect", "--sources", str(data.sources), "--db", str(data.db), "--quiet")
    after = client.get("/feeds/all.atom").content
    assert after != before and "Texas — kratom leaf: regulated → banned".encode() in after


def test_api_answers_are_json_data_never_html(client):
    answer = client.get("/api/changes")
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert any(m in answer.text for m in HOSTILE_MARKERS)  # stored as data, served as JSON text


def test_dashboard_has_no_live_markup_from_hostile_pages(client):
    for params in ({}, {"q": "US-FL/sarasota-county"}, {"q": "</textarea><script>alert(1)</script>"}):
        page = client.get("/", params=params)
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none' covers scripts
        assert_no_live_markup(page.text, allow_document=True)
        assert "<script" not in page.text.lower() and "</textarea" not in page.text.lower()
    page = client.get("/", params={"q": "US-FL/sarasota-county"})
    assert all(m.replace('"', "&#34;") in page.text or m in page.text for m in HOSTILE_MARKERS[:1])
    assert 'class="kt-diff"' in page.text and "<ins" in page.text


def test_dashboard_without_database(tmp_path):
    settings = ServerSettings(db=tmp_path / "none.db")
    with TestClient(create_app(settings)) as test_client:
        page = test_client.get("/")
        assert page.status_code == 200 and "No database yet" in page.text
        answer = test_client.get("/api/changes")
        assert answer.status_code == 503 and "no database" in answer.json()["error"]


def test_serve_refuses_a_bad_port(tmp_path, capsys):
    assert run_cli("serve", "--port", "0", "--db", str(tmp_path / "x.db"),
                   "--sources", str(Path(tmp_path / "none.yaml"))) == 2
    assert "port" in capsys.readouterr().err


# -- the second reliability round: one request must never stall the server -------------------------------

_TWENTY_WORDS = " ".join(["Sarasota", "County", "Florida", "Manatee", "Lee", "Collier"] * 4)[:200]


@pytest.mark.parametrize("path", [
    "/api/status/" + _TWENTY_WORDS.replace(" ", "%20"),
    "/api/changes?region=" + _TWENTY_WORDS.replace(" ", "+"),
    "/?q=" + _TWENTY_WORDS.replace(" ", "+"),
    "/api/status/" + "a%20" * 5000,
    "/api/changes?region=" + "Florida+" * 2000,
])
def test_free_text_regions_answer_at_once(client, path):
    started = time.monotonic()
    answer = client.get(path)
    assert time.monotonic() - started < 5  # it was no answer after 45 s for 20 words
    assert answer.status_code in (200, 400, 404), answer.text
    assert "Traceback" not in answer.text


@pytest.mark.parametrize("host", ["evil.example", "evil.example\r\nX-Injected: 1", "[::1]:99999", ""])
def test_the_trailing_slash_redirect_never_uses_the_host_header(client, host):
    answer = client.get("/api/changes/?limit=5", headers={"host": host}, follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/api/changes?limit=5"


def test_a_double_slash_path_is_not_an_open_redirect(client):
    answer = client.get("/%2F%2Fevil.example/", follow_redirects=False)
    assert answer.status_code in (307, 404)
    assert not answer.headers.get("location", "").startswith("//")
