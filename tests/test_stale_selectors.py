"""A selector that stops matching is an operator problem, shown as `selector-missing` in `sources list`
and in the health rows the API and dashboard use, never an empty diff in the feed."""

from __future__ import annotations

import json
import sqlite3

from conftest import excerpt_text, html_page, run_cli, write_sources
from kratom_tracker.config import loader as config_module
from kratom_tracker.engine.health import source_health_rows
from kratom_tracker.store import Store


def _events(db) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def _sources_list(capsys, sources, db) -> dict[str, dict]:
    capsys.readouterr()
    assert run_cli("sources", "list", "--json", "--sources", str(sources), "--db", str(db)) == 0
    return {row["id"]: row for row in json.loads(capsys.readouterr().out)}


def test_a_selector_that_stops_matching_is_reported_not_diffed(site, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # rich folds table cells on a narrow terminal
    ordinance = excerpt_text("solana_beach_ca_municipal_code_ch6.40_kratom_EXCERPT.txt")
    paragraphs = "".join(f"<p>{p}</p>" for p in ordinance.split("\n\n") if p.strip())
    site.set("/code", html_page(f"<div id='chapter'>{paragraphs}</div>"))
    sources = write_sources(tmp_path, f"""sources:
  - id: solana
    name: Solana Beach ch. 6.40
    type: page
    url: {site.url('/code')}
    jurisdiction: US-CA/solana-beach
    select: "#chapter"
    timeout: 2s
""")
    db = tmp_path / "t.db"
    collect = ("collect", "--sources", str(sources), "--db", str(db), "--quiet")
    assert run_cli(*collect) == 0
    assert _sources_list(capsys, sources, db)["solana"]["last_outcome"] == "initial"

    # The site is redesigned: the chapter now sits in a container the selector does not name.
    site.set("/code", html_page(f"<div class='code-body'>{paragraphs}</div>"))
    assert run_cli(*collect) == 1  # the only source failed: nothing could run
    row = _sources_list(capsys, sources, db)["solana"]
    assert row["last_outcome"] == "selector-missing"
    assert "#chapter" in row["last_error"]
    assert row["consecutive_failures"] == 1
    assert _events(db) == 0  # not "everything was removed"

    with Store(db, readonly=True) as reader:
        health = {r.id: r.as_dict() for r in source_health_rows(config_module.load(sources), reader)}
    assert health["solana"]["last_outcome"] == "selector-missing"

    capsys.readouterr()
    assert run_cli("changes", "--json", "--db", str(db)) == 0
    assert json.loads(capsys.readouterr().out) == []

    # The human table shows it too.
    assert run_cli("sources", "list", "--sources", str(sources), "--db", str(db)) == 0
    assert "selector-missing" in capsys.readouterr().out

    # Once the selector is fixed the page compares against the kept snapshot: same text, no event.
    site.set("/code", html_page(f"<div id='chapter'>{paragraphs}</div><p>extra markup</p>"))
    assert run_cli(*collect) == 0
    assert _sources_list(capsys, sources, db)["solana"]["last_outcome"] == "unchanged"
    assert _events(db) == 0
