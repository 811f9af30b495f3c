"""The tool's own history and upkeep: `history SOURCE` (snapshots and events, a diff between any two
snapshots), `gc` (retention by count or age that never deletes a snapshot an event, an assertion or a
source needs), and `export` (the status dataset, one row per rule version, with its citations)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import fields
from pathlib import Path

import pytest

from conftest import collect, html_page, run_cli, write_sources
from kratom_tracker.cli.export import rule_versions
from kratom_tracker.store import Store
from kratom_tracker.values import StoredAssertion

VERSIONS = ["Kratom is legal.", "Kratom is regulated.", "Kratom is banned.", "Kratom is legal again.",
            "Kratom is banned again."]


@pytest.fixture
def changing(site, tmp_path) -> Path:
    """A database where one page source changed four times, plus the baseline's assertions."""
    sources = write_sources(tmp_path, f"sources:\n  - {{id: fl-page, type: page, url: '{site.url('/p')}', "
                                      "jurisdiction: US-FL, select: main}\n")
    db = tmp_path / "t.db"
    for text in VERSIONS:
        site.set("/p", html_page(f"<p>{text}</p>"))
        assert collect(sources, db) == 0
    return db


def _out(capsys, *args: str, code: int = 0) -> str:
    assert run_cli(*args) == code
    return capsys.readouterr().out


def test_history_lists_every_snapshot_and_event(changing, capsys):
    records = json.loads(_out(capsys, "history", "fl-page", "--db", str(changing), "--format", "json"))
    assert [r["what"] for r in records].count("snapshot") == 5
    assert [r["what"] for r in records].count("event (content)") == 4
    table = _out(capsys, "history", "fl-page", "--db", str(changing)).splitlines()
    assert table[0].split("\t") == ["at", "what", "id", "detail"] and len(table) == 10


def test_history_diffs_any_two_snapshots(changing, capsys):
    with Store(changing, readonly=True) as store:
        ids = [s.id for s in store.snapshots("fl-page")]
    diff = _out(capsys, "history", "fl-page", "--db", str(changing), "--diff", str(ids[0]), str(ids[2]))
    assert "-Kratom is legal." in diff and "+Kratom is banned." in diff
    previous = _out(capsys, "history", "fl-page", "--db", str(changing), "--diff", str(ids[1]))
    assert "-Kratom is legal." in previous and "+Kratom is regulated." in previous
    assert run_cli("history", "fl-page", "--db", str(changing), "--diff", "999") == 2
    assert run_cli("history", "fl-page", "--db", str(changing), "--diff", str(ids[0])) == 2  # the first has none before
    assert run_cli("history", "no-such-source", "--db", str(changing)) == 2
    assert "fl-page" in capsys.readouterr().err  # the message names the sources there are


def _needed_snapshots(db: Path) -> set[int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT snapshot_id FROM events UNION SELECT snapshot_id FROM assertions "
                            "UNION SELECT snapshot_id FROM sources").fetchall()
    return {row[0] for row in rows if row[0] is not None}


def _snapshot_ids(db: Path) -> set[int]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM snapshots")}


def test_gc_keeps_every_snapshot_an_event_needs(changing, capsys):
    before = _snapshot_ids(changing)
    needed = _needed_snapshots(changing)
    assert len(needed) == 4 and len(before) == 5  # the first snapshot set the starting point, no event
    dry = json.loads(_out(capsys, "gc", "--db", str(changing), "--keep-snapshots", "1", "--keep-fetches", "2",
                          "--dry-run", "--json"))
    assert dry == {"fetches_deleted": 3, "snapshots_deleted": 1, "snapshots_kept_in_use": 3, "dry_run": True}
    assert _snapshot_ids(changing) == before  # a dry run deletes nothing
    report = json.loads(_out(capsys, "gc", "--db", str(changing), "--keep-snapshots", "1", "--keep-fetches", "2",
                             "--json", "--vacuum"))
    assert report["snapshots_deleted"] == 1 and report["fetches_deleted"] == 3
    assert _snapshot_ids(changing) == needed
    with sqlite3.connect(changing) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT COUNT(*) FROM fetches").fetchone() == (2,)


def test_gc_by_age_never_deletes_what_is_needed(changing, site, tmp_path, capsys):
    needed = _needed_snapshots(changing)
    _out(capsys, "gc", "--db", str(changing), "--older-than", "2999-01-01")  # every row is older than that
    assert _snapshot_ids(changing) == needed
    with sqlite3.connect(changing) as conn:
        assert conn.execute("SELECT COUNT(*) FROM fetches").fetchone() == (0,)
    # and the source still compares with its current snapshot: one more change is one more event
    sources = tmp_path / "sources.yaml"
    site.set("/p", html_page("<p>Kratom is regulated again.</p>"))
    assert collect(sources, changing) == 0
    with Store(changing, readonly=True) as store:
        newest = store.events(limit=1)[0]
    assert "-Kratom is banned again." in newest.diff and "+Kratom is regulated again." in newest.diff


def test_gc_refuses_nonsense_and_a_missing_database(tmp_path, changing):
    assert run_cli("gc", "--db", str(changing), "--keep-snapshots", "0") == 2
    assert run_cli("gc", "--db", str(changing), "--older-than", "soon") == 2
    assert run_cli("gc", "--db", str(tmp_path / "none.db")) == 1
    assert not (tmp_path / "none.db").exists()


def test_export_has_every_assertion_field_and_the_dates(demo_database, capsys):
    rows = list(csv.DictReader(io.StringIO(_out(capsys, "export", "--db", str(demo_database)))))
    header = set(rows[0])
    assert {f.name for f in fields(StoredAssertion)} <= header
    assert {"region_name", "effective_date", "expiry_date", "evidence_url"} <= header
    with Store(demo_database, readonly=True) as store:
        assert len(rows) == len(store.current_assertions())
    florida = [r for r in rows if r["jurisdiction"] == "US-FL"]
    assert florida and {r["region_name"] for r in florida} == {"Florida"}
    assert all(r["evidence_url"].startswith("http") for r in rows)
    scoped = list(csv.DictReader(io.StringIO(_out(capsys, "export", "--region", "Florida", "--db",
                                                  str(demo_database)))))
    assert {r["jurisdiction"] for r in scoped} == {"US-FL", "US-FL/sarasota-county"}


def test_export_to_a_file(demo_database, tmp_path, capsys):
    out = tmp_path / "out" / "status.csv"
    assert run_cli("export", "--db", str(demo_database), "--out", str(out)) == 0
    assert out.read_text(encoding="utf-8").startswith("jurisdiction,region_name,substance,status,")
    assert capsys.readouterr().out == ""


def test_a_rule_version_expires_when_the_next_takes_effect():
    proposed = StoredAssertion("US", "7-OH", "pending", effective_date="2016-08-31", source_id="fr")
    withdrawn = StoredAssertion("US", "7-OH", "unknown", effective_date="2016-10-13", source_id="fr")
    elsewhere = StoredAssertion("US", "7-OH", "legal", effective_date="2016-10-13", source_id="baseline")
    rows = rule_versions([withdrawn, elsewhere, proposed])
    by_status = {r["status"]: r for r in rows}
    assert by_status["pending"]["expiry_date"] == "2016-10-13"
    assert by_status["unknown"]["expiry_date"] is None
    assert by_status["legal"]["expiry_date"] is None  # another source's rule is another rule
    assert by_status["pending"]["region_name"] == "United States"
