"""Storage faults (the second reliability round): a full disk during `collect` or `publish`, a damaged
page, a `schema_version` that is not a release number, another application's SQLite file, the database
deleted under the daemon. Each is one clear message and a non-zero exit, no traceback, nothing written to
a database that is not ours, and no event lost: the next run after the fault records what was missed."""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import collect, html_page, run_cli, stored_events, write_sources

SOURCE = """sources:
  - id: fl
    type: page
    url: {url}
    jurisdiction: US-FL
    select: main
"""
PAGE = html_page("<p>Kratom: sale to persons under 21 is prohibited.</p>")
# An edit big enough that its snapshot and diff cannot fit under the file-size limit below.
BIG_EDIT = html_page("<p>Kratom: sale to persons under 18 is prohibited.</p>"
                     + "".join(f"<p>Clause {n}: kratom products must be labelled, {n * 7919 % 104729}.</p>"
                               for n in range(3000)))


def _cli(*args: str, fsize: int | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The CLI in a child process, optionally with RLIMIT_FSIZE: the kernel refuses to let any file grow
    past `fsize` bytes (EFBIG, what SQLite reports as a full disk), no privileges or tmpfs needed."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run([sys.executable, "-m", "kratom_tracker", *args], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit if fsize else None,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


@pytest.fixture
def tracked(site, tmp_path):
    site.set("/fl", PAGE)
    sources = write_sources(tmp_path, SOURCE.format(url=site.url("/fl")))
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    return site, sources, db


def test_a_full_disk_during_collect_is_one_message_and_loses_nothing(tracked):
    site, sources, db = tracked
    site.set("/fl", BIG_EDIT)
    size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob("t.db-*"))
    full = _cli("collect", "--sources", str(sources), "--db", str(db), "--quiet", fsize=size + 4096)
    _no_traceback(full)
    assert full.returncode == 1, full.stderr
    assert "error: the database failed" in full.stderr and "free space" in full.stderr
    assert stored_events(db) == []
    assert collect(sources, db) == 0  # space again: the change that could not be written is recorded now
    assert len(stored_events(db)) == 1


def test_a_full_disk_during_publish_is_one_message(tracked, tmp_path):
    site, sources, db = tracked
    site.set("/fl", html_page("<p>Kratom: sale to persons under 18 is prohibited.</p>"))
    assert collect(sources, db) == 0
    out = tmp_path / "feeds"
    full = _cli("publish", "--sources", str(sources), "--db", str(db), "--out", str(out), fsize=300)
    _no_traceback(full)
    assert full.returncode == 1, full.stderr
    assert full.stderr.startswith("error: ") and len(full.stderr.strip().splitlines()) == 1, full.stderr
    assert _cli("publish", "--sources", str(sources), "--db", str(db), "--out", str(out)).returncode == 0
    assert (out / "all.atom").exists()


@pytest.mark.parametrize("value", ["abc", "2-dev", "1.5", "", "٣"])
def test_a_schema_version_that_is_not_a_release_number_is_refused_untouched(tracked, capsys, value):
    _, sources, db = tracked
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [value])
    before = _digest(db)
    for argv in (["collect", "--sources", str(sources), "--db", str(db), "--quiet"], ["changes", "--db", str(db)]):
        code = run_cli(*argv)
        captured = capsys.readouterr()
        assert code == 1 and "not a release schema" in captured.err, captured.err
        assert "Traceback" not in captured.err
    assert _digest(db) == before


def test_another_applications_database_is_not_written_to(tracked, tmp_path, capsys):
    _, sources, _ = tracked
    foreign = tmp_path / "shop.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Ada')")
    before = _digest(foreign)
    code = run_cli("collect", "--sources", str(sources), "--db", str(foreign), "--quiet")
    captured = capsys.readouterr()
    assert code == 1 and "another application's SQLite database (tables: customers)" in captured.err
    assert _digest(foreign) == before
    with sqlite3.connect(foreign) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["customers"]


def test_a_damaged_page_is_one_message(tracked, capsys):
    _, sources, db = tracked
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 2 * page
    data[page:len(data)] = bytes((n * 37) % 251 for n in range(len(data) - page))  # every page after the first
    db.write_bytes(bytes(data))
    for name in ("t.db-wal", "t.db-shm"):
        (db.parent / name).unlink(missing_ok=True)
    code = run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet")
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "Traceback" not in captured.err and captured.err.startswith("error: ")


def test_the_database_deleted_under_the_daemon_stops_it_instead_of_losing_events(tracked):
    from kratom_tracker.config.loader import load
    from kratom_tracker.engine.scheduler import Daemon

    site, sources, db = tracked
    daemon = Daemon(load(sources), db, None)
    daemon.start()  # the source was fetched a moment ago: its next run is hours away
    try:
        for name in ("t.db", "t.db-wal", "t.db-shm"):
            (db.parent / name).unlink(missing_ok=True)
        site.set("/fl", html_page("<p>Kratom: sale to persons under 18 is prohibited.</p>"))
        assert daemon.run_once("fl") is None
        assert daemon.failure and "deleted or replaced" in daemon.failure
    finally:
        daemon.stop()
    assert not db.exists()  # nothing was written to a file nobody could read
    site.set("/fl", PAGE)
    assert collect(sources, db) == 0  # a new database starts over from the page as it is
