"""Evidence you can trust and see: for every status event from a fetched source the fetched document is
kept (compressed, once per SHA-256) and served by `kratom-tracker evidence EVENT_ID` and
/api/evidence/{event_id}; primary or secondary is shown in status, the API, the feeds and the dashboard."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib

import pytest
from fastapi.testclient import TestClient

from conftest import collect, run_cli, stored_events, write_sources
from kratom_tracker.config.loader import load
from kratom_tracker.web.app import ServerSettings, create_app
from test_federal_register import API, JSON, NOI_7OH_2026, NOI_MGM_2026, ORDER_MGM_2026, _answer, _yaml

FIRST = _answer(NOI_MGM_2026)
PROPOSAL = _answer(NOI_MGM_2026, NOI_7OH_2026)
ORDER = _answer(NOI_MGM_2026, NOI_7OH_2026, ORDER_MGM_2026)


@pytest.fixture
def fr_db(site, tmp_path):
    """A Federal Register source whose answers change twice: a 7-OH notice appears (status event), then
    an order appears (a notice event only), then the answer goes back to the notice alone."""
    sources = write_sources(tmp_path, _yaml(site))
    db = tmp_path / "t.db"
    for body in (FIRST, PROPOSAL, ORDER, PROPOSAL):
        site.set(API, body, content_type=JSON)
        assert collect(sources, db) == 0
    return sources, db


def _status_events(db) -> list[dict]:
    return [e for e in stored_events(db) if e["kind"] == "status"]


def test_a_status_event_keeps_the_fetched_document_compressed_and_once(fr_db):
    _, db = fr_db
    events = stored_events(db)
    status = [e for e in events if e["kind"] == "status"]
    assert [e["data"]["new_status"] for e in status] == ["pending"]
    assert status[0]["evidence_sha256"] == hashlib.sha256(PROPOSAL).hexdigest()
    assert all(e["evidence_sha256"] is None for e in events if e["kind"] != "status")
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT sha256, body, encoding, size, content_type, url FROM evidence").fetchall()
    assert len(rows) == 1
    sha256, body, encoding, size, content_type, url = rows[0]
    assert encoding == "zlib" and zlib.decompress(body) == PROPOSAL and size == len(PROPOSAL) > len(body)
    assert content_type == JSON and API in url


def test_the_same_document_seen_again_is_kept_once(site, tmp_path):
    # Two sources reading the same answer: each status event cites the document, which is kept once. (One
    # source flipping back to an earlier answer is no change at all since the reliability round.)
    second = f"""  - id: fr-again
    type: federal-register
    url: {site.url(API)}
    term: "kratom OR mitragynine"
    jurisdiction: US
"""
    sources = write_sources(tmp_path, _yaml(site, second))
    db = tmp_path / "t.db"
    for body in (FIRST, PROPOSAL, ORDER):
        site.set(API, body, content_type=JSON)
        assert collect(sources, db) == 0
    events = _status_events(db)
    by_source: dict[str, list[str]] = {}
    for event in events:
        by_source.setdefault(event["source_id"], []).append(event["evidence_sha256"])
    assert set(by_source) == {"fr", "fr-again"} and by_source["fr"] == by_source["fr-again"]
    assert len(set(by_source["fr"])) == len(by_source["fr"])  # a new document for each new answer
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM evidence").fetchone()[0] == len(set(by_source["fr"]))


def test_the_evidence_command_prints_the_document_as_fetched(fr_db, capfdbinary):
    _, db = fr_db
    event_id = _status_events(db)[0]["id"]
    assert run_cli("evidence", str(event_id), "--db", str(db)) == 0
    out, err = capfdbinary.readouterr()
    assert out == PROPOSAL
    assert hashlib.sha256(PROPOSAL).hexdigest().encode() in err and b"application/json" in err


def test_the_evidence_command_info_and_refusals(fr_db, capsys):
    sources, db = fr_db
    event_id = _status_events(db)[0]["id"]
    capsys.readouterr()
    assert run_cli("evidence", str(event_id), "--info", "--db", str(db)) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sha256"] == hashlib.sha256(PROPOSAL).hexdigest() and info["size"] == len(PROPOSAL)
    notice = next(e for e in stored_events(db) if e["kind"] == "notice")
    assert run_cli("evidence", str(notice["id"]), "--db", str(db)) == 1
    assert "no kept document" in capsys.readouterr().err
    assert run_cli("evidence", "99999", "--db", str(db)) == 1
    assert "no event 99999" in capsys.readouterr().err
    assert run_cli("evidence", str(2**70), "--db", str(db)) == 1
    assert run_cli("evidence", "x1", "--db", str(db)) == 2


def test_the_api_serves_the_document_in_a_sandbox(fr_db):
    sources, db = fr_db
    event_id = _status_events(db)[0]["id"]
    notice = next(e for e in stored_events(db) if e["kind"] == "notice")
    with TestClient(create_app(ServerSettings(db=db, config=load(sources)))) as client:
        answer = client.get(f"/api/evidence/{event_id}")
        assert answer.status_code == 200 and answer.content == PROPOSAL
        assert answer.headers["content-type"] == JSON
        assert answer.headers["content-security-policy"].startswith("sandbox")
        assert answer.headers["x-evidence-sha256"] == hashlib.sha256(PROPOSAL).hexdigest()
        for path, code in ((f"/api/evidence/{notice['id']}", 404), ("/api/evidence/99999", 404),
                           ("/api/evidence/abc", 422), ("/api/evidence/0", 422),
                           (f"/api/evidence/{2**70}", 422)):
            refused = client.get(path)
            assert refused.status_code == code, path
            assert refused.headers["content-type"] == "application/json" and "error" in refused.json()
        assert "/api/evidence/{event_id}" in client.get("/openapi.json").json()["paths"]


def test_feeds_and_the_dashboard_show_the_quality_and_link_the_document(fr_db, tmp_path, capsys):
    sources, db = fr_db
    event_id = _status_events(db)[0]["id"]
    assert run_cli("publish", "--db", str(db), "--out", str(tmp_path / "feeds"), "--sources", str(sources)) == 0
    atom = (tmp_path / "feeds" / "all.atom").read_text(encoding="utf-8")
    assert "Evidence (primary)" in atom and f"/api/evidence/{event_id}" in atom
    with TestClient(create_app(ServerSettings(db=db, config=load(sources)))) as client:
        page = client.get("/", params={"q": "US"}).text
    assert 'class="badge ev-primary"' in page and f'href="/api/evidence/{event_id}"' in page


def test_status_shows_the_quality_of_every_citation(fr_db, capsys):
    _, db = fr_db
    capsys.readouterr()
    assert run_cli("status", "US", "--json", "--db", str(db)) == 0
    pending = json.loads(capsys.readouterr().out)["applicable"]["7-OH"]["pending"]
    assert [p["evidence"]["kind"] for p in pending] == ["primary"]
    assert run_cli("status", "US", "--db", str(db)) == 0
    assert "(primary)" in capsys.readouterr().out


def test_a_local_baseline_keeps_no_document(tmp_path, capsys):
    head = "jurisdiction,substance,status,detail,effective_date,summary,source_url,source_type,last_verified\n"
    (tmp_path / "b.csv").write_text(head + "US-TX,leaf,legal,,,None.,https://example.gov/tx,primary,2026-01-01\n",
                                    encoding="utf-8")
    sources = write_sources(tmp_path, "sources:\n  - {id: b, type: baseline, path: b.csv, jurisdiction: US}\n")
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    (tmp_path / "b.csv").write_text(head + "US-TX,leaf,banned,,,Now.,https://example.gov/tx,primary,2026-01-01\n",
                                    encoding="utf-8")
    assert collect(sources, db) == 0
    event = _status_events(db)[0]
    assert event["evidence_sha256"] is None  # the rows cite their own evidence; the CSV is not evidence
    capsys.readouterr()
    assert run_cli("evidence", str(event["id"]), "--db", str(db)) == 1
    assert "https://example.gov/tx" in capsys.readouterr().err
