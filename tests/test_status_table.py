"""The `status-table` source type and its `kratomnewstoday-csv` parser, on the recorded third-party CSV
(read from ../shared/fixtures/real/, never copied into the package) and on edited copies."""

from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import fixture_bytes, run_cli, stored_events, write_sources
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors.status_table import (
    StatusTableExtractor,
    map_category,
    parse_kratomnewstoday_csv,
)

CSV_NAME = "kratomnewstoday_state-of-kratom-regulation-2026.csv"
SOURCE = SourceConfig(id="knt", type="status-table", name="KNT", jurisdiction="US",
                      url="http://127.0.0.1/state-of-kratom.csv", options=StatusTableExtractor.Options(parser="kratomnewstoday-csv"))


def _recorded() -> str:
    return fixture_bytes(CSV_NAME).decode("utf-8")


def _by_key(table) -> dict[tuple[str, str], str]:
    return {(a.jurisdiction, a.substance): a.status for a in table.assertions}


@pytest.mark.parametrize(("category", "expected"), [
    ("Full ban", [("all", "banned")]),
    ("Full ban (effective July 1)", [("all", "banned")]),
    ("Ban pending", [("all", "pending")]),
    ("Regulated (KCPA)", [("all", "regulated")]),
    ("Regulated (KCPA); enforcement", [("all", "regulated")]),
    ("7-OH restriction", [("7-OH", "regulated")]),
    ("Regulated; 7-OH ban pending signature", [("leaf", "regulated"), ("7-OH", "pending")]),
    ("7-OH ban; natural-leaf rulemaking pending", [("7-OH", "banned"), ("leaf", "pending")]),
    ("Local action; bill pending", [("all", "pending")]),
    ("Local action", []),
])
def test_categories_map_to_our_statuses(category, expected):
    pairs, unknown = map_category(category)
    assert pairs == expected and unknown == []


def test_an_unknown_category_is_reported_not_guessed():
    pairs, unknown = map_category("Regulated; mostly harmless")
    assert unknown == ["mostly harmless"]


def test_the_recorded_csv():
    table = parse_kratomnewstoday_csv(_recorded(), SOURCE)
    statuses = _by_key(table)
    assert table.rows == 32
    assert statuses[("US-AL", "all")] == "banned"
    assert statuses[("US-MI", "all")] == "pending"
    assert statuses[("US-AZ", "all")] == "regulated"
    assert statuses[("US-KS", "7-OH")] == "regulated"
    assert statuses[("US-NY", "leaf")] == "regulated" and statuses[("US-NY", "7-OH")] == "pending"
    assert statuses[("US-OH", "7-OH")] == "banned" and statuses[("US-OH", "leaf")] == "pending"
    assert statuses[("US-GA", "all")] == "regulated"  # Georgia the state, not the country
    tennessee = next(a for a in table.assertions if a.jurisdiction == "US-TN")
    assert tennessee.effective_date == "2026-07-01"  # the category says "effective"
    alabama = next(a for a in table.assertions if a.jurisdiction == "US-AL")
    assert alabama.effective_date is None and "key date 2026-03-25" in alabama.detail  # not an effective date
    assert alabama.evidence_url.startswith("https://www.alabamaag.gov/") and alabama.verified_on == "2026-06-12"
    assert alabama.evidence_kind == "secondary"
    # Rows with no statewide status are warnings with their line, never guessed statuses.
    assert len(table.warnings) == 4
    assert all(w.startswith("line ") for w in table.warnings)
    assert {"US-MO", "US-ID", "US-MA", "US-PA"}.isdisjoint({a.jurisdiction for a in table.assertions})


def test_unmappable_and_unknown_rows_are_warnings():
    text = _recorded().replace("Michigan,Ban pending", "Michigan,Sort of legal-ish").replace("Vermont,", "Vermontt,")
    table = parse_kratomnewstoday_csv(text, SOURCE)
    assert any("Michigan" in w and "Sort of legal-ish" in w for w in table.warnings)
    assert any("Vermontt" in w for w in table.warnings)
    assert ("US-MI", "all") not in _by_key(table)



def _table_source(tmp_path, url: str):
    """sources.yaml with one kratomnewstoday-csv status table at `url`."""
    return write_sources(tmp_path, f"sources:\n  - id: knt\n    type: status-table\n    url: {url}\n"
                                   "    parser: kratomnewstoday-csv\n    jurisdiction: US\n")

def test_one_edited_row_gives_exactly_one_status_event(site, tmp_path, capsys):
    sources = _table_source(tmp_path, site.url('/state-of-kratom.csv'))
    db = tmp_path / "t.db"
    original = _recorded()
    site.set("/state-of-kratom.csv", original, content_type="text/csv; charset=utf-8")
    assert run_cli("collect", "--sources", str(sources), "--db", str(db)) == 0
    assert "warning knt: line" in capsys.readouterr().out  # the unmappable rows are reported
    assert stored_events(db) == []
    edited = original.replace("Michigan,Ban pending,", "Michigan,Full ban,", 1)
    assert edited != original
    site.set("/state-of-kratom.csv", edited, content_type="text/csv; charset=utf-8")
    assert run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet") == 0
    events = stored_events(db)
    assert len(events) == 1
    event = events[0]
    assert (event["kind"], event["jurisdiction"], event["data"]["substance"]) == ("status", "US-MI", "all")
    assert (event["data"]["old_status"], event["data"]["new_status"]) == ("pending", "banned")
    capsys.readouterr()
    assert run_cli("status", "Michigan", "--json", "--db", str(db)) == 0
    assert json.loads(capsys.readouterr().out)["applicable"]["leaf"]["status"] == "banned"
    # Same table again, reordered rows: not a change.
    header, *rows = edited.splitlines(keepends=True)
    site.set("/state-of-kratom.csv", header + "".join(reversed(rows)), content_type="text/csv; charset=utf-8")
    assert run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet") == 0
    assert len(stored_events(db)) == 1


def test_an_unknown_parser_is_refused(tmp_path, capsys):
    sources = write_sources(tmp_path, "sources:\n  - id: t\n    type: status-table\n    url: http://127.0.0.1/x\n"
                                      "    parser: nope\n    jurisdiction: US\n")
    assert run_cli("sources", "check", "--sources", str(sources)) == 2
    assert "kratomnewstoday-csv" in capsys.readouterr().err


def test_a_page_that_is_not_the_table_is_a_parse_error(site, tmp_path):
    sources = _table_source(tmp_path, site.url('/t.csv'))
    site.set("/t.csv", "<html><body>Access denied</body></html>")
    db = tmp_path / "t.db"
    run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT last_outcome FROM sources").fetchone()[0] == "parse-error"


def test_a_row_the_table_drops_reads_unknown_and_links_the_table():
    from kratom_tracker.detect import status_events
    from kratom_tracker.values import Assertion
    from kratom_tracker.vocab import Status

    dropped = Assertion(jurisdiction="US-TX", substance="all", status="pending", evidence_url="https://tx.example/bill")
    (event,) = status_events(SOURCE, [dropped], [])
    assert event.data["new_status"] == "unknown" and event.data["new_status"] in tuple(Status)  # never "withdrawn"
    assert event.title == "US-TX all: pending → unknown"
    assert event.url == SOURCE.url  # the table that no longer says it, not the evidence it no longer cites
