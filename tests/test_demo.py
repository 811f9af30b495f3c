"""`kratom-tracker demo` works in a database of its own: the production database (the default of every
other command, also when KRATOM_TRACKER_DB names it) is never opened, and the demo says which one it used."""

from __future__ import annotations

from pathlib import Path

from conftest import collect, html_page, run_cli, stored_events, write_sources

DEMO_DB = Path("data/demo/tracker.db")


def real_database(site, tmp_path: Path) -> Path:
    """data/tracker.db with a real change in it, made by two collects."""
    site.set("/p", html_page("<p>Kratom is legal here.</p>"))
    sources = write_sources(tmp_path, f"sources:\n  - {{id: real, type: page, url: '{site.url('/p')}', "
                                      "jurisdiction: US-FL, select: main}\n", name="real.yaml")
    db = tmp_path / "data" / "tracker.db"
    assert collect(sources, db) == 0
    site.set("/p", html_page("<p>Kratom is banned here.</p>"))
    assert collect(sources, db) == 0
    assert [e["source_id"] for e in stored_events(db)] == ["real"]
    return db


def test_demo_leaves_the_production_database_untouched(site, tmp_path, monkeypatch, capsys):
    real = real_database(site, tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KRATOM_TRACKER_DB", str(real))  # the other commands' default: not the demo's
    before = (real.read_bytes(), real.stat().st_mtime_ns)
    capsys.readouterr()
    assert run_cli("demo") == 0
    out = capsys.readouterr().out
    assert (real.read_bytes(), real.stat().st_mtime_ns) == before
    assert not real.with_name("tracker.db-wal").exists()  # not even opened
    assert [e["source_id"] for e in stored_events(real)] == ["real"]
    demo_events = stored_events(tmp_path / DEMO_DB)
    assert demo_events and all(e["source_id"].startswith("demo-") for e in demo_events)
    assert f"database: {DEMO_DB}" in out
    assert f"--db {DEMO_DB}" in out  # the commands it suggests read the demo database
    assert (tmp_path / "data" / "demo" / "feeds" / "all.atom").is_file()
    assert not (tmp_path / "data" / "feeds").exists()


def test_demo_uses_the_database_given_with_db(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    chosen = tmp_path / "elsewhere.db"
    assert run_cli("demo", "--db", str(chosen), "--out", str(tmp_path / "feeds")) == 0
    assert f"database: {chosen}" in capsys.readouterr().out
    assert stored_events(chosen)
    assert not (tmp_path / DEMO_DB).exists()
