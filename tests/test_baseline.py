"""The cited baseline in the v2 columns: the extractor reads v2 rows (and still v1 rows), refuses a row
it cannot trust to mean what it says, and the shipped tables cover what the issue asks, with every
locality resolvable and no row resting on a machine-written aggregator alone."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import sys
from datetime import date

import pytest

from conftest import REPO, collect, run_cli, write_sources
from kratom_tracker import regions, rules, shipped
from kratom_tracker.extractors.baseline import COLUMNS, NOTE_COLUMN, V2_COLUMNS, parse_rows
from kratom_tracker.values import StoredAssertion

V1_HEAD = ",".join(COLUMNS)
V2_HEAD = ",".join((*COLUMNS, *V2_COLUMNS))
V2_GOOD = ("US-CO,7-OH,regulated,2% cap,2025-07-01,Capped at 2 %.,https://leg.colorado.gov/x,primary,2026-12-01,"
           "session-law,C.R.S. 6-1-740,,,SB 25-072 (2025),2,%,of total alkaloids,21,sale|distribution,no")
AGGREGATORS = re.compile(r"(?i)kratomnewstoday|statensorgan|kratombans\.com|newsworthy\.ai|burstable\.news")


def _load(name: str) -> list[dict[str, str]]:
    with open(shipped.data_file(name), encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _counts_module():
    spec = importlib.util.spec_from_file_location("baseline_counts", REPO / "scripts" / "baseline_counts.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# -- the extractor -------------------------------------------------------------------------------------


def test_a_v2_row_carries_its_terms():
    [assertion], problems = parse_rows(f"{V2_HEAD}\n{V2_GOOD}\n")
    assert problems == []
    assert (assertion.instrument, assertion.citation, assertion.bill_id) == ("session-law", "C.R.S. 6-1-740",
                                                                             "SB 25-072 (2025)")
    assert (assertion.threshold_value, assertion.threshold_unit, assertion.min_age) == (2.0, "%", 21)
    assert assertion.prohibited == ("sale", "distribution") and assertion.preempts_local is False
    assert assertion.conditions.text("7-OH", "regulated") == "21+; 7-OH above 2 % of total alkaloids banned"


def test_a_v1_file_still_reads_without_terms():
    [assertion], problems = parse_rows(f"{V1_HEAD}\nUS-TX,leaf,legal,,,No law.,https://example.gov/tx,primary,"
                                       "2026-01-01\n")
    assert problems == []
    assert (assertion.instrument, assertion.expiry_date, assertion.min_age, assertion.prohibited) == ("", None,
                                                                                                       None, ())


@pytest.mark.parametrize(("change", "reason"), [
    ({"instrument": "decree"}, "instrument 'decree' is not one of"),
    ({"stage": "introduced"}, "only pending measures have a stage"),
    ({"status": "pending", "stage": "tabled"}, "stage 'tabled' is not one of"),
    ({"expiry_date": "2025-06-30"}, "is not after effective_date"),
    ({"expiry_date": "2026-02-30"}, "is not a date"),
    ({"effective_date": "1 July 2025"}, "is not a date"),
    ({"threshold_value": "two"}, "is not a number"),
    ({"threshold_unit": ""}, "go together"),
    ({"threshold_unit": "grams"}, "threshold_unit 'grams' is not one of"),
    ({"min_age": "21+"}, "is not an age"),
    ({"prohibited": "sale|smoking"}, "'smoking' not among"),
    ({"preempts_local": "maybe"}, "is not yes, no or empty"),
    ({"source_type": "official"}, "source_type 'official' is not one of"),
    ({"substance": "7OH"}, "substance '7OH' is not one of"),
    ({"jurisdiction": "US-XX/somewhere"}, "unknown jurisdiction"),
])
def test_a_row_that_cannot_be_trusted_is_refused_with_its_line(change, reason):
    row = dict(zip((*COLUMNS, *V2_COLUMNS), next(csv.reader([V2_GOOD])), strict=True))
    row.update(change)
    text = V2_HEAD + "\n" + ",".join(row[c] for c in (*COLUMNS, *V2_COLUMNS)) + "\n"
    assertions, problems = parse_rows(text)
    assert assertions == [] and len(problems) == 1
    assert problems[0].startswith("line 2: ") and reason in problems[0], problems


def test_the_terms_reach_the_store_and_the_status_answer(tmp_path, capsys):
    (tmp_path / "b.csv").write_text(f"{V2_HEAD}\n{V2_GOOD}\n", encoding="utf-8")
    sources = write_sources(tmp_path, "sources:\n  - {id: b, type: baseline, path: b.csv, jurisdiction: US}\n")
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    capsys.readouterr()
    assert run_cli("status", "Colorado", "--json", "--db", str(db)) == 0
    doc = json.loads(capsys.readouterr().out)
    entry = doc["applicable"]["7-OH"]
    assert entry["conditions"] == {"min_age": 21, "thresholds": [{"value": 2.0, "unit": "%",
                                                                  "basis": "of total alkaloids"}],
                                   "prohibited": ["sale", "distribution"]}
    assert (entry["instrument"], entry["citation"], entry["primary"]) == ("session-law", "C.R.S. 6-1-740", True)
    [item] = doc["assertions"]
    assert (item["bill_id"], item["preempts_local"], item["evidence_kind"]) == ("SB 25-072 (2025)", False, "primary")
    assert run_cli("status", "Colorado", "--db", str(db)) == 0
    assert "regulated: 21+; 7-OH above 2 % of total alkaloids banned" in capsys.readouterr().out


def test_collecting_the_same_table_again_changes_nothing(tmp_path):
    (tmp_path / "b.csv").write_text(f"{V2_HEAD}\n{V2_GOOD}\n", encoding="utf-8")
    sources = write_sources(tmp_path, "sources:\n  - {id: b, type: baseline, path: b.csv, jurisdiction: US}\n")
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    (tmp_path / "b.csv").write_text(f"{V2_HEAD}\n{V2_GOOD}\n\n", encoding="utf-8")  # new bytes, same rows
    assert collect(sources, db) == 0
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(retired_at) FROM assertions").fetchone() == (1, 0)


# -- the shipped tables ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["baseline_us.csv", "baseline_intl.csv"])
def test_the_shipped_tables_load_in_the_v2_columns_without_a_problem(name):
    text = shipped.data_file(name).read_text(encoding="utf-8")
    header = next(csv.reader([text.splitlines()[0]]))
    assert header == [*COLUMNS, *V2_COLUMNS, NOTE_COLUMN]  # v1 names first and unchanged, research notes out
    assertions, problems = parse_rows(text)
    assert problems == [] and assertions


def test_no_shipped_row_rests_on_a_machine_written_aggregator():
    for name in ("baseline_us.csv", "baseline_intl.csv"):
        for row in _load(name):
            assert not AGGREGATORS.search(row["source_url"]), (row["jurisdiction"], row["source_url"])


def test_the_baseline_covers_every_state_dc_localities_countries_and_the_federal_order():
    counts = _counts_module().count()[0]
    assert counts.problems == 0 and counts.states == 51 and counts.localities >= 60 and counts.countries >= 40
    federal = {(r["substance"], r["status"], r["effective_date"], r["expiry_date"]) for r in _load("baseline_us.csv")
               if r["jurisdiction"] == "US"}
    for substance in ("mitragynine-pseudoindoxyl", "MGM-15", "MGM-16"):
        assert (substance, "banned", "2026-08-26", "2028-08-26") in federal


def test_the_readme_gives_the_counts_of_the_command_that_counts_them():
    counts = _counts_module().count()[0]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "scripts/baseline_counts.py" in readme
    for figure in (f"{counts.rows} rows", f"{counts.primary} primary ({counts.primary_share:.1%})",
                   f"{counts.localities} localities", f"{counts.countries} countries"):
        assert figure in readme, figure
    assert "not legal advice" in readme.lower()


def test_every_locality_resolves_by_name_county_and_alias():
    localities = {loc.code: loc for loc in regions.load_localities(shipped.data_file("localities.csv"))}
    codes = {r["jurisdiction"] for r in _load("baseline_us.csv") if "/" in r["jurisdiction"]}
    assert codes <= set(localities)
    for code in codes:
        place = localities[code]
        assert place.county, code
        state = regions.display_name(place.parent)
        for text in (f"{place.name}, {state}", f"{place.name} {place.parent.split('-')[1]}", code):
            assert regions.lookup(text, shipped.data_file("localities.csv")).code == code, text
    assert localities["US-MS/tupelo"].aliases[:2] == ("Tupelo, Mississippi", "Tupelo MS")
    assert localities["US-MS/tupelo"].county == "Lee County"


def _shipped_rows() -> list[StoredAssertion]:
    rows = []
    for name, source in (("baseline_us.csv", "baseline-us"), ("baseline_intl.csv", "baseline-intl")):
        for a in parse_rows(shipped.data_file(name).read_text(encoding="utf-8"))[0]:
            values = {k: v for k, v in a.as_dict().items() if k in StoredAssertion.__dataclass_fields__}
            rows.append(StoredAssertion(source_id=source, observed_at="2026-12-01T00:00:00Z", **values))
    return rows


@pytest.mark.parametrize("day", ["2016-09-15", "2020-01-01", "2025-09-01", "2026-12-01", "2027-06-01"])
def test_every_covered_region_answers_by_the_rules_with_primary_evidence_first(day):
    rows = _shipped_rows()
    for code in sorted({a.jurisdiction for a in rows}):
        for substance, entry in rules.applicable(rows, code, date.fromisoformat(day)).items():
            assert entry["status"] != "pending", (code, substance)
            assert not entry["disputed"], (code, substance, day)  # one voice per place in our own table
            winners = [e for e in entry["evidence"] if e["status"] == entry["status"]]
            if any(e["kind"] == "primary" for e in winners):
                assert winners[0]["kind"] == "primary", (code, substance)


def test_ohio_leaf_is_legal_with_a_ban_proposed_and_the_us_answers_2016_09_15():
    rows = _shipped_rows()
    ohio = rules.applicable(rows, "US-OH", date(2026, 12, 1))["leaf"]
    assert ohio["status"] == "legal" and any("4729:9-1-01.2" in (p["citation"] or "") for p in ohio["pending"])
    us = rules.applicable(rows, "US", date(2016, 9, 15))["leaf"]
    assert us["status"] == "legal" and [p["bill_id"] for p in us["pending"]] == ["DEA-442"]
