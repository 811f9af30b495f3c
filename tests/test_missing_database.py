"""Every read command refuses a database that is not there (or holds no kratom-tracker tables) the same
way: one line on stderr naming the file and `kratom-tracker collect`, nothing on stdout, exit status 1
("nothing could run"), and the file left as it was."""

from __future__ import annotations

import socket
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from conftest import run_cli, write_sources


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_commands(tmp_path: Path) -> dict[str, list[str]]:
    sources = write_sources(tmp_path, "sources:\n  - {id: p, type: page, url: 'http://127.0.0.1:9/p', "
                                      "jurisdiction: US-FL, select: main}\n")
    return {
        "status": ["status", "US-FL"],
        "status --json": ["status", "US-FL", "--json"],
        "changes": ["changes"],
        "changes --json": ["changes", "--json"],
        "sources list": ["sources", "list", "--sources", str(sources)],
        "articles": ["articles", "--sources", str(sources)],
        "publish": ["publish", "--out", str(tmp_path / "feeds"), "--sources", str(tmp_path / "none.yaml")],
        "serve": ["serve", "--port", str(free_port()), "--feeds", str(tmp_path / "feeds"),
                  "--sources", str(tmp_path / "none.yaml")],
    }


def missing(path: Path) -> None:
    """No file at all."""


def zero_bytes(path: Path) -> None:
    """An empty file, e.g. left by `touch` or an interrupted copy."""
    path.write_bytes(b"")


def other_tables(path: Path) -> None:
    """Someone else's SQLite file: a database, but not a kratom-tracker one."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")


@pytest.fixture
def no_server(monkeypatch):
    """`serve` must refuse before it listens; were it to get that far, this records it instead of serving."""
    import uvicorn

    calls: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(app))
    return calls


@pytest.mark.parametrize("command", ["status", "status --json", "changes", "changes --json", "sources list",
                                     "publish", "serve"])
@pytest.mark.parametrize("make", [missing, zero_bytes, other_tables], ids=["missing", "zero-bytes", "other-tables"])
def test_a_read_command_without_a_database_says_so_and_exits_1(tmp_path, capsys, no_server, command, make):
    db = tmp_path / "tracker.db"
    make(db)
    before = db.read_bytes() if db.exists() else None
    argv = read_commands(tmp_path)[command] + ["--db", str(db)]
    capsys.readouterr()
    assert run_cli(*argv) == 1
    out, err = capsys.readouterr()
    assert out == ""  # no all-"unknown" table, no empty list
    assert err.count("\n") == 1, err  # one message
    assert f"no database at {db}" in err and "kratom-tracker collect" in err, err
    assert (db.read_bytes() if db.exists() else None) == before  # a read command creates and changes nothing
    assert no_server == []
