"""Query and publish costs on synthetic stores.

- a store of 1 000 000 events spread over every ISO 3166 country and subdivision (plus some localities),
  detected over two years, with current and retired assertions: time `status US-FL --json` and
  `changes --region US-FL --since <30 days ago> --json`, both as the store query alone (in process,
  median of 7 after a warm-up) and as the whole command (a new Python process, wall time);
- a store where one feed scope (US-FL and its localities) holds 10 000 events: time `publish`.

    .venv/bin/python bench/querybench.py [--events 1000000]"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kratom_tracker import regions
from kratom_tracker.store import Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SUBSTANCES = ("leaf", "7-OH", "all")
STATUSES = ("legal", "regulated", "banned", "pending", "unknown")
LOCALITIES = ("US-FL/sarasota-county", "US-FL/miami-dade-county", "US-FL/orange-county", "US-CA/san-diego",
              "US-TX/travis-county", "US-AL/mobile-county")


def all_jurisdictions() -> list[str]:
    import pycountry

    codes = [c.alpha_2 for c in pycountry.countries] + [s.code for s in pycountry.subdivisions]
    return sorted(codes) + list(LOCALITIES)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_rows(count: int, jurisdictions: list[str], seed: int):
    rng = random.Random(seed)
    start = NOW - timedelta(days=730)
    span = 730 * 86400
    # detected_at grows with id, as in a real store (events are appended as they are found)
    offsets = sorted(rng.randrange(span) for _ in range(count))
    for n, offset in enumerate(offsets):
        jurisdiction = rng.choice(jurisdictions)
        source = f"src-{jurisdiction.lower().replace('/', '-')}"
        yield ("content", source, jurisdiction, _stamp(start + timedelta(seconds=offset)),
               f"{jurisdiction}: page changed ({n})", "1 line added, 1 removed",
               f"--- before\n+++ after\n@@ -1 +1 @@\n-Status: regulated ({n})\n+Status: banned ({n})\n",
               f"https://example.org/{source}", "{}", None)


def build_events_store(path: Path, count: int, jurisdictions: list[str], seed: int = 7) -> float:
    """A store holding `count` events over `jurisdictions`; returns the seconds the build took."""
    started = time.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with Store(path) as store:
        conn = store.db.conn
        with store.transaction():
            rows = _event_rows(count, jurisdictions, seed)
            while True:
                chunk = [row for _, row in zip(range(50_000), rows, strict=False)]
                if not chunk:
                    break
                conn.executemany("INSERT INTO events (kind, source_id, jurisdiction, detected_at, title, summary, "
                                 "diff, url, data, snapshot_id) VALUES (?,?,?,?,?,?,?,?,?,?)", chunk)
            rng = random.Random(seed)
            assertions = []
            for jurisdiction in jurisdictions:
                for substance in ("leaf", "7-OH"):
                    for retired in (_stamp(NOW - timedelta(days=400)), None):
                        assertions.append((f"src-{jurisdiction.lower()}", jurisdiction, substance,
                                           rng.choice(STATUSES), None, "https://example.org/law", "a quote",
                                           _stamp(NOW - timedelta(days=500)), retired))
            conn.executemany("INSERT INTO assertions (source_id, jurisdiction, substance, status, effective_date, "
                             "evidence_url, quote, observed_at, retired_at) VALUES (?,?,?,?,?,?,?,?,?)", assertions)
        conn.execute("ANALYZE")
    return time.perf_counter() - started


def _median_ms(action, repeat: int = 7) -> float:
    action()  # warm the page cache and the statement cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _cli_wall(args: list[str], repeat: int = 3) -> tuple[float, bool, str]:
    exe = str(Path(sys.executable).parent / "kratom-tracker")
    times, ok, note = [], True, ""
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run([exe, *args], capture_output=True, text=True)
        times.append((time.perf_counter() - started) * 1000)
        if done.returncode != 0:
            ok, note = False, (done.stderr.strip().splitlines() or ["failed"])[-1][:200]
    return statistics.median(times), ok, note


def _status_query(store: Store, region: str) -> list:
    """What `status REGION` reads: the current assertions of the region and every level above it."""
    return store.current_assertions(regions.chain(region))


def query_costs(db: Path) -> dict:
    since = _stamp(NOW - timedelta(days=30))
    with Store(db, readonly=True) as store:
        changes_rows = len(store.events(region="US-FL", since=since))
        changes_ms = _median_ms(lambda: store.events(region="US-FL", since=since))
        status_rows = len(_status_query(store, "US-FL"))
        status_ms = _median_ms(lambda: _status_query(store, "US-FL"))
        plan = [row[3] for row in store.db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM events WHERE (jurisdiction = ? OR (jurisdiction >= ? AND "
            "jurisdiction < ?)) AND detected_at >= ? ORDER BY id DESC", ["US-FL", "US-FL/", "US-FL0", since])]
    document_ms = None
    try:  # the status command's own function: opens the store, reads, builds the JSON document
        from kratom_tracker.rules import status_document

        region = regions.lookup("US-FL")
        document_ms = round(_median_ms(lambda: json.dumps(status_document(region, db))), 2)
    except ImportError:
        pass
    status_cli = _cli_wall(["status", "US-FL", "--json", "--db", str(db)])
    changes_cli = _cli_wall(["changes", "--region", "US-FL", "--since", since[:10], "--json", "--db", str(db)])
    return {"changes_query_ms": round(changes_ms, 2), "changes_rows": changes_rows, "changes_plan": plan,
            "changes_cli_ms": round(changes_cli[0]), "changes_cli_ok": changes_cli[1], "changes_cli_note": changes_cli[2],
            "status_query_ms": round(status_ms, 2), "status_rows": status_rows, "status_document_ms": document_ms,
            "status_cli_ms": round(status_cli[0]), "status_cli_ok": status_cli[1], "status_cli_note": status_cli[2]}


def publish_costs(folder: Path, scope_events: int) -> dict:
    """Publish with one feed scope holding `scope_events` events (US-FL and its localities)."""
    db = folder / "publish.db"
    scope = ["US-FL", "US-FL/sarasota-county", "US-FL/miami-dade-county", "US-FL/orange-county"]
    build_events_store(db, scope_events, scope, seed=11)
    out = folder / "feeds"
    shutil.rmtree(out, ignore_errors=True)
    try:
        from kratom_tracker.config.model import PublishSettings
        from kratom_tracker.publish import publish
    except ImportError as exc:
        return {"publish_note": f"publish is not available: {exc}"}
    with Store(db, readonly=True) as store:
        started = time.perf_counter()
        report = publish(store, out, PublishSettings())
        first_ms = (time.perf_counter() - started) * 1000
        again_ms = _median_ms(lambda: publish(store, out, PublishSettings()), repeat=3)
    cli = _cli_wall(["publish", "--out", str(out), "--db", str(db), "--sources", str(folder / "none.yaml")])
    return {"publish_events_in_scope": scope_events, "publish_feeds": report.feeds, "publish_files": len(report.paths),
            "publish_first_ms": round(first_ms), "publish_again_ms": round(again_ms),
            "publish_cli_ms": round(cli[0]), "publish_cli_ok": cli[1], "publish_cli_note": cli[2]}


def run(folder: Path, events: int, reuse: bool = False) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "million.db"
    jurisdictions = all_jurisdictions()
    if reuse and db.exists():
        build_s = 0.0
        with Store(db, readonly=True) as store:
            events = store.db.execute("SELECT count(*) FROM events").fetchone()[0]
    else:
        print(f"building a store of {events} events over {len(jurisdictions)} jurisdictions ...", file=sys.stderr)
        build_s = build_events_store(db, events, jurisdictions)
    results = {"events": events, "jurisdictions": len(jurisdictions), "build_s": round(build_s, 1),
               "db_mb": round(db.stat().st_size / 1e6, 1)}
    results.update(query_costs(db))
    results.update(publish_costs(folder, 10_000))
    print(json.dumps(results, indent=2), file=sys.stderr)
    return results


def table(q: dict) -> str:
    rows = [f"store: {q['events']} events over {q['jurisdictions']} jurisdictions, {q['db_mb']} MB "
            f"(built in {q['build_s']} s)", "",
            "| what | query time (in process, median) | whole command (new process, wall) | rows |",
            "|---|---:|---:|---:|",
            f"| `status US-FL --json` | {q['status_query_ms']} ms (current assertions along the chain); "
            f"{q.get('status_document_ms')} ms (`status_document`: open, read, build) | "
            f"{q['status_cli_ms'] if q['status_cli_ok'] else 'n/a: ' + q['status_cli_note']} "
            f"{'ms' if q['status_cli_ok'] else ''} | {q['status_rows']} |",
            f"| `changes --region US-FL --since <30 days> --json` | {q['changes_query_ms']} ms | "
            f"{q['changes_cli_ms'] if q['changes_cli_ok'] else 'n/a: ' + q['changes_cli_note']} "
            f"{'ms' if q['changes_cli_ok'] else ''} | {q['changes_rows']} |"]
    if "publish_first_ms" in q:
        rows.append(f"| `publish`, {q['publish_events_in_scope']} events in one scope ({q['publish_feeds']} feeds, "
                    f"{q['publish_files']} files) | {q['publish_first_ms']} ms first, {q['publish_again_ms']} ms "
                    f"again | {q['publish_cli_ms'] if q['publish_cli_ok'] else 'n/a: ' + q['publish_cli_note']} "
                    f"{'ms' if q['publish_cli_ok'] else ''} | |")
    else:
        rows.append(f"| `publish` | {q.get('publish_note')} | | |")
    rows.append("")
    rows.append(f"query plan of `changes`: {'; '.join(q['changes_plan'])}")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description="query and publish costs on a synthetic store")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="time the store already built by a previous run")
    args = parser.parse_args()
    results = run(Path(__file__).resolve().parent / "out" / "query", args.events, args.reuse)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
