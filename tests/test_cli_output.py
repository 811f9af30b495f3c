"""Output that pipes: every listing command takes --format table|json|csv|ndjson; piped, the table is
tab-separated with a header (no wrapping at 80 columns, no box drawing, nothing cut); on a terminal it is
a rich table, in colour unless NO_COLOR is set; -q and -v on every command; a closed pipe stops quietly."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_cli

LISTINGS = {  # every listing command, with the arguments it needs (the database is added)
    "status": ["status", "US"],
    "changes": ["changes"],
    "history": ["history", "demo-federal-register"],
    "export": ["export"],
    "sources list": ["sources", "list"],
    "sources types": ["sources", "types"],
    "gc": ["gc", "--dry-run"],
}
URL = re.compile(r"https?://[^\s<>\"]+")


def _run(capsys, *args: str) -> str:
    assert run_cli(*args) == 0
    return capsys.readouterr().out


def _db_args(command: list[str], db: Path) -> list[str]:
    return command if command[:2] == ["sources", "types"] else [*command, "--db", str(db)]


@pytest.mark.parametrize("name", sorted(LISTINGS))
@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "table"])
def test_every_listing_command_takes_each_format(demo_database, capsys, name, fmt):
    out = _run(capsys, *_db_args(LISTINGS[name], demo_database), "--format", fmt)
    assert out.strip(), f"{name} --format {fmt} printed nothing"
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        assert len(rows) >= 2 and all(len(row) == len(rows[0]) for row in rows), name
    elif fmt == "json":
        json.loads(out)
    elif fmt == "ndjson":
        assert all(isinstance(json.loads(line), dict) for line in out.splitlines())
    else:
        assert not set(out) & set("│┃┏━╭─"), f"{name}: box drawing in piped output"


def test_status_piped_keeps_every_url_whole(demo_database, capsys):
    document = json.loads(_run(capsys, "status", "US", "--json", "--db", str(demo_database)))
    urls = {item["url"] for entry in document["applicable"].values() for item in entry["evidence"] if item["url"]}
    assert any(len(url) > 80 for url in urls)  # the long Federal Register URLs a wrap would split
    out = _run(capsys, "status", "US", "--db", str(demo_database))
    assert urls <= set(URL.findall(out))
    assert "─" not in out and "\x1b[" not in out


def test_sources_list_piped_keeps_every_id_whole(demo_database, capsys):
    ids = [row["id"] for row in json.loads(_run(capsys, "sources", "list", "--json", "--db", str(demo_database)))]
    lines = _run(capsys, "sources", "list", "--db", str(demo_database)).splitlines()
    assert lines[0].split("\t")[:3] == ["id", "type", "jurisdiction"]
    assert [line.split("\t")[0] for line in lines[1:]] == ids
    assert all(len(line.split("\t")) == len(lines[0].split("\t")) for line in lines)


def test_the_json_flags_keep_their_contracts(demo_database, capsys):
    changes = json.loads(_run(capsys, "changes", "--json", "--db", str(demo_database)))
    assert changes == json.loads(_run(capsys, "changes", "--format", "json", "--db", str(demo_database)))
    # the contract's columns (DESIGN.md); evidence_sha256 is an addition of the status model v2
    assert set(changes[0]) == {"id", "kind", "source_id", "jurisdiction", "detected_at", "title", "summary", "diff",
                               "url", "data", "evidence_sha256"}
    status = json.loads(_run(capsys, "status", "US", "--json", "--db", str(demo_database)))
    assert {"region", "as_of", "applicable", "assertions"} <= set(status)


def test_ndjson_is_one_object_per_record(demo_database, capsys):
    lines = _run(capsys, "changes", "--format", "ndjson", "--db", str(demo_database)).splitlines()
    as_json = json.loads(_run(capsys, "changes", "--json", "--db", str(demo_database)))
    assert [json.loads(line) for line in lines] == as_json


def _on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """Run the installed command with its stdout on a pseudo-terminal; returns what it wrote."""
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "kratom_tracker", *args]
    process = subprocess.Popen(command, stdout=follower, stderr=subprocess.DEVNULL, cwd=REPO,
                               env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", **env})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the follower side closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(60) == 0
    return b"".join(chunks).decode("utf-8", errors="replace")


COLOUR = re.compile(r"\x1b\[[0-9;]*3[0-9][;m]")  # a foreground colour (30-39, 38;5;n)


def test_a_terminal_gets_a_table_in_colour_unless_no_color(demo_database):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    shown = _on_a_terminal("status", "US", "--db", str(demo_database), env={"NO_COLOR": ""} | env)
    assert "┃" in shown or "│" in shown  # a rich table
    assert COLOUR.search(shown)
    plain = _on_a_terminal("status", "US", "--db", str(demo_database), env={"NO_COLOR": "1"})
    assert "│" in plain or "┃" in plain
    assert not COLOUR.search(plain)


def test_quiet_and_verbose_on_every_command(tmp_path, capsys):
    from kratom_tracker.cli import COMMANDS, build_parser

    parser = build_parser()
    for command in COMMANDS:
        needs = {"status": ["US"], "history": ["x"], "evidence": ["1"], "check-article": ["page.html"]}.get(command, [])
        assert parser.parse_args([command, "-q", *needs]).quiet
        assert parser.parse_args(["-vv", command, *needs]).verbose == 2
    # -q silences notes (the packaged source list), not errors
    assert run_cli("sources", "check", "-q") == 0
    assert "packaged source list" not in capsys.readouterr().err
    assert run_cli("sources", "check") == 0
    assert "packaged source list" in capsys.readouterr().err
    assert run_cli("changes", "-q", "-v", "--db", str(tmp_path / "x.db")) == 2


def test_a_closed_pipe_stops_quietly(demo_database):
    command = f"{sys.executable} -m kratom_tracker changes --format ndjson --db {demo_database} | head -c 1"
    result = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], capture_output=True, text=True,
                            cwd=REPO, timeout=60)
    assert result.stdout == "{"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
