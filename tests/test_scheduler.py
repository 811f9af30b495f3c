"""The scheduler daemon, with second-scale intervals against the local `site` server.

In-process tests drive `scheduler.Daemon` directly; the process concerns (signals, the lock, exit codes)
run `python -m kratom_tracker schedule` as a subprocess with a bounded run time."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import html_page, run_cli, write_sources
from kratom_tracker.cli import schedule as schedule_cli
from kratom_tracker.config.loader import load
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.engine import scheduler
from kratom_tracker.engine.health import source_health_rows
from kratom_tracker.store import SourceState, Store


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def page_sources(site, specs: list[tuple[str, str, str]], extra: str = "") -> str:
    """YAML for page sources given as (id, path, interval)."""
    lines = [extra.rstrip("\n")] if extra else []
    lines.append("sources:")
    for source_id, path, interval in specs:
        lines += [f"  - id: {source_id}", "    type: page", f"    url: {site.url(path)}",
                  "    jurisdiction: US-FL", f"    interval: {interval}", "    select: main"]
    return "\n".join(lines) + "\n"


def fetches_of(site, path: str) -> int:
    return len(site.requests_to(path))


@contextmanager
def running(tmp_path: Path, sources: Path, feeds: bool = True) -> Iterator[scheduler.Daemon]:
    daemon = scheduler.Daemon(load(sources), tmp_path / "t.db", tmp_path / "feeds" if feeds else None)
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


NO_JITTER = "scheduler:\n  jitter: 0\n  publish_delay: 0.2s\n"


# -- pure parts --------------------------------------------------------------------------------------


def test_first_run_times_resume_from_the_store():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    sources = [SourceConfig(id=i, type="page", name=i, jurisdiction="US", interval=3600.0) for i in "abcd"]
    states = {
        "a": SourceState(last_fetch_at="2026-01-01T11:30:00Z"),  # half an hour ago: waits 30 more minutes
        "b": SourceState(last_fetch_at="2026-01-01T09:00:00Z"),  # overdue: runs soon
        # c and d were never fetched: run soon, spread out
    }
    planned = scheduler.first_run_times(sources, states, now)
    assert planned["a"] == datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
    soon = sorted(planned[i] for i in "bcd")
    assert all(now <= t < now + timedelta(seconds=scheduler.STARTUP_SPREAD) for t in soon)
    assert len(set(soon)) == 3  # spread, not all at the same instant


def test_jitter_does_not_accumulate():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    trigger = scheduler.SteadyIntervalTrigger(seconds=100, start_date=start, jitter=10, timezone=UTC)
    fire = trigger.get_next_fire_time(None, start)
    for _ in range(200):
        fire = trigger.get_next_fire_time(fire, fire)
    # 201 runs later the run is still within its own jitter window of the grid, not ~1000 s late
    grid = start + timedelta(seconds=200 * 100)
    assert grid <= fire <= grid + timedelta(seconds=10)


@pytest.mark.parametrize("seconds", [0.2, 0.3, 0.7, 1.1, 3600.0])
def test_next_fire_time_always_moves_forward(seconds):
    start = datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    trigger = scheduler.SteadyIntervalTrigger(seconds=seconds, start_date=start, timezone=UTC)
    fire = trigger.get_next_fire_time(None, start)
    for _ in range(2000):
        following = trigger.get_next_fire_time(fire, fire)
        assert following > fire
        fire = following


# -- the daemon in-process ---------------------------------------------------------------------------


def test_each_source_runs_on_its_interval(site, tmp_path):
    site.set("/fast", html_page("<p>kratom fast</p>"))
    site.set("/slow", html_page("<p>kratom slow</p>"))
    sources = write_sources(tmp_path, page_sources(site, [("fast", "/fast", "0.5s"), ("slow", "/slow", "3s")],
                                                   NO_JITTER))
    with running(tmp_path, sources):
        wait_until(lambda: fetches_of(site, "/fast") >= 6, what="six runs of the 0.5s source")
        slow_runs = fetches_of(site, "/slow")
    assert 1 <= slow_runs <= 2  # the 3s source ran at start and at most once more in ~2.5s


def test_slow_source_does_not_delay_others_and_never_piles_up(site, tmp_path):
    site.set("/slow", html_page("<p>kratom slow</p>"), delay=2.0)
    site.set("/quick", html_page("<p>kratom quick</p>"))
    sources = write_sources(tmp_path, page_sources(site, [("slow", "/slow", "0.3s"), ("quick", "/quick", "0.3s")],
                                                   NO_JITTER))
    with running(tmp_path, sources):
        wait_until(lambda: fetches_of(site, "/quick") >= 6, timeout=8, what="quick source runs")
        slow_started = fetches_of(site, "/slow")
    # max_instances=1 and coalescing: the slow source had at most two runs in that time, not a queue of them
    assert 1 <= slow_started <= 2


def test_restart_resumes_without_refetching_everything(site, tmp_path):
    for name in ("a", "b", "c"):
        site.set(f"/{name}", html_page(f"<p>kratom {name}</p>"))
    sources = write_sources(tmp_path, page_sources(site, [(n, f"/{n}", "1h") for n in "abc"], NO_JITTER))
    with running(tmp_path, sources):
        wait_until(lambda: all(fetches_of(site, f"/{n}") == 1 for n in "abc"), what="the first runs")
    with running(tmp_path, sources) as daemon:
        time.sleep(1.0)
        jobs = {job.id: job.next_run_time for job in daemon.scheduler.get_jobs() if not job.id.startswith("~")}
    assert all(fetches_of(site, f"/{n}") == 1 for n in "abc")
    assert all(when > datetime.now(UTC) + timedelta(minutes=55) for when in jobs.values())


def test_one_fetcher_keeps_per_host_limits_across_jobs(site, tmp_path):
    in_flight, peak, lock = [0], [0], threading.Lock()
    base_handler = site.server.RequestHandlerClass

    class Counting(base_handler):
        """Counts a request as in flight from its arrival until its answer starts (after which the
        client may send the next one)."""

        def do_GET(self) -> None:  # noqa: N802
            if self.path.startswith("/p"):
                with lock:
                    in_flight[0] += 1
                    peak[0] = max(peak[0], in_flight[0])
            super().do_GET()

        def _send(self, *args, **kwargs) -> None:
            if self.path.startswith("/p"):
                with lock:
                    in_flight[0] -= 1
            super()._send(*args, **kwargs)

    site.server.RequestHandlerClass = Counting
    for n in range(4):
        site.set(f"/p{n}", html_page(f"<p>kratom {n}</p>"), delay=0.2)
    yaml = page_sources(site, [(f"p{n}", f"/p{n}", "0.5s") for n in range(4)], NO_JITTER)
    sources = tmp_path / "sources.yaml"
    sources.write_text("politeness:\n  per_host_delay: 0s\n  per_host_concurrency: 1\n" + yaml, encoding="utf-8")
    with running(tmp_path, sources):
        wait_until(lambda: sum(fetches_of(site, f"/p{n}") for n in range(4)) >= 8, what="eight fetches")
    assert peak[0] == 1


def test_changes_publish_once_per_window_and_feeds_hold_them(site, tmp_path):
    names = [f"s{n}" for n in range(5)]
    for name in names:
        site.set(f"/{name}", html_page(f"<p>kratom {name} version one</p>"))
    extra = "scheduler:\n  jitter: 0\n  publish_delay: 2s\n"
    sources = write_sources(tmp_path, page_sources(site, [(n, f"/{n}", "0.3s") for n in names], extra))
    with running(tmp_path, sources) as daemon:
        wait_until(lambda: all(fetches_of(site, f"/{n}") >= 1 for n in names), what="starting points")
        before = daemon.publisher.publishes
        for name in names:
            site.set(f"/{name}", html_page(f"<p>kratom {name} version two</p>"))
        wait_until(lambda: daemon.publisher.publishes > before, timeout=8, what="a publish")
        time.sleep(0.5)
        assert daemon.publisher.publishes == before + 1  # five sources changed, one publish
        events = [e.as_dict() for e in daemon.store.events()]
    assert len(events) == 5
    feed = json.loads((tmp_path / "feeds" / "all.json").read_text(encoding="utf-8"))
    assert len(feed["items"]) == 5


def test_failing_source_notifies_once_and_once_on_recovery(site, tmp_path):
    site.set("/flaky", html_page("<p>kratom ok</p>"))
    extra = ("scheduler:\n  jitter: 0\n  failure_threshold: 3\n  publish_delay: 60s\n"
             "notify:\n  - url: json://127.0.0.1:9/hook\n    name: ops\n")
    sources = write_sources(tmp_path, page_sources(site, [("flaky", "/flaky", "0.2s")], extra))

    def notices() -> list[str]:
        with sqlite3.connect(tmp_path / "t.db") as conn:
            return [r[0] for r in conn.execute("SELECT kind FROM outbox ORDER BY id")]

    with running(tmp_path, sources):
        wait_until(lambda: fetches_of(site, "/flaky") >= 1, what="starting point")
        site.set("/flaky", b"down", status=503)
        wait_until(lambda: notices() == ["source-failing"], what="the failing notice")
        failing_from = fetches_of(site, "/flaky")
        wait_until(lambda: fetches_of(site, "/flaky") >= failing_from + 4, what="more failures")
        assert notices() == ["source-failing"]  # once per state change, not once per failure
        with Store(tmp_path / "t.db", readonly=True) as reader:
            rows = [r.as_dict() for r in source_health_rows(load(sources), reader)]
        assert rows[0]["consecutive_failures"] >= 3
        site.set("/flaky", html_page("<p>kratom ok</p>"))
        wait_until(lambda: notices() == ["source-failing", "source-recovered"], what="the recovery notice")
        recovered_from = fetches_of(site, "/flaky")
        wait_until(lambda: fetches_of(site, "/flaky") >= recovered_from + 3, what="more successes")
        assert notices() == ["source-failing", "source-recovered"]


def test_failing_source_is_reported_stale(site, tmp_path):
    site.set("/gone", b"gone", status=404)
    extra = "scheduler:\n  jitter: 0\n  stale_factor: 1\n"
    sources = write_sources(tmp_path, page_sources(site, [("gone", "/gone", "0.5s")], extra))
    with running(tmp_path, sources):
        wait_until(lambda: fetches_of(site, "/gone") >= 1, what="a run")
    with Store(tmp_path / "t.db", readonly=True) as reader:
        assert source_health_rows(load(sources), reader)[0].stale is True


def test_reload_adds_and_removes_jobs_and_refuses_a_bad_file(site, tmp_path):
    site.set("/a", html_page("<p>kratom a</p>"))
    site.set("/b", html_page("<p>kratom b</p>"))
    sources = write_sources(tmp_path, page_sources(site, [("a", "/a", "0.3s")], NO_JITTER))
    with running(tmp_path, sources) as daemon:
        (tmp_path / "sources.yaml").write_text("sources:\n  - id: a\n    bogus: 1\n", encoding="utf-8")
        assert schedule_cli.try_reload(daemon, sources) is False
        assert [j.id for j in daemon.scheduler.get_jobs() if not j.id.startswith("~")] == ["a"]
        write_sources(tmp_path, page_sources(site, [("b", "/b", "0.3s")], NO_JITTER))
        assert schedule_cli.try_reload(daemon, sources) is True
        wait_until(lambda: fetches_of(site, "/b") >= 1, what="the added source")
        a_runs = fetches_of(site, "/a")
        wait_until(lambda: fetches_of(site, "/b") >= 4, what="more runs of b")
        assert fetches_of(site, "/a") <= a_runs + 1  # removed (one run may have been in flight)


def test_reload_with_a_shorter_interval_retimes_the_source(site, tmp_path):
    site.set("/a", html_page("<p>kratom a</p>"))
    sources = write_sources(tmp_path, page_sources(site, [("a", "/a", "1h")], NO_JITTER))
    with running(tmp_path, sources) as daemon:
        wait_until(lambda: fetches_of(site, "/a") == 1, what="the first run")
        write_sources(tmp_path, page_sources(site, [("a", "/a", "0.3s")], NO_JITTER))
        assert schedule_cli.try_reload(daemon, sources) is True
        wait_until(lambda: fetches_of(site, "/a") >= 4, what="runs on the new interval")


# -- the process: lock, signals ----------------------------------------------------------------------


def start_daemon(tmp_path: Path, sources: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "kratom_tracker", "schedule", "--sources", str(sources), "--db",
         str(tmp_path / "t.db"), "--feeds", str(tmp_path / "feeds")],
        stdout=subprocess.PIPE, stderr=open(tmp_path / "daemon.log", "w"), cwd=tmp_path, env=env)  # noqa: SIM115


def stop_daemon(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def test_second_scheduler_on_the_same_database_is_refused(site, tmp_path, capsys):
    site.set("/a", html_page("<p>kratom a</p>"))
    sources = write_sources(tmp_path, page_sources(site, [("a", "/a", "1h")]))
    lock = schedule_cli.acquire_lock(tmp_path / "t.db")
    try:
        code = run_cli("schedule", "--sources", str(sources), "--db", str(tmp_path / "t.db"))
    finally:
        lock.close()
    assert code == 1
    assert "another scheduler is already running" in capsys.readouterr().err
    assert fetches_of(site, "/a") == 0


def test_sighup_with_a_bad_file_keeps_the_old_config(site, tmp_path):
    site.set("/a", html_page("<p>kratom a</p>"))
    site.set("/b", html_page("<p>kratom b</p>"))
    sources = write_sources(tmp_path, page_sources(site, [("a", "/a", "0.3s")], NO_JITTER))
    process = start_daemon(tmp_path, sources)
    try:
        wait_until(lambda: fetches_of(site, "/a") >= 1, timeout=15, what="the daemon's first run")
        sources.write_text("sources:\n  - id: a\n    type: nope\n", encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        wait_until(lambda: "refused" in (tmp_path / "daemon.log").read_text(), what="the refusal")
        runs = fetches_of(site, "/a")
        wait_until(lambda: fetches_of(site, "/a") >= runs + 3, what="the old config still running")
        write_sources(tmp_path, page_sources(site, [("a", "/a", "0.3s"), ("b", "/b", "0.3s")], NO_JITTER))
        process.send_signal(signal.SIGHUP)
        wait_until(lambda: fetches_of(site, "/b") >= 1, what="the source added by the good file")
    finally:
        code = stop_daemon(process)
    log = (tmp_path / "daemon.log").read_text()
    assert code == 0, log
    assert "type: unknown type 'nope'" in log
    assert "Traceback" not in log
    assert "run source=a outcome=" in log  # one line per run


def test_sigterm_during_a_run_finishes_its_transaction(site, tmp_path):
    site.set("/a", html_page("<p>kratom first</p>"))
    sources = write_sources(tmp_path, page_sources(site, [("a", "/a", "0.5s")], NO_JITTER))
    process = start_daemon(tmp_path, sources)
    try:
        wait_until(lambda: fetches_of(site, "/a") >= 1, timeout=15, what="the starting point")
        wait_until(lambda: "outcome=initial" in (tmp_path / "daemon.log").read_text(), what="it to be stored")
        site.set("/a", html_page("<p>kratom second</p>"), delay=1.5)
        seen = fetches_of(site, "/a")
        wait_until(lambda: fetches_of(site, "/a") > seen, what="a run in flight")
        process.send_signal(signal.SIGTERM)
    finally:
        code = stop_daemon(process)
    assert code == 0
    with sqlite3.connect(tmp_path / "t.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        events = conn.execute("SELECT snapshot_id FROM events").fetchall()
        snapshots = {r[0] for r in conn.execute("SELECT id FROM snapshots")}
        current = conn.execute("SELECT snapshot_id FROM sources WHERE id = 'a'").fetchone()[0]
    # the run in flight completed whole: its event, the snapshot it points at and the source's state
    assert len(events) == 1 and events[0][0] in snapshots and current == events[0][0]
    assert len(snapshots) == 2


# -- the second reliability round: the scheduler under faults ---------------------------------------------


def _hostile_yaml(specs: list[tuple[str, str, str, str]], extra: str = "") -> str:
    """(id, url, interval, timeout) page sources."""
    lines = [extra.rstrip("\n")] if extra else []
    lines.append("sources:")
    for source_id, url, interval, timeout in specs:
        lines += [f"  - id: {source_id}", "    type: page", f"    url: {url}", "    jurisdiction: US-FL",
                  f"    interval: {interval}", f"    timeout: {timeout}", "    select: main"]
    return "\n".join(lines) + "\n"


def test_sigterm_with_a_hung_fetch_stops_within_the_grace(site, tmp_path):
    from hostile_server import HANG, HostileServer, Reply

    with HostileServer() as hung:
        hung.set("/doc", Reply(mode=HANG))
        sources = write_sources(tmp_path, _hostile_yaml([("hung", hung.url("/doc"), "1h", "60s")], NO_JITTER))
        process = start_daemon(tmp_path, sources)
        try:
            wait_until(lambda: len(hung.requests_to("/doc")) >= 1, timeout=15, what="the hung request")
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=scheduler.STOP_GRACE + 10)
            took = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
        assert code == 0 and took < scheduler.STOP_GRACE + 5  # it waited the 60 s timeout out before
        assert "Traceback" not in (tmp_path / "daemon.log").read_text()
        with sqlite3.connect(tmp_path / "t.db") as conn:  # the cut run recorded no false timeout
            assert conn.execute("SELECT COUNT(*) FROM fetches WHERE source_id = 'hung'").fetchone() == (0,)


def test_a_second_stop_signal_exits_at_once(site, tmp_path):
    from hostile_server import HostileServer, Reply

    with HostileServer() as slow:
        # urllib3 sleeps out a Retry-After inside the request: the first stop has to wait for it
        slow.set("/doc", Reply(status=503, body=b"busy", headers=(("Retry-After", "30"),)))
        extra = NO_JITTER + "fetch:\n  retries: 2\n  max_retry_wait: 30s\n"
        sources = write_sources(tmp_path, "").read_text() + _hostile_yaml(
            [("slow", slow.url("/doc"), "1h", "5s")], extra)
        (tmp_path / "sources.yaml").write_text(sources.replace("fetch:\n  retries: 0\n", ""), encoding="utf-8")
        process = start_daemon(tmp_path, tmp_path / "sources.yaml")
        try:
            wait_until(lambda: len(slow.requests_to("/doc")) >= 1, timeout=15, what="the first request")
            process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            started = time.monotonic()
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=10)
            took = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
        assert code == 128 + signal.SIGINT and took < 3
        assert "second stop signal" in (tmp_path / "daemon.log").read_text()


def test_a_last_fetch_in_the_future_runs_now_and_shows_stale(site, tmp_path):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    source = SourceConfig(id="a", type="page", name="a", jurisdiction="US", interval=3600.0)
    future = {"a": SourceState(last_fetch_at="2027-06-01T12:00:00Z", last_success_at="2027-06-01T12:00:00Z")}
    planned = scheduler.first_run_times([source], future, now)
    assert now <= planned["a"] <= now + timedelta(seconds=scheduler.STARTUP_SPREAD)
    site.set("/a", html_page("<p>kratom: a</p>"))
    sources = write_sources(tmp_path, page_sources(site, [("a", "/a", "1h")]))
    assert run_cli("collect", "--sources", str(sources), "--db", str(tmp_path / "t.db"), "--quiet") == 0
    with sqlite3.connect(tmp_path / "t.db") as conn:
        conn.execute("UPDATE sources SET last_fetch_at = '2099-01-01T00:00:00Z', "
                     "last_success_at = '2099-01-01T00:00:00Z'")
    with Store(tmp_path / "t.db") as store:
        (row,) = source_health_rows(load(sources), store)
    assert row.stale
    with running(tmp_path, sources, feeds=False):  # and the daemon runs it now, not in 2099
        wait_until(lambda: fetches_of(site, "/a") >= 2, timeout=15, what="a run despite the future time")


def test_hung_hosts_do_not_starve_a_fast_source_on_another_host(site, tmp_path):
    from hostile_server import HANG, HostileServer, Reply

    with HostileServer() as first, HostileServer() as second:
        for server in (first, second):
            server.set("/doc", Reply(mode=HANG))
        site.set("/fast", html_page("<p>fast</p>"))
        specs = [("hung-a", first.url("/doc"), "0.3s", "20s"), ("hung-b", second.url("/doc"), "0.3s", "20s"),
                 ("hung-c", first.url("/doc?c"), "0.3s", "20s"), ("hung-d", second.url("/doc?d"), "0.3s", "20s"),
                 ("fast", site.url("/fast"), "0.3s", "5s")]
        extra = NO_JITTER + "fetch:\n  workers: 3\n"
        sources = tmp_path / "sources.yaml"
        sources.write_text("politeness:\n  per_host_delay: 0s\n" + _hostile_yaml(specs, extra), encoding="utf-8")
        with running(tmp_path, sources, feeds=False):
            wait_until(lambda: fetches_of(site, "/fast") >= 5, timeout=8, what="the fast source to keep running")
