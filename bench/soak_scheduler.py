"""Soak test of the scheduler daemon: `kratom-tracker schedule` against a local server with N sources whose
pages change at random, for M minutes. Afterwards it checks that the events equal the changes made (none
lost, none doubled), samples the daemon's memory over time and checks that the feeds hold every change:
all.json holds the newest `--max-entries`, and a feed reader polling it every 10 s sees every event.

    .venv/bin/python bench/soak_scheduler.py [--minutes 10] [--sources 50] [--interval 10s] [--out DIR]

A page is changed only after the daemon has fetched its current revision, so each change must appear as
exactly one event. Changes stop a little before the end so the last ones are collected and published
before the daemon is stopped with SIGTERM (it must exit 0). Results go to stdout and `<out>/results.json`."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from pages import render  # noqa: E402

JURISDICTIONS = ("US", "US-FL", "US-CA", "US-TX", "US-AL", "US-IN", "US-WI", "US-VT", "US-RI", "US-AR")
REVISION = re.compile(r"^\+\s*Revision (\d+):", re.MULTILINE)


class ChangingSite:
    """Pages /p/<i> rendered from a revision number; records which revision each page last served."""

    def __init__(self, count: int):
        self.revision = [0] * count
        self.served = [-1] * count
        self.changes = [0] * count
        self.requests = 0
        self.aborted = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def change_one(self, rng: random.Random) -> int | None:
        """Bump the revision of a random page whose current revision the daemon has already fetched."""
        with self.lock:
            ready = [i for i, rev in enumerate(self.revision) if self.served[i] == rev]
            if not ready:
                return None
            index = rng.choice(ready)
            self.revision[index] += 1
            self.changes[index] += 1
            return index

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    site.aborted += 1  # the client gave up (its timeout); the revision was not seen

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/robots.txt":
                    self._send(200, b"User-agent: *\nAllow: /\n", {})
                    return
                match = re.fullmatch(r"/p/(\d+)", self.path)
                if not match or int(match.group(1)) >= len(site.revision):
                    self._send(404, b"not found", {})
                    return
                index = int(match.group(1))
                with site.lock:
                    site.requests += 1
                    revision = site.revision[index]
                body = render(index, revision=revision).encode()
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", {"ETag": etag})
                else:
                    self._send(200, body, {"ETag": etag, "Content-Type": "text/html; charset=utf-8"})
                with site.lock:  # only a revision the client really received counts as seen
                    site.served[index] = max(site.served[index], revision)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

        return Handler


def write_sources(path: Path, site: ChangingSite, count: int, interval: str, publish_delay: str,
                  max_entries: int) -> None:
    lines = ["politeness:", "  per_host_concurrency: 4", "  per_host_delay: 0s", "fetch:", "  workers: 8",
             "scheduler:", f"  publish_delay: {publish_delay}", "publish:", f"  max_entries: {max_entries}",
             "sources:"]
    for index in range(count):
        lines += [f"  - id: soak-{index:03d}", "    type: page", f"    url: {site.base}/p/{index}",
                  f"    jurisdiction: {JURISDICTIONS[index % len(JURISDICTIONS)]}", f"    interval: {interval}",
                  "    select: main", '    ignore: ["Content current as of .*"]']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def rss_kib(pid: int) -> int | None:
    """Anonymous resident memory (the heap: what a leak would grow); file-backed pages such as shared
    libraries come and go with the page cache and would blur the picture."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def check_events(db: Path, site: ChangingSite, count: int) -> dict:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT id, source_id, diff FROM events ORDER BY id").fetchall()
    fetches = conn.execute("SELECT COUNT(*) FROM fetches").fetchone()[0]
    outcomes = dict(conn.execute("SELECT outcome, COUNT(*) FROM fetches GROUP BY outcome").fetchall())
    conn.close()
    per_source = Counter(source_id for _, source_id, _ in rows)
    seen: dict[str, list[int]] = {}
    for _, source_id, diff in rows:
        seen.setdefault(source_id, []).extend(int(r) for r in REVISION.findall(diff or ""))
    lost, doubled = [], []
    for index in range(count):
        source_id = f"soak-{index:03d}"
        expected = list(range(1, site.changes[index] + 1))
        got = sorted(seen.get(source_id, []))
        if per_source[source_id] > site.changes[index] or len(got) != len(set(got)):
            doubled.append(source_id)
        if set(got) != set(expected) or per_source[source_id] < site.changes[index]:
            lost.append(source_id)
    return {"events": len(rows), "changes_made": sum(site.changes), "sources_with_lost_changes": lost,
            "sources_with_doubled_events": doubled, "event_ids": [r[0] for r in rows],
            "fetch_rows_kept": fetches, "fetch_outcomes_kept": outcomes}


def feed_item_ids(path: Path) -> set[int]:
    """Event ids in a JSON Feed file (empty if it is not there yet); the daemon replaces it atomically."""
    try:
        items = json.loads(path.read_text(encoding="utf-8")).get("items", [])
    except (OSError, ValueError):
        return set()
    return {int(item["id"].rsplit("/", 1)[-1]) for item in items}


def check_feeds(feeds: Path, event_ids: list[int], max_entries: int) -> dict:
    """Every event must be in all.json, or, when there are more than `max_entries`, the newest ones."""
    all_json = feeds / "all.json"
    if not all_json.exists():
        return {"all_json_items": 0, "missing_from_feed": len(event_ids)}
    in_feed = feed_item_ids(all_json)
    missing = sorted(set(sorted(event_ids)[-max_entries:]) - in_feed)
    region_files = sorted(p.name for p in (feeds / "region").glob("*.atom")) if (feeds / "region").exists() else []
    return {"all_json_items": len(in_feed), "missing_from_feed": len(missing), "missing_ids": missing[:20],
            "region_atom_feeds": len(region_files)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--interval", default="10s", help="every source's interval (default 10s)")
    parser.add_argument("--change-every", type=float, default=1.5, help="mean seconds between page changes")
    parser.add_argument("--publish-delay", default="5s")
    parser.add_argument("--max-entries", type=int, default=200,
                        help="entries per feed (default 200, as shipped); a feed reader polling all.json every "
                             "10 s must still see every change")
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "soak")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("tracker.db", "tracker.db-wal", "tracker.db-shm", "daemon.log"):
        (out / stale).unlink(missing_ok=True)
    feeds = out / "feeds"
    if feeds.exists():
        for path in sorted(feeds.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    site = ChangingSite(args.sources)
    sources = out / "sources.yaml"
    write_sources(sources, site, args.sources, args.interval, args.publish_delay, args.max_entries)
    db = out / "tracker.db"
    exe = [sys.executable, "-m", "kratom_tracker", "schedule", "--sources", str(sources), "--db", str(db),
           "--feeds", str(feeds)]
    duration = args.minutes * 60
    interval_s = float(args.interval.rstrip("s"))
    quiet_tail = max(3 * interval_s + 15, 30.0)  # no changes at the end, so the last ones are collected
    rng = random.Random(args.seed)
    with open(out / "daemon.log", "w", encoding="utf-8") as log:
        daemon = subprocess.Popen(exe, stderr=log, stdout=log, cwd=REPO)
        started = time.monotonic()
        samples: list[tuple[float, int | None]] = []
        reader_seen: set[int] = set()  # what a feed reader polling all.json every 10 s has seen
        next_sample = 10.0
        next_change = started + 5 + rng.expovariate(1 / args.change_every)
        while (elapsed := time.monotonic() - started) < duration:
            if daemon.poll() is not None:
                print(f"daemon exited early with {daemon.returncode}; see {out / 'daemon.log'}")
                return 1
            if elapsed >= next_sample:
                samples.append((round(elapsed), rss_kib(daemon.pid)))
                reader_seen |= feed_item_ids(feeds / "all.json")
                next_sample += 10
            if time.monotonic() >= next_change and elapsed < duration - quiet_tail:
                site.change_one(rng)
                next_change = time.monotonic() + rng.expovariate(1 / args.change_every)
            time.sleep(0.1)
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=120)
    events = check_events(db, site, args.sources)
    event_ids = events.pop("event_ids")
    feed = check_feeds(feeds, event_ids, args.max_entries)
    reader_seen |= feed_item_ids(feeds / "all.json")
    reader_missed = sorted(set(event_ids) - reader_seen)
    feed["feed_reader_saw"] = len(reader_seen & set(event_ids))
    feed["feed_reader_missed"] = len(reader_missed)
    feed["feed_reader_missed_ids"] = reader_missed[:20]
    kib = [k for _, k in samples if k]
    after_warmup = [k for t, k in samples if k and t >= 120]
    result = {
        "minutes": args.minutes, "sources": args.sources, "interval": args.interval, "exit_code": code,
        "http_requests": site.requests, "responses_aborted_by_client": site.aborted, **events, **feed,
        "rss_kib_first": kib[0] if kib else None, "rss_kib_at_2min": after_warmup[0] if after_warmup else None,
        "rss_kib_max_after_2min": max(after_warmup) if after_warmup else None,
        "rss_kib_last": kib[-1] if kib else None,
        "rss_samples": samples,
    }
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"duration {args.minutes} min, {args.sources} sources every {args.interval}; daemon exit {code}")
    print(f"changes made {result['changes_made']}, events {result['events']}; "
          f"lost in {len(result['sources_with_lost_changes'])} sources, "
          f"doubled in {len(result['sources_with_doubled_events'])} sources")
    print(f"http requests {site.requests} ({site.aborted} abandoned by the client); fetch outcomes kept {result['fetch_outcomes_kept']}")
    print(f"feeds: all.json items {result['all_json_items']}, events missing from it {result['missing_from_feed']}, "
          f"region feeds {result.get('region_atom_feeds')}")
    print(f"a feed reader polling all.json every 10 s saw {result['feed_reader_saw']} of {result['events']} events "
          f"(missed {result['feed_reader_missed']})")
    print("RssAnon (KiB) by elapsed seconds: " + ", ".join(f"{t}s={k}" for t, k in samples[::3]))
    print(f"RssAnon at 2 min {result['rss_kib_at_2min']}, max after 2 min {result['rss_kib_max_after_2min']}, "
          f"last {result['rss_kib_last']}")
    ok = (code == 0 and not result["sources_with_lost_changes"] and not result["sources_with_doubled_events"]
          and result["missing_from_feed"] == 0 and result["feed_reader_missed"] == 0
          and result["events"] == result["changes_made"])
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
