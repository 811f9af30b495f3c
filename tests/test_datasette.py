"""Datasette as a reader of the database: the demo database served by the real `datasette` (a subprocess
on a free 127.0.0.1 port, with the shipped metadata), asked through its JSON API: the tables and views,
a foreign-key link, a view's rows, full-text search, and the metadata's descriptions."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kratom_tracker.shipped import DATASETTE_METADATA

TABLES = {"sources", "snapshots", "events", "fetches", "assertions", "outbox", "region_names"}
VIEWS = {"status_in_force", "recent_changes", "source_health"}


@pytest.fixture(scope="module")
def demo_db(demo_database) -> Path:
    assert demo_database.name == "tracker.db"  # the metadata describes the database named `tracker`
    return demo_database


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def datasette(demo_db) -> Iterator[str]:
    """`datasette tracker.db -m datasette.yaml` on 127.0.0.1; yields its base URL."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", str(demo_db), "-m", str(DATASETTE_METADATA),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read().decode(errors="replace")
            try:
                with urllib.request.urlopen(base + "/-/versions.json", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "datasette did not start within 60 s"
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        process.stdout.close()


def _get(base: str, path: str, **params: str) -> dict:
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_datasette_lists_the_tables_and_views(datasette):
    database = _get(datasette, "/tracker.json")
    names = {table["name"] for table in database["tables"] if not table["hidden"]}
    assert names >= TABLES
    assert {view["name"] for view in database["views"]} >= VIEWS
    events = next(table for table in database["tables"] if table["name"] == "events")
    outgoing = {(fk["column"], fk["other_table"]) for fk in events["foreign_keys"]["outgoing"]}
    assert outgoing == {("source_id", "sources"), ("snapshot_id", "snapshots"), ("evidence_sha256", "evidence")}
    assert events["fts_table"] == "events_fts"


def test_an_event_links_to_its_source(datasette):
    rows = _get(datasette, "/tracker/events.json", _shape="objects", _labels="on",
                source_id="demo-wikipedia")["rows"]
    assert rows
    assert rows[0]["source_id"] == {"value": "demo-wikipedia", "label": "Wikipedia — Mitragyna speciosa (demo)"}
    assert set(rows[0]["snapshot_id"]) == {"value", "label"}  # and to the snapshot it was found in


def test_a_view_answers_with_region_names(datasette):
    rows = _get(datasette, "/tracker/status_in_force.json", _shape="objects", jurisdiction="US-FL")["rows"]
    assert rows and {row["region_name"] for row in rows} == {"Florida"}
    assert {row["substance"] for row in rows} >= {"7-OH"}
    changes = _get(datasette, "/tracker/recent_changes.json", _shape="objects")["rows"]
    assert [row["id"] for row in changes] == sorted((row["id"] for row in changes), reverse=True)
    assert {row["region_name"] for row in changes} >= {"United States", "International"}
    health = _get(datasette, "/tracker/source_health.json", _shape="objects", id="demo-federal-register")["rows"]
    assert health[0]["snapshots"] == 2 and health[0]["events"] >= 1


def test_search_finds_events_and_assertions(datasette):
    found = _get(datasette, "/tracker/events.json", _shape="objects", _search="withdrawal")["rows"]
    assert "demo-federal-register" in {row["source_id"] for row in found}
    nothing = _get(datasette, "/tracker/events.json", _shape="objects", _search="zzzunlikelywordzzz")["rows"]
    assert nothing == []  # the search is applied, not silently ignored
    cited = _get(datasette, "/tracker/assertions.json", _shape="objects", _search="emergency rule")["rows"]
    assert cited and all("emergency" in (row["quote"] + row["detail"]).lower() for row in cited)


def test_the_metadata_is_served(datasette):
    metadata = _get(datasette, "/-/metadata.json")
    assert metadata["title"] == "kratom-tracker"
    assert metadata["license"] == "MIT"
    table = _get(datasette, "/tracker/fetches.json", _shape="objects", _size="1")
    assert table["rows"]


def test_the_metadata_describes_every_table_view_and_column(demo_db):
    """A table or a column added to the schema without a word in datasette.yaml fails here."""
    described = yaml.safe_load(DATASETTE_METADATA.read_text(encoding="utf-8"))["databases"]["tracker"]["tables"]
    with sqlite3.connect(demo_db) as conn:
        objects = conn.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
                               "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_fts%'").fetchall()
        for name, kind in objects:
            assert name in described, f"{kind} {name} has no entry in {DATASETTE_METADATA.name}"
            if kind == "view" or name == "meta":
                continue  # a view's columns are those of its tables; only its own are described
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({name})")]
            missing = [c for c in columns if c not in described[name].get("columns", {})]
            assert not missing, f"{name}: columns {missing} undescribed in {DATASETTE_METADATA.name}"
    assert set(described) - {name for name, _ in objects} == set(), "described but not in the database"
