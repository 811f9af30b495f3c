"""The calendar tick: an expiry or a future effective date changes the answer on its day and writes a
`status` event then (source `~calendar`), once, from the daily tick of the daemon and from `collect`."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date, timedelta
from pathlib import Path

from conftest import collect, stored_events, write_sources
from kratom_tracker.config.loader import load
from kratom_tracker.engine import calendar, scheduler
from kratom_tracker.store import Store
from test_scheduler import wait_until

V2_HEAD = ("jurisdiction,substance,status,detail,effective_date,summary,source_url,source_type,last_verified,"
           "expiry_date,instrument,citation\n")
# North Dakota as first reported: no state law, and a 30-day executive order that lapses on 2026-09-02.
NORTH_DAKOTA = V2_HEAD + (
    "US-ND,all,legal,no state law,,No statute or rule on kratom.,https://example.gov/nd/code,primary,2026-12-01,"
    ",none,\n"
    "US-ND,all,banned,30-day order,2026-08-03,A 30-day order against kratom products.,https://example.gov/nd/eo,"
    "primary,2026-12-01,2026-09-02,executive-order,EO 2026-08\n"
    "US-ND/fargo,leaf,regulated,21+,2025-01-01,A city age limit.,https://example.gov/fargo,primary,2026-12-01,"
    ",ordinance,Ord. 1\n")


def _database(tmp_path: Path, table: str = NORTH_DAKOTA) -> tuple[Path, Path]:
    (tmp_path / "baseline.csv").write_text(table, encoding="utf-8")
    sources = write_sources(tmp_path, "sources:\n  - {id: b, type: baseline, path: baseline.csv, jurisdiction: US}\n")
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    return sources, db


def _restart_calendar(db: Path, through: date) -> None:
    """As if the last tick had run on `through` (collect above already set today's starting point)."""
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = ?", [through.isoformat(), calendar.CALENDAR_META])


def _calendar_events(db: Path) -> list[dict]:
    return [e for e in stored_events(db) if e["source_id"] == calendar.CALENDAR_SOURCE]


def test_the_first_tick_sets_the_starting_point_without_events(tmp_path):
    with Store(tmp_path / "t.db") as store:
        assert calendar.tick(store, date(2026, 9, 1)) == []
        assert store.meta(calendar.CALENDAR_META) == "2026-09-01"


def test_a_lapse_writes_a_status_event_on_its_day_once(tmp_path):
    _, db = _database(tmp_path)
    _restart_calendar(db, date(2026, 9, 1))
    with Store(db) as store:
        ids = calendar.tick(store, date(2026, 9, 2))
        assert calendar.tick(store, date(2026, 9, 2)) == []  # the same day twice: one set of events
    events = _calendar_events(db)
    assert [e["id"] for e in events] == ids
    state = {(e["jurisdiction"], e["data"]["substance"]): (e["data"]["old_status"], e["data"]["new_status"])
             for e in events}
    assert state[("US-ND", "leaf")] == ("banned", "legal") and state[("US-ND", "MGM-15")] == ("banned", "legal")
    # Places below have their own answers and hear of the lapse too: Fargo's leaf falls back to its own
    # age limit, its other substances follow the state.
    assert state[("US-ND/fargo", "leaf")] == ("banned", "regulated")
    assert state[("US-ND/fargo", "7-OH")] == ("banned", "legal")
    leaf = next(e for e in events if e["jurisdiction"] == "US-ND" and e["data"]["substance"] == "leaf")
    assert leaf["kind"] == "status" and leaf["title"] == "US-ND leaf: banned → legal on 2026-09-02"
    assert leaf["data"]["effective_date"] == "2026-09-02" and leaf["data"]["cause"] == "calendar"
    assert leaf["data"]["causes"][0]["change"] == "expired" and "EO 2026-08" in leaf["summary"]
    assert leaf["url"] == "https://example.gov/nd/code"  # the law in force from that day


def test_missed_days_are_caught_up_in_order(tmp_path):
    _, db = _database(tmp_path)
    _restart_calendar(db, date(2026, 7, 31))
    with Store(db) as store:
        calendar.tick(store, date(2026, 9, 10))
    leaf = [(e["data"]["effective_date"], e["data"]["new_status"]) for e in _calendar_events(db)
            if e["jurisdiction"] == "US-ND" and e["data"]["substance"] == "leaf"]
    assert leaf == [("2026-08-03", "banned"), ("2026-09-02", "legal")]


def test_two_ticks_at_once_write_the_events_once(tmp_path):
    _, db = _database(tmp_path)
    _restart_calendar(db, date(2026, 9, 1))
    results: list[list[int]] = []

    def tick() -> None:
        with Store(db) as store:
            results.append(calendar.tick(store, date(2026, 9, 2)))

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) > 0 for r in results) == [False, False, True]
    assert len(_calendar_events(db)) == max(len(r) for r in results)


def test_a_future_effective_date_changes_the_answer_on_its_day(tmp_path):
    table = V2_HEAD + ("US-WY,leaf,legal,no law,,None yet.,https://example.gov/wy,primary,2026-12-01,2026-07-01,none,\n"
                       "US-WY,leaf,regulated,21+,2026-07-01,Enrolled Act 44.,https://example.gov/wy/sf56,primary,"
                       "2026-12-01,,session-law,W.S. 35-7-2201\n")
    _, db = _database(tmp_path, table)
    _restart_calendar(db, date(2026, 6, 30))
    with Store(db) as store:
        calendar.tick(store, date(2026, 7, 1))
    assert [(e["jurisdiction"], e["data"]["substance"], e["data"]["new_status"]) for e in _calendar_events(db)] == \
        [("US-WY", "leaf", "regulated")]


def test_collect_runs_the_tick_once_per_run(tmp_path):
    today = date.today()
    table = V2_HEAD + ("US-ND,all,legal,no law,,None.,https://example.gov/nd,primary,2026-12-01,,none,\n"
                       f"US-ND,all,banned,order,{(today - timedelta(days=20)).isoformat()},An order.,"
                       f"https://example.gov/nd/eo,primary,2026-12-01,{today.isoformat()},executive-order,EO 1\n")
    sources, db = _database(tmp_path, table)
    assert _calendar_events(db) == []  # the first collect set the starting point
    _restart_calendar(db, today - timedelta(days=1))
    assert collect(sources, db) == 0
    first = _calendar_events(db)
    assert {e["data"]["new_status"] for e in first} == {"legal"} and len(first) == 5
    assert collect(sources, db) == 0
    assert len(_calendar_events(db)) == len(first)


def test_calendar_events_reach_the_notification_outbox(tmp_path):
    sources, db = _database(tmp_path)
    config_text = "notify:\n  - url: json://127.0.0.1:9/hook\n" + sources.read_text(encoding="utf-8")
    sources.write_text(config_text, encoding="utf-8")
    _restart_calendar(db, date(2026, 9, 1))
    from kratom_tracker.engine.aftermath import Aftermath

    config = load(sources)
    with Store(db) as store:
        ids = Aftermath(lambda: config).calendar_tick(store, date(2026, 9, 2))
        queued = store.db.execute("SELECT event_id FROM outbox").fetchall()
    assert ids and sorted(row[0] for row in queued) == sorted(ids)


def test_the_daemon_ticks_on_start_and_requests_a_publish(tmp_path):
    sources, db = _database(tmp_path)
    _restart_calendar(db, date(2026, 9, 1))  # the daemon was down since then: its first tick catches up
    daemon = scheduler.Daemon(load(sources), db, tmp_path / "feeds")
    daemon.start()
    try:
        assert scheduler.CALENDAR_JOB_ID in {job.id for job in daemon.scheduler.get_jobs()}
        wait_until(lambda: any(e["data"]["effective_date"] == "2026-09-02" for e in _calendar_events(db)),
                   what="the tick at start")
        with daemon._store_lock:  # the tick at start has finished its transaction
            count = len(_calendar_events(db))
        assert daemon.calendar_tick() == []  # the same day again: nothing new
    finally:
        daemon.stop()
    assert len(_calendar_events(db)) == count
    assert "North Dakota — " in (tmp_path / "feeds" / "all.atom").read_text(encoding="utf-8")  # published
