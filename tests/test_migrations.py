"""Schema migrations: a database written by an older schema opens and upgrades without loss; one written
by a newer kratom-tracker is refused with a clear message (and the command line says so, no traceback)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from conftest import run_cli
from kratom_tracker import store as store_module
from kratom_tracker.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError

# One row per table as schema 1 knew it; every later schema must keep these values.
V1_ROWS = {
    "sources": {"id": "fda", "type": "page", "name": "FDA", "url": "https://www.fda.gov/x", "jurisdiction": "US",
                "etag": '"abc"', "body_hash": "b" * 64, "snapshot_id": 2, "snapshot_hash": "s" * 64,
                "last_fetch_at": "2026-01-02T00:00:00Z", "last_outcome": "changed", "consecutive_failures": 0},
    "snapshots": [
        {"id": 1, "source_id": "fda", "hash": "h1", "content": '{"lines":["one"]}',
         "created_at": "2026-01-01T00:00:00Z", "reason": "initial"},
        {"id": 2, "source_id": "fda", "hash": "h2", "content": '{"lines":["two"]}',
         "created_at": "2026-01-02T00:00:00Z", "reason": "change"},
    ],
    "events": {"id": 1, "kind": "content", "source_id": "fda", "jurisdiction": "US",
               "detected_at": "2026-01-02T00:00:00Z", "title": "FDA: page changed", "summary": "two",
               "diff": "-one\n+two", "url": "https://www.fda.gov/x", "data": '{"added": 1}', "snapshot_id": 2},
    "fetches": {"id": 1, "source_id": "fda", "started_at": "2026-01-02T00:00:00Z", "duration_ms": 12,
                "outcome": "changed", "http_status": 200, "bytes": 100, "events": 1},
    "assertions": {"id": 1, "source_id": "fda", "jurisdiction": "US-FL", "substance": "7-OH", "status": "banned",
                   "effective_date": "2025-08-14", "evidence_url": "https://www.flrules.org/x",
                   "quote": "emergency rule", "observed_at": "2026-01-02T00:00:00Z", "snapshot_id": 2},
    "outbox": {"id": 1, "target": "json://127.0.0.1:9/hook", "event_id": 1, "kind": "content", "title": "t",
               "body": "b", "created_at": "2026-01-02T00:00:00Z"},
}


def _write_version_1(path: Path) -> None:
    """A database exactly as a kratom-tracker with schema 1 left it: migration 1 only, with data."""
    db = sqlite_utils.Database(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    MIGRATIONS[1](db)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('instance_id', 'old-instance')")
    for table, rows in V1_ROWS.items():
        db[table].insert_all(rows if isinstance(rows, list) else [rows])
    db.conn.commit()
    db.close()


def _rows(path: Path, table: str, columns: list[str]) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid").fetchall()


def test_migrations_form_an_unbroken_chain():
    assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION + 1))


def test_a_version_1_database_upgrades_without_loss(tmp_path):
    path = tmp_path / "old.db"
    _write_version_1(path)
    before = {table: _rows(path, table, list((rows if isinstance(rows, list) else [rows])[0]))
              for table, rows in V1_ROWS.items()}
    with Store(path) as store:
        assert store.meta("schema_version") == str(SCHEMA_VERSION)
        assert store.meta("instance_id") == "old-instance"  # the feed identity survives the upgrade
        assert [e["title"] for e in [e.as_dict() for e in store.events()]] == ["FDA: page changed"]
        assert store.current_assertions(["US-FL"])[0].status == "banned"
        assert store.source_states()["fda"].snapshot_id == 2
    for table, rows in V1_ROWS.items():
        columns = list((rows if isinstance(rows, list) else [rows])[0])
        assert _rows(path, table, columns) == before[table], table
    with Store(path) as store:  # opening again is a no-op
        assert store.meta("schema_version") == str(SCHEMA_VERSION)
    with Store(path, readonly=True) as reader:
        assert len([e.as_dict() for e in reader.events()]) == 1


def test_an_upgraded_database_keeps_working(tmp_path, site):
    from conftest import html_page, write_sources

    path = tmp_path / "old.db"
    _write_version_1(path)
    site.set("/p", html_page("<p>kratom one</p>"))
    sources = write_sources(tmp_path, f"sources:\n  - {{id: fresh, type: page, url: '{site.url('/p')}', "
                                      "jurisdiction: US, select: main}\n")
    assert run_cli("collect", "--sources", str(sources), "--db", str(path), "--quiet") == 0
    site.set("/p", html_page("<p>kratom two</p>"))
    assert run_cli("collect", "--sources", str(sources), "--db", str(path), "--quiet") == 0
    with Store(path, readonly=True) as store:
        assert [e["source_id"] for e in [e.as_dict() for e in store.events()]] == ["fresh", "fda"]


def test_an_empty_file_is_set_up_from_scratch(tmp_path):
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    with Store(path) as store:
        assert store.meta("schema_version") == str(SCHEMA_VERSION)
        assert [e.as_dict() for e in store.events()] == []


def _write_newer(path: Path) -> None:
    with Store(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])


@pytest.mark.parametrize("readonly", [False, True])
def test_a_database_from_a_newer_version_is_refused(tmp_path, readonly):
    path = tmp_path / "new.db"
    _write_newer(path)
    with pytest.raises(StoreError, match=r"newer kratom-tracker.*Upgrade kratom-tracker"):
        Store(path, readonly=readonly)
    with sqlite3.connect(path) as conn:  # and left as it was
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
            SCHEMA_VERSION + 1)


@pytest.mark.parametrize("command", [["collect"], ["changes", "--json"], ["sources", "list"]])
def test_the_command_line_refuses_a_newer_database_without_a_traceback(tmp_path, capsys, site, command):
    from conftest import html_page, write_sources

    path = tmp_path / "new.db"
    _write_newer(path)
    site.set("/p", html_page("<p>kratom one</p>"))
    sources = write_sources(tmp_path, f"sources:\n  - {{id: s, type: page, url: '{site.url('/p')}', "
                                      "jurisdiction: US}\n")
    args = [*command, "--db", str(path)]
    if command[0] in ("collect", "sources"):
        args += ["--sources", str(sources)]
    code = run_cli(*args)
    captured = capsys.readouterr()
    assert code != 0
    assert "newer kratom-tracker" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite at all " * 100)
    code = run_cli("changes", "--db", str(path))
    captured = capsys.readouterr()
    assert code != 0
    assert "Traceback" not in captured.err
    assert str(path) in captured.err


def test_schema_version_constant_matches_the_module():
    assert store_module.SCHEMA_VERSION == SCHEMA_VERSION


def test_version_2_adds_the_terms_and_the_evidence_table_without_touching_version_1_rows(tmp_path):
    path = tmp_path / "old.db"
    _write_version_1(path)
    with Store(path) as store:
        [assertion] = store.current_assertions(["US-FL"])
        # a version 1 row reads as "terms not known", never as made-up terms
        assert (assertion.expiry_date, assertion.instrument, assertion.threshold_value, assertion.min_age,
                assertion.prohibited, assertion.preempts_local) == (None, "", None, None, (), None)
        assert store.events()[0].evidence_sha256 is None
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(assertions)")}
        assert {"expiry_date", "instrument", "citation", "stage", "bill_id", "threshold_value", "threshold_unit",
                "threshold_basis", "min_age", "prohibited", "preempts_local"} <= columns
        assert {row[1] for row in conn.execute("PRAGMA table_info(evidence)")} == {
            "sha256", "body", "encoding", "size", "content_type", "url", "first_seen"}
        assert "evidence_sha256" in {row[1] for row in conn.execute("PRAGMA table_info(events)")}


def test_migration_1_is_unchanged():
    # Shipped migrations are never edited: a database that ran migration 1 must have exactly these tables.
    import hashlib

    assert hashlib.sha256(store_module._SCHEMA_1.encode()).hexdigest()[:16] == "00ac46dcfc537af7"


def test_a_reader_refuses_a_database_not_yet_upgraded_with_what_to_do(tmp_path, capsys):
    path = tmp_path / "old.db"
    _write_version_1(path)
    with pytest.raises(StoreError, match=r"schema 1.*Run `kratom-tracker collect`"):
        Store(path, readonly=True)
    assert run_cli("status", "US-FL", "--db", str(path)) == 1
    assert "upgrade" in capsys.readouterr().err
    with Store(path):  # a writer upgrades it; then readers read it
        pass
    with Store(path, readonly=True) as reader:
        assert reader.current_assertions(["US-FL"])[0].status == "banned"


# -- migration 3: foreign keys, full-text search, region names and views for Datasette ------------------


def _foreign_keys(path: Path) -> dict[str, set[tuple[str, str]]]:
    db = sqlite_utils.Database(path)
    try:
        return {table: {(fk.column, fk.other_table) for fk in db[table].foreign_keys}
                for table in ("snapshots", "events", "fetches", "assertions")}
    finally:
        db.close()


EXPECTED_FOREIGN_KEYS = {
    "snapshots": {("source_id", "sources")},
    # evidence_sha256 → evidence came with migration 2 (the status model's kept documents)
    "events": {("source_id", "sources"), ("snapshot_id", "snapshots"), ("evidence_sha256", "evidence")},
    "fetches": {("source_id", "sources")},
    "assertions": {("source_id", "sources"), ("snapshot_id", "snapshots")},
}


def test_a_version_1_database_with_rows_gains_foreign_keys_search_and_views(tmp_path):
    path = tmp_path / "old.db"
    _write_version_1(path)
    with sqlite3.connect(path) as conn:  # an event id handed out once and deleted is never reused
        conn.execute("UPDATE sqlite_sequence SET seq = 40 WHERE name = 'events'")
    Store(path).close()
    assert _foreign_keys(path) == EXPECTED_FOREIGN_KEYS
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT rowid FROM events_fts WHERE events_fts MATCH 'changed'").fetchall() == [(1,)]
        assert conn.execute("SELECT rowid FROM assertions_fts WHERE assertions_fts MATCH 'emergency'").fetchall() == [
            (1,)]
        assert conn.execute("SELECT name FROM region_names WHERE code = 'US-FL'").fetchone() == ("Florida",)
        assert conn.execute("SELECT jurisdiction, region_name, status FROM status_in_force").fetchall() == [
            ("US-FL", "Florida", "banned")]
        assert conn.execute("SELECT id, region_name, source_name FROM recent_changes").fetchall() == [
            (1, "United States", "FDA")]
        assert conn.execute("SELECT id, snapshots, events, fetches_kept FROM source_health").fetchall() == [
            ("fda", 2, 1, 1)]
        # UNIQUE (source_id, hash) survived the rebuild: a version seen before is not stored twice
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO snapshots (source_id, hash, content, created_at, reason) "
                         "VALUES ('fda', 'h1', '{}', 'x', 'quiet')")
        conn.execute("INSERT INTO events (kind, source_id, jurisdiction, detected_at, title) "
                     "VALUES ('content', 'fda', 'US', '2026-01-03T00:00:00Z', 'later change')")
        assert conn.execute("SELECT MAX(id) FROM events").fetchone() == (41,)
        assert conn.execute("SELECT rowid FROM events_fts WHERE events_fts MATCH 'later'").fetchall() == [(41,)]


def test_a_fresh_database_has_the_same_foreign_keys_as_an_upgraded_one(tmp_path):
    Store(tmp_path / "fresh.db").close()
    assert _foreign_keys(tmp_path / "fresh.db") == EXPECTED_FOREIGN_KEYS


def test_new_rows_name_their_regions(tmp_path, site):
    from conftest import html_page, write_sources

    site.set("/p", html_page("<p>kratom: one</p>"))
    sources = write_sources(tmp_path, f"sources:\n  - {{id: fl, type: page, url: '{site.url('/p')}', "
                                      "jurisdiction: US-FL, select: main}\n")
    assert run_cli("collect", "--sources", str(sources), "--db", str(tmp_path / "t.db"), "--quiet") == 0
    with sqlite3.connect(tmp_path / "t.db") as conn:
        assert conn.execute("SELECT code, name, level, parent FROM region_names").fetchall() == [
            ("US-FL", "Florida", "state", "US")]
