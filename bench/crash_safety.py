"""Crash safety: `collect` killed with SIGKILL at random moments loses nothing, orphans nothing and
duplicates nothing.

    .venv/bin/python bench/crash_safety.py [--kills 100] [--sources 40] [--seed 1]

1. A local site on 127.0.0.1 serves `--sources` pages. A first normal `collect` sets the starting points.
2. `--kills` times: while a `collect` subprocess runs, some pages change (each at most once per round, to a
   version never seen before); the subprocess is killed with SIGKILL at a random moment; then a normal
   `collect` runs to the end.
3. At the end: every change snapshot has its event and every event its snapshot, no event is duplicated,
   and the events equal the changes made, page by page and version by version. Prints
   "N lost, N orphaned, N duplicated".
4. Two `collect` processes at once on one database (one waits; nothing doubled or corrupted), and a
   read-only reader (the way `serve` opens the database) polling while `collect` writes (WAL).

Exit status 0 when every check holds, 1 otherwise."""

from __future__ import annotations

import argparse
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a SIGKILLed client resets its connections; that is the point, not news


class Site:
    """Pages `/p/<n>` whose body names its version; `bump(n)` makes a new version."""

    def __init__(self, pages: int):
        self.versions = [0] * pages
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/robots.txt":
                    body = b"User-agent: *\nAllow: /\n"
                else:
                    number = int(self.path.rsplit("/", 1)[1])
                    with site.lock:
                        version = site.versions[number]
                    body = (f"<!doctype html><html><body><main><h1>Page {number}</h1>"
                            f"<p>page {number} version {version}</p></main></body></html>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, number: int) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/p/{number}"

    def bump(self, number: int) -> int:
        with self.lock:
            self.versions[number] += 1
            return self.versions[number]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_sources(path: Path, site: Site, count: int) -> None:
    lines = ["politeness:", "  per_host_delay: 0s", "  per_host_concurrency: 8", "fetch:", "  workers: 8",
             "  retries: 0", "sources:"]
    lines += [f"  - {{id: p{n}, type: page, url: '{site.url(n)}', jurisdiction: US, select: main, timeout: 5s}}"
              for n in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def collect_command(sources: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "kratom_tracker", "collect", "--sources", str(sources), "--db", str(db), "--quiet"]


def run_collect(sources: Path, db: Path) -> int:
    return subprocess.run(collect_command(sources, db), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=300).returncode


# -- the checks ------------------------------------------------------------------------------------------


_VERSION = re.compile(r"^\+page (\d+) version (\d+)$", re.MULTILINE)


def audit(db: Path, changes: dict[int, list[int]]) -> dict[str, int]:
    """Compare the database with the changes made: {page: [versions it moved to, in order]}."""
    with sqlite3.connect(db) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        events = conn.execute("SELECT id, source_id, snapshot_id, diff FROM events ORDER BY id").fetchall()
        snapshots = {row[0]: row[1:] for row in conn.execute(
            "SELECT id, source_id, reason FROM snapshots").fetchall()}
        pointers = conn.execute("SELECT id, snapshot_id FROM sources").fetchall()
    with_event = Counter(snapshot_id for _, _, snapshot_id, _ in events)
    orphan_snapshots = [sid for sid, (_, reason) in snapshots.items()
                        if reason not in ("initial", "quiet") and with_event[sid] == 0]
    orphan_events = [eid for eid, _, snapshot_id, _ in events if snapshot_id not in snapshots]
    dangling_sources = [sid for sid, snapshot_id in pointers if snapshot_id not in snapshots]
    seen: Counter = Counter()
    for _, _, _, diff in events:
        for page, version in _VERSION.findall(diff or ""):
            seen[(int(page), int(version))] += 1
    made = Counter((page, version) for page, versions in changes.items() for version in versions)
    lost = sum((made - seen).values())
    duplicated = sum(n - 1 for n in seen.values() if n > 1)  # one change written more than once
    invented = sum(1 for key in seen if key not in made)  # an event for a version never served
    return {
        "events": len(events), "changes": sum(made.values()), "lost": lost, "invented": invented,
        "orphaned": len(orphan_snapshots) + len(orphan_events) + len(dangling_sources),
        "duplicated": duplicated, "integrity_ok": int(integrity == "ok"),
    }


# -- 1 to 3: kills -----------------------------------------------------------------------------------


def kill_rounds(work: Path, kills: int, count: int, rng: random.Random) -> tuple[dict[str, int], dict[str, int]]:
    site = Site(count)
    sources, db = work / "sources.yaml", work / "kill.db"
    write_sources(sources, site, count)
    started = time.monotonic()
    if run_collect(sources, db) != 0:
        raise SystemExit("the first normal collect failed; nothing to measure")
    full_run = time.monotonic() - started
    changes: dict[int, list[int]] = {n: [] for n in range(count)}
    stats = Counter()
    try:
        for round_number in range(kills):
            to_change = rng.sample(range(count), rng.randint(1, max(1, count // 4)))
            change_at = rng.uniform(0, full_run)
            kill_at = rng.uniform(0.05, full_run * 1.2)
            process = subprocess.Popen(collect_command(sources, db), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            began = time.monotonic()
            changed = False
            while True:
                elapsed = time.monotonic() - began
                if not changed and elapsed >= change_at:
                    for page in to_change:  # the site changes while collect runs
                        changes[page].append(site.bump(page))
                    changed = True
                if elapsed >= kill_at and changed:
                    break
                time.sleep(0.005)
            stats["mid_run" if process.poll() is None else "after_exit"] += 1
            process.send_signal(signal.SIGKILL)  # a no-op when it already ended
            process.wait()
            if run_collect(sources, db) != 0:
                stats["recovery_failures"] += 1
            if (round_number + 1) % 10 == 0:
                print(f"  {round_number + 1} kills", file=sys.stderr, flush=True)
    finally:
        site.close()
    return audit(db, changes), dict(stats)


# -- 4: two collects at once, and a reader while collect writes ----------------------------------------------


def concurrent_collects(work: Path, count: int, rounds: int = 5) -> dict[str, int]:
    site = Site(count)
    sources, db = work / "sources-concurrent.yaml", work / "concurrent.db"
    write_sources(sources, site, count)
    run_collect(sources, db)
    changes: dict[int, list[int]] = {n: [] for n in range(count)}
    exit_codes: Counter = Counter()
    try:
        for _ in range(rounds):
            for page in range(0, count, 2):
                changes[page].append(site.bump(page))
            first = subprocess.Popen(collect_command(sources, db), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            second = subprocess.Popen(collect_command(sources, db), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE)
            for process in (first, second):
                _, err = process.communicate(timeout=300)
                exit_codes[process.returncode] += 1
                if b"Traceback" in err:
                    exit_codes["traceback"] += 1
    finally:
        site.close()
    result = audit(db, changes)
    result["exit_0"] = exit_codes[0]
    result["exit_other"] = sum(n for code, n in exit_codes.items() if code not in (0, "traceback"))
    result["tracebacks"] = exit_codes["traceback"]
    return result


def reader_during_collect(work: Path, count: int, rounds: int = 5) -> dict[str, int]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from kratom_tracker.store import Store

    site = Site(count)
    sources, db = work / "sources-reader.yaml", work / "reader.db"
    write_sources(sources, site, count)
    run_collect(sources, db)
    stop = threading.Event()
    reads = Counter()

    def read_loop() -> None:
        while not stop.is_set():
            try:
                with Store(db, readonly=True) as store:  # how `serve` opens it
                    store.events(limit=50)
                    store.sources_health()
                reads["ok"] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is what this counts
                reads["errors"] += 1
                reads[f"error: {type(exc).__name__}: {exc}"] += 1

    reader = threading.Thread(target=read_loop, daemon=True)
    reader.start()
    changes: dict[int, list[int]] = {n: [] for n in range(count)}
    try:
        for _ in range(rounds):
            for page in range(count):
                changes[page].append(site.bump(page))
            run_collect(sources, db)
    finally:
        stop.set()
        reader.join()
        site.close()
    result = audit(db, changes)
    result["reads"] = reads["ok"]
    result["read_errors"] = reads["errors"]
    for key in reads:
        if key.startswith("error: ") and reads["errors"]:
            print(f"  reader {key}", file=sys.stderr)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--sources", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep the databases")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="kt-crash-"))
    work.mkdir(parents=True, exist_ok=True)

    print(f"crash safety: {args.kills} SIGKILLs of collect over {args.sources} pages (seed {args.seed})")
    kills, stats = kill_rounds(work, args.kills, args.sources, rng)
    print(f"  kills landed mid-run: {stats.get('mid_run', 0)}, after the run ended: {stats.get('after_exit', 0)}; "
          f"recovery runs that failed: {stats.get('recovery_failures', 0)}")
    print(f"  changes made: {kills['changes']}, events recorded: {kills['events']}, "
          f"integrity_check: {'ok' if kills['integrity_ok'] else 'FAILED'}")
    print(f"  {kills['lost']} lost, {kills['orphaned']} orphaned, {kills['duplicated']} duplicated"
          f" ({kills['invented']} invented)")

    both = concurrent_collects(work, min(args.sources, 20))
    print(f"two collects at once, 5 rounds: exit 0: {both['exit_0']}, other exits: {both['exit_other']}, "
          f"tracebacks: {both['tracebacks']}; changes {both['changes']}, events {both['events']}; "
          f"{both['lost']} lost, {both['orphaned']} orphaned, {both['duplicated']} duplicated, "
          f"{both['invented']} invented, "
          f"integrity {'ok' if both['integrity_ok'] else 'FAILED'}")

    reading = reader_during_collect(work, min(args.sources, 20))
    print(f"read-only reader during collect: {reading['reads']} reads, {reading['read_errors']} errors; "
          f"changes {reading['changes']}, events {reading['events']}; {reading['lost']} lost, "
          f"{reading['orphaned']} orphaned, {reading['duplicated']} duplicated")

    clean = (all(r["lost"] == r["orphaned"] == r["duplicated"] == r["invented"] == 0 and r["integrity_ok"]
                 for r in (kills, both, reading))
             and stats.get("recovery_failures", 0) == 0 and both["tracebacks"] == 0 and both["exit_other"] == 0
             and reading["read_errors"] == 0)
    print("RESULT:", "clean" if clean else "PROBLEMS FOUND")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
