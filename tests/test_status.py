"""The status model: chain walking, disputes, future-dated assertions with --as-of, and
`status REGION` at the command line on the shipped cited baseline."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from conftest import run_cli, write_sources
from kratom_tracker import shipped
from kratom_tracker.rules import applicable, current_for_chain
from kratom_tracker.values import StoredAssertion

DAY = date(2026, 11, 1)


def _a(jurisdiction, substance, status, effective=None, source="s1", url=None, verified="2026-10-01"):
    return StoredAssertion(jurisdiction=jurisdiction, substance=substance, status=status, detail="",
                           effective_date=effective, source_id=source,
                           evidence_url=url or f"https://example.gov/{jurisdiction}/{substance}/{status}",
                           quote=f"{jurisdiction} {status}", observed_at="2026-10-01T00:00:00Z",
                           evidence_kind="primary", verified_on=verified)


def test_no_data_is_unknown_never_an_error():
    answer = applicable([], "US-FL/sarasota-county", DAY)
    assert {k: answer["leaf"][k] for k in ("status", "jurisdiction", "effective_date", "disputed", "detail",
                                           "evidence")} == {"status": "unknown", "jurisdiction": None,
                                                            "effective_date": None, "disputed": False,
                                                            "detail": "", "evidence": []}
    assert answer["leaf"]["pending"] == [] and answer["leaf"]["expiry_date"] is None
    # v2: one entry per substance the vocabulary tells apart (`all` applies to each of them)
    assert set(answer) == {"leaf", "7-OH", "mitragynine-pseudoindoxyl", "MGM-15", "MGM-16"}


def test_a_county_ban_under_a_regulated_state():
    rows = [_a("US", "leaf", "legal"), _a("US-FL", "all", "regulated", "2024-07-01"),
            _a("US-FL/sarasota-county", "all", "banned", "2014-02-12")]
    county = applicable(rows, "US-FL/sarasota-county", DAY)
    state = applicable(rows, "US-FL", DAY)
    other_county = applicable(rows, "US-FL/miami", DAY)
    assert county["leaf"]["status"] == "banned" and county["leaf"]["jurisdiction"] == "US-FL/sarasota-county"
    assert county["leaf"]["effective_date"] == "2014-02-12"
    assert state["leaf"]["status"] == "regulated" and state["leaf"]["jurisdiction"] == "US-FL"
    assert other_county["7-OH"]["status"] == "regulated"
    assert applicable(rows, "US", DAY)["leaf"]["status"] == "legal"
    assert applicable(rows, "US", DAY)["7-OH"]["status"] == "unknown"


def test_the_most_restrictive_link_wins_whatever_its_level():
    rows = [_a("US", "7-OH", "pending"), _a("US-TX", "leaf", "legal"), _a("US-TX", "7-OH", "regulated")]
    answer = applicable(rows, "US-TX", DAY)
    assert answer["7-OH"]["status"] == "regulated" and answer["7-OH"]["jurisdiction"] == "US-TX"
    # v2: a proposal is never the answer; with no law in force known it is listed beside "unknown"
    maine = applicable([_a("US", "7-OH", "pending"), _a("US-ME", "leaf", "legal")], "US-ME", DAY)["7-OH"]
    assert maine["status"] == "unknown" and [p["jurisdiction"] for p in maine["pending"]] == ["US"]
    assert [p["jurisdiction"] for p in answer["7-OH"]["pending"]] == ["US"]


def test_all_applies_to_every_substance_and_a_source_refines_its_own_all_row():
    rows = [_a("US-OH", "all", "regulated"), _a("US-OH", "7-OH", "banned")]
    answer = applicable(rows, "US-OH", DAY)
    assert answer["leaf"]["status"] == "regulated" and not answer["leaf"]["disputed"]
    assert answer["7-OH"]["status"] == "banned" and not answer["7-OH"]["disputed"]
    other_source = [_a("US-OH", "all", "regulated"), _a("US-OH", "7-OH", "legal", source="s2")]
    assert applicable(other_source, "US-OH", DAY)["7-OH"]["disputed"] is True


def test_two_sources_that_disagree_make_the_place_disputed_with_both_citations():
    rows = [_a("US-DC", "all", "banned", url="https://a.example/dc"),
            _a("US-DC", "all", "legal", source="s2", url="https://b.example/dc")]
    answer = applicable(rows, "US-DC", DAY)["leaf"]
    assert answer["disputed"] is True and answer["status"] == "banned"
    assert {e["url"] for e in answer["evidence"]} == {"https://a.example/dc", "https://b.example/dc"}
    agreeing = [_a("US-CA", "all", "banned", url="https://a.example/ca"),
                _a("US-CA", "all", "banned", source="s2", url="https://b.example/ca")]
    assert applicable(agreeing, "US-CA", DAY)["leaf"]["disputed"] is False
    assert len(applicable(agreeing, "US-CA", DAY)["leaf"]["evidence"]) == 2


def test_an_undisputed_higher_ban_beats_a_disputed_lower_link():
    rows = [_a("US-TN", "all", "banned"), _a("US-TN/x", "all", "banned"),
            _a("US-TN/x", "all", "legal", source="s2")]
    answer = applicable(rows, "US-TN/x", DAY)["leaf"]
    assert answer["status"] == "banned" and answer["disputed"] is False and answer["jurisdiction"] == "US-TN"


def test_a_future_dated_assertion_becomes_current_on_its_effective_date():
    rows = [_a("US-TN", "all", "legal", verified="2026-05-01"), _a("US-TN", "all", "banned", "2026-07-01")]
    assert applicable(rows, "US-TN", date(2026, 6, 30))["leaf"]["status"] == "legal"
    on_the_day = applicable(rows, "US-TN", date(2026, 7, 1))["leaf"]
    assert on_the_day["status"] == "banned" and on_the_day["disputed"] is False
    assert on_the_day["effective_date"] == "2026-07-01"
    assert [a.status for a in current_for_chain(rows, "US-TN", date(2026, 6, 30))] == ["legal"]
    assert [a.status for a in current_for_chain(rows, "US-TN", date(2026, 7, 2))] == ["banned"]


def test_a_claim_rechecked_after_a_change_disagrees_with_it():
    rows = [_a("FI", "all", "banned", "2016-04-01"), _a("FI", "all", "regulated", source="s2", verified="2026-11-01")]
    assert applicable(rows, "FI", DAY)["leaf"]["disputed"] is True
    assert applicable(rows, "FI", date(2016, 3, 1))["leaf"]["status"] == "regulated"


# -- the command line on the shipped baseline -----------------------------------------------------------


@pytest.fixture(scope="module")
def baseline_db(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("baseline")
    sources = write_sources(tmp, f"""sources:
  - id: baseline-us
    type: baseline
    path: {shipped.data_file('baseline_us.csv')}
    jurisdiction: US
  - id: baseline-intl
    type: baseline
    path: {shipped.data_file('baseline_intl.csv')}
    jurisdiction: international
""")
    db = tmp / "t.db"
    assert run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet") == 0
    return db


def _status_json(db: Path, *args: str, capsys) -> dict:
    capsys.readouterr()
    assert run_cli("status", *args, "--json", "--db", str(db)) == 0
    return json.loads(capsys.readouterr().out)


def test_status_json_contract_on_the_baseline(baseline_db, capsys):
    doc = _status_json(baseline_db, "US", "--as-of", "2026-11-01", capsys=capsys)
    assert {k: doc["region"][k] for k in ("code", "name")} == {"code": "US", "name": "United States"}
    # additive: what kind of place it is and its chain, and the answer in words
    assert doc["region"]["kind"] == "country" and doc["region"]["chain"] == [
        {"code": "US", "name": "United States", "kind": "country"}]
    assert doc["note"].startswith("federal law applies in United States: ")
    assert doc["as_of"] == "2026-11-01"
    assert {"leaf", "7-OH"} <= set(doc["applicable"])
    for entry in doc["applicable"].values():
        assert {"status", "jurisdiction", "effective_date", "disputed", "evidence"} <= set(entry)
        assert entry["evidence"] and all({"source_id", "url", "quote", "observed_at"} <= set(e) for e in entry["evidence"])
        # v2 additions: until when, the instrument, the conditions, the pending measures, evidence quality
        assert {"expiry_date", "instrument", "citation", "conditions", "conditions_text", "pending",
                "primary"} <= set(entry)
        assert all(e["kind"] in ("primary", "secondary") for e in entry["evidence"])
    assert doc["applicable"]["leaf"]["status"] == "legal"
    # v2: 7-OH is not scheduled; the DEA's notice of intent is pending beside it, not instead of it
    seven_oh = doc["applicable"]["7-OH"]
    assert seven_oh["status"] == "legal" and seven_oh["primary"] is True
    assert [(p["bill_id"], p["stage"]) for p in seven_oh["pending"]] == [("DEA-1570", "proposed-rule")]
    assert doc["applicable"]["MGM-15"]["status"] == "banned"  # the 2026 temporary order
    assert doc["applicable"]["MGM-15"]["expiry_date"] == "2028-08-26"
    assert all(a["jurisdiction"] == "US" for a in doc["assertions"])
    assert all({"jurisdiction", "substance", "status", "effective_date", "source_id", "evidence_url", "quote",
                "observed_at", "expiry_date", "instrument", "citation", "conditions"} <= set(a)
               for a in doc["assertions"])


@pytest.mark.parametrize(("region", "leaf", "seven_oh", "where"), [
    ("Sarasota County, Florida", "banned", "banned", "US-FL/sarasota-county"),
    ("US-TN", "regulated", "banned", "US-TN"),  # re-verified: natural leaf is 21+, synthetic 7-OH banned
    ("GB", "banned", "banned", "GB"),
    ("fl", "regulated", "banned", "US-FL"),
])
def test_done_when_regions_answer_from_the_baseline(baseline_db, capsys, region, leaf, seven_oh, where):
    doc = _status_json(baseline_db, region, capsys=capsys)
    assert doc["applicable"]["leaf"]["status"] == leaf
    assert doc["applicable"]["7-OH"]["status"] == seven_oh
    assert doc["applicable"]["leaf"]["jurisdiction"] == where
    assert doc["applicable"]["leaf"]["evidence"][0]["url"].startswith("https://")


def test_baseline_disputes_show(baseline_db, tmp_path, capsys):
    # The re-verified baseline has one voice per place (DC's two v1 rows were one outdated claim; DC is
    # `unknown` now, which disputes nothing); a second table that disagrees with the law in force on the
    # same day makes the place disputed, with both citations.
    assert _status_json(baseline_db, "District of Columbia", capsys=capsys)["applicable"]["leaf"]["disputed"] is False
    (tmp_path / "ours.csv").write_text(
        "jurisdiction,substance,status,detail,effective_date,summary,source_url,source_type,last_verified\n"
        "US-DE,all,banned,,,Our own reading: banned.,https://example.gov/de,secondary,2026-11-01\n", encoding="utf-8")
    db = tmp_path / "t.db"
    shutil.copy(baseline_db, db)
    sources = write_sources(tmp_path, "sources:\n  - {id: ours, type: baseline, path: ours.csv, jurisdiction: US-DE}\n")
    assert run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet") == 0
    leaf = _status_json(db, "Delaware", capsys=capsys)["applicable"]["leaf"]
    assert leaf["disputed"] is True and leaf["status"] == "banned"
    assert {e["source_id"] for e in leaf["evidence"]} == {"ours", "baseline-us"}
    assert {e["kind"] for e in leaf["evidence"]} == {"primary", "secondary"}


def test_human_status_names_the_chain_the_status_and_the_citation(baseline_db, capsys):
    capsys.readouterr()
    assert run_cli("status", "Sarasota County, Florida", "--db", str(baseline_db)) == 0
    out = capsys.readouterr().out
    assert "Sarasota County, Florida (US-FL/sarasota-county)" in out
    assert "banned" in out and "https://" in out and "Florida (US-FL)" in out


def test_no_database_is_refused_not_answered_unknown(tmp_path, capsys):
    # An all-"unknown" answer from no data would read as a real answer (test_missing_database.py covers
    # every read command); "unknown" is for a region the database knows nothing about.
    capsys.readouterr()
    assert run_cli("status", "US-FL", "--json", "--db", str(tmp_path / "missing.db")) == 1
    out, err = capsys.readouterr()
    assert out == "" and "no database at" in err


def test_bad_as_of_is_a_usage_error(baseline_db, capsys):
    assert run_cli("status", "US", "--as-of", "yesterday", "--db", str(baseline_db)) == 2
    assert "--as-of" in capsys.readouterr().err


def test_editing_a_baseline_row_gives_a_status_event_and_changes_accepts_names(tmp_path, capsys):
    data = tmp_path / "baseline.csv"
    shutil.copy(shipped.data_file("baseline_us.csv"), data)
    sources = write_sources(tmp_path, f"sources:\n  - id: b\n    type: baseline\n    path: {data}\n    jurisdiction: US\n")
    db = tmp_path / "t.db"
    assert run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet") == 0
    lines = data.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("US-FL/sarasota-county,"))
    lines[index] = lines[index].replace(",all,banned,", ",all,regulated,", 1)
    data.write_text("".join(lines), encoding="utf-8")
    assert run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet") == 0
    capsys.readouterr()
    assert run_cli("changes", "--region", "Florida", "--json", "--db", str(db)) == 0
    events = json.loads(capsys.readouterr().out)
    assert [(e["kind"], e["jurisdiction"], e["data"]["new_status"]) for e in events] == \
        [("status", "US-FL/sarasota-county", "regulated")]
    doc = _status_json(db, "Sarasota County FL", capsys=capsys)
    assert doc["applicable"]["leaf"]["status"] == "regulated"
    assert run_cli("changes", "--region", "Tennessee", "--json", "--db", str(db)) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_pending_proposal_does_not_contradict_the_law_in_force():
    rows = [_a("US", "7-OH", "legal", "2016-10-13", verified="2016-10-17"), _a("US", "7-OH", "pending", source="s2")]
    answer = applicable(rows, "US", DAY)["7-OH"]
    # v2: the law in force is the answer and the proposal is listed beside it ("legal; a ban is proposed")
    assert answer["status"] == "legal" and answer["disputed"] is False
    assert [e["status"] for e in answer["evidence"]] == ["legal"]
    assert [p["evidence"]["status"] for p in answer["pending"]] == ["pending"]


def test_the_note_names_the_levels_that_apply_for_places_without_rules(baseline_db, capsys):
    tampa = _status_json(baseline_db, "Tampa, Florida", "--as-of", "2026-11-01", capsys=capsys)
    assert tampa["region"]["code"] == "US-FL/tampa"
    assert [level["code"] for level in tampa["region"]["chain"]] == ["US", "US-FL", "US-FL/hillsborough-county",
                                                                     "US-FL/tampa"]
    assert tampa["note"].startswith("no local rule known for Tampa (Hillsborough County); Florida and federal "
                                    "law apply: kratom leaf regulated")
    toronto = _status_json(baseline_db, "Toronto", capsys=capsys)
    assert toronto["note"].startswith("no local rule known for Toronto; ") and toronto["region"]["kind"] == "city"
    ontario = _status_json(baseline_db, "Ontario", capsys=capsys)
    assert ontario["note"].startswith("no regional rule known for Ontario")
    capsys.readouterr()
    assert run_cli("status", "Hinds County, Mississippi", "--db", str(baseline_db)) == 0
    assert "no local rule known for Hinds County; Mississippi and federal law apply" in \
        " ".join(capsys.readouterr().out.split())
