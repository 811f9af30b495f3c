"""The `legislation` source type on answers built in the shape of the APIs' own documented examples
(Open States v3 `/bills` with `include=actions`: its OpenAPI schema's Bill, BillAction and
CompactJurisdiction examples; LegiScan's `getSearch` answer from its API manual: `status`, `searchresult`
with `summary` and numbered results), served from 127.0.0.1. The key travels in a header (Open States) or
the query (LegiScan) and is never stored."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import collect, run_cli, stored_events, write_sources
from kratom_tracker.extractors.legislation import effective_date, substance_of, text_stage

KEY = "os-test-key-0123456789"
FL = {"id": "ocd-jurisdiction/country:us/state:fl/government", "name": "Florida", "classification": "state"}
SENATE = {"id": "ocd-organization/fl-upper", "name": "Senate", "classification": "upper"}
HOUSE = {"id": "ocd-organization/fl-lower", "name": "House", "classification": "lower"}
GOVERNOR = {"id": "ocd-organization/fl-executive", "name": "Executive Office of the Governor",
            "classification": "executive"}


def _action(n: int, org: dict, description: str, day: str, *kinds: str) -> dict:
    return {"id": f"ocd-action/{n}", "organization": org, "description": description, "date": day,
            "classification": list(kinds), "order": n}


def _bill(actions: list[dict], title="Kratom Products; prohibiting the sale of kratom and 7-hydroxymitragynine"):
    return {
        "id": "ocd-bill/f0049138-1ad8-4506-a2a4-f4dd1251bbba", "session": "2026", "jurisdiction": FL,
        "from_organization": SENATE, "identifier": "SB 432", "title": title, "classification": ["bill"],
        "subject": ["CONTROLLED SUBSTANCES"], "extras": {}, "created_at": "2026-01-05T10:00:00+00:00",
        "updated_at": f"{actions[-1]['date']}T18:00:00+00:00",
        "openstates_url": "https://openstates.org/fl/bills/2026/SB432/", "first_action_date": actions[0]["date"],
        "latest_action_date": actions[-1]["date"], "latest_action_description": actions[-1]["description"],
        "latest_passage_date": None, "actions": actions,
    }


def _answer(*bills: dict) -> str:
    return json.dumps({"results": list(bills),
                       "pagination": {"per_page": 20, "page": 1, "max_page": 1, "total_items": len(bills)}})


INTRODUCED = [_action(1, SENATE, "Filed", "2026-01-05", "filing"),
              _action(2, SENATE, "Referred to Health Policy", "2026-01-12", "referral-committee")]
PASSED_BOTH = INTRODUCED + [_action(3, SENATE, "Passed; YEAS 38 NAYS 0", "2026-02-20", "passage"),
                            _action(4, HOUSE, "Passed; YEAS 110 NAYS 2", "2026-03-06", "passage")]
SIGNED = PASSED_BOTH + [_action(5, GOVERNOR, "Approved by Governor; effective in 30 days", "2026-04-01",
                                "executive-signature")]

SOURCES = """sources:
  - id: os-kratom
    name: Open States kratom bills
    type: legislation
    url: {url}
    jurisdiction: US
    updated_since: "2025-01-01"
    key_env: KT_TEST_OPENSTATES_KEY
"""


def _requests(site, prefix: str) -> list[tuple[str, dict[str, str]]]:
    return [(p, h) for p, h in site.requests if p.startswith(prefix)]


def _status(capsys, region: str, day: str, db) -> dict:
    capsys.readouterr()
    assert run_cli("status", region, "--as-of", day, "--db", str(db), "--json") == 0
    return json.loads(capsys.readouterr().out)["applicable"]


def test_a_bill_from_introduced_to_signed_and_in_force(site, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KT_TEST_OPENSTATES_KEY", KEY)
    sources = write_sources(tmp_path, SOURCES.format(url=site.url("/bills")))
    db = tmp_path / "t.db"
    site.set("/bills", _answer(_bill(INTRODUCED)), content_type="application/json")
    assert collect(sources, db) == 0
    path, headers = _requests(site, "/bills")[-1]
    assert headers["x-api-key"] == KEY
    query = parse_qs(urlsplit(path).query)
    assert query["q"] == ['kratom OR mitragynine OR "7-hydroxymitragynine"'] and query["include"] == ["actions"]
    assert query["updated_since"] == ["2025-01-01"] and "apikey" not in query
    assert stored_events(db) == []  # the starting point
    introduced = _status(capsys, "Florida", "2026-02-01", db)["leaf"]
    # Status model v2: a bill is listed beside the law in force, never instead of it.
    assert introduced["status"] == "unknown"
    assert [(p["bill_id"], p["stage"]) for p in introduced["pending"]] == [("SB 432 (2026)", "introduced")]

    site.set("/bills", _answer(_bill(PASSED_BOTH)), content_type="application/json")
    assert collect(sources, db) == 0
    # The bill's new stage is a notice, and (status model v2) a change of the pending measure's stage.
    moved, stage_change = stored_events(db)
    assert (moved["kind"], stage_change["kind"]) == ("notice", "status")
    assert stage_change["data"]["new_status"] == "pending" and "passed-both" in stage_change["diff"]
    assert moved["jurisdiction"] == "US-FL"
    assert moved["data"]["stage"] == "passed-both" and moved["data"]["bill_id"] == "SB 432 (2026)"
    assert "Stage: passed both chambers" in moved["diff"]
    with sqlite3.connect(db) as conn:
        details = [r[0] for r in conn.execute("SELECT detail FROM assertions WHERE source_id = 'os-kratom' "
                                              "AND retired_at IS NULL")]
    assert details == ["bill SB 432 (2026): passed both chambers"]

    site.set("/bills", _answer(_bill(SIGNED)), content_type="application/json")
    assert collect(sources, db) == 0
    events = stored_events(db)[2:]
    assert sorted(e["kind"] for e in events) == ["notice", "status"]
    notice = next(e for e in events if e["kind"] == "notice")
    effective = (date(2026, 4, 1) + timedelta(days=30)).isoformat()
    assert notice["data"]["stage"] == "signed" and notice["data"]["effective_date"] == effective
    status = next(e for e in events if e["kind"] == "status")
    assert status["jurisdiction"] == "US-FL" and status["data"]["effective_date"] == effective
    assert "banned" in status["data"]["new_status"]

    day_before = (date.fromisoformat(effective) - timedelta(days=1)).isoformat()
    before = _status(capsys, "Florida", day_before, db)["leaf"]
    assert before["status"] == "unknown" and [p["stage"] for p in before["pending"]] == ["signed"]
    on_the_day = _status(capsys, "US-FL", effective, db)
    assert on_the_day["leaf"]["status"] == "banned" and on_the_day["7-OH"]["status"] == "banned"
    assert on_the_day["leaf"]["effective_date"] == effective
    assert KEY not in db.read_bytes().decode("latin-1")

    assert collect(sources, db) == 0  # the same answer again: nothing new
    assert len(stored_events(db)) == 4


def test_a_vetoed_bill_stops_being_pending(site, tmp_path, monkeypatch):
    monkeypatch.setenv("KT_TEST_OPENSTATES_KEY", KEY)
    sources = write_sources(tmp_path, SOURCES.format(url=site.url("/bills")))
    db = tmp_path / "t.db"
    site.set("/bills", _answer(_bill(PASSED_BOTH)), content_type="application/json")
    assert collect(sources, db) == 0
    site.set("/bills", _answer(_bill(PASSED_BOTH + [_action(5, GOVERNOR, "Vetoed by Governor", "2026-04-01",
                                                           "executive-veto")])), content_type="application/json")
    assert collect(sources, db) == 0
    # A status falling back to unknown waits for a second look (reliability: an empty or cut answer must
    # not read as a withdrawal); the same answer again confirms it.
    assert not [e for e in stored_events(db) if e["kind"] == "status"]
    assert collect(sources, db) == 0
    events = stored_events(db)
    status = next(e for e in events if e["kind"] == "status")
    assert status["data"]["old_status"] == "pending" and status["data"]["new_status"] == "unknown"


def test_without_the_key_nothing_is_fetched(site, tmp_path, monkeypatch):
    monkeypatch.delenv("KT_TEST_OPENSTATES_KEY", raising=False)
    sources = write_sources(tmp_path, SOURCES.format(url=site.url("/bills")))
    db = tmp_path / "t.db"
    collect(sources, db)
    with sqlite3.connect(db) as conn:
        outcome, error = conn.execute("SELECT last_outcome, last_error FROM sources").fetchone()
    assert outcome == "missing-key" and "KT_TEST_OPENSTATES_KEY" in error
    assert _requests(site, "/bills") == []


def _legiscan(*rows: dict) -> str:
    results = {str(n): row for n, row in enumerate(rows)}
    return json.dumps({"status": "OK", "searchresult": {
        "summary": {"page": "1 of 1", "range": f"1 - {len(rows)}", "relevancy": "100% - 90%", "count": len(rows),
                    "page_current": 1, "page_total": 1}, **results}})


def _ls_row(state: str, number: str, bill_id: int, action: str, day: str, title: str) -> dict:
    return {"relevance": 100, "state": state, "bill_number": number, "bill_id": bill_id,
            "change_hash": f"{bill_id:032x}", "url": f"https://legiscan.com/{state}/bill/{number}/2026",
            "text_url": f"https://legiscan.com/{state}/text/{number}/2026",
            "research_url": f"https://legiscan.com/{state}/research/{number}/2026", "last_action_date": day,
            "last_action": action, "title": title}


def test_legiscan_all_states_and_congress_with_the_key_kept_out_of_errors(site, tmp_path, monkeypatch):
    monkeypatch.setenv("KT_TEST_LEGISCAN_KEY", "ls-secret-key-987654")
    sources = write_sources(tmp_path, f"""sources:
  - id: ls-kratom
    name: LegiScan kratom bills
    type: legislation
    api: legiscan
    url: {site.url('/legiscan/')}
    jurisdiction: US
    key_env: KT_TEST_LEGISCAN_KEY
""")
    db = tmp_path / "t.db"
    site.set("/legiscan/", _legiscan(
        _ls_row("OH", "HB86", 1900001, "Referred to committee Health", "2026-02-02", "Regulate kratom products"),
        _ls_row("US", "HR5870", 1900002, "Introduced in House", "2026-03-03",
                "To prohibit 7-hydroxymitragynine products")), content_type="application/json")
    assert collect(sources, db) == 0
    path = _requests(site, "/legiscan/")[-1][0]
    query = parse_qs(urlsplit(path).query)
    assert query["op"] == ["getSearch"] and query["state"] == ["ALL"] and query["key"] == ["ls-secret-key-987654"]
    with sqlite3.connect(db) as conn:
        rows = sorted(conn.execute("SELECT jurisdiction, substance, status FROM assertions"))
    assert rows == [("US", "7-OH", "pending"), ("US-OH", "all", "pending")]
    site.set("/legiscan/", _legiscan(
        _ls_row("OH", "HB86", 1900001, "Signed by Governor; effective date 09/30/2026", "2026-06-30",
                "Regulate kratom products"),
        _ls_row("US", "HR5870", 1900002, "Introduced in House", "2026-03-03",
                "To prohibit 7-hydroxymitragynine products")), content_type="application/json")
    assert collect(sources, db) == 0
    events = stored_events(db)
    assert [(e["kind"], e["jurisdiction"]) for e in events] == [("notice", "US-OH"), ("status", "US-OH")]
    assert events[1]["data"]["effective_date"] == "2026-09-30" and "regulated" in events[1]["data"]["new_status"]
    # An error that quotes the request URL never records the key.
    site.set("/legiscan/", b"oops", status=500, content_type="text/plain")
    collect(sources, db)
    text = db.read_bytes().decode("latin-1")
    assert "ls-secret-key-987654" not in text


@pytest.mark.parametrize(("text", "day", "expected"), [
    ("Approved by Governor; effective in 30 days", "2026-04-01", "2026-05-01"),
    ("Chapter No. 2026-12; Effective Date: 07/01/2026", "2026-04-01", "2026-07-01"),
    ("Signed by governor, effective July 1, 2026", "2026-04-01", "2026-07-01"),
    ("Effective 90 days after adjournment", "2026-04-01", "2026-06-30"),
    ("Signed by Governor", "2026-04-01", None),
])
def test_effective_dates(text, day, expected):
    assert effective_date(text, day) == expected


@pytest.mark.parametrize(("text", "stage"), [
    ("Filed", "introduced"), ("Passed Senate", "passed-one"), ("Enrolled", "passed-both"),
    ("Sent to Governor", "to-governor"), ("Signed by Governor", "signed"), ("Vetoed by Governor", "vetoed"),
    ("Died in committee", "failed"), ("Became law without signature", "signed"),
])
def test_stages_from_action_wording(text, stage):
    assert text_stage(text) == stage


def test_substances_from_titles():
    assert substance_of("Prohibiting the sale of 7-hydroxymitragynine products") == "7-OH"
    assert substance_of("Kratom Consumer Protection Act; 7-OH limits") == "all"
