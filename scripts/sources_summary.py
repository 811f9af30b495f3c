"""Print the shipped sources by channel (machine-readable API/feed vs scraped page) and by level
(federal, state, local, international): the figures for a release note.

    .venv/bin/python scripts/sources_summary.py [sources.yaml]   (default: the list shipped in the package)
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import yaml

from kratom_tracker import regions, shipped

# Structured channels: an API answer, a feed, wiki source text, or our own cited table.
MACHINE_READABLE = {"federal-register": "API", "feed": "feed", "wikipedia": "wikitext", "baseline": "curated table",
                    "status-table": "table"}


def main(path: str = str(shipped.SOURCES)) -> int:
    sources = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["sources"]
    machine = [s for s in sources if s["type"] in MACHINE_READABLE]
    scraped = [s for s in sources if s["type"] not in MACHINE_READABLE]
    print(f"{len(sources)} sources: {len(machine)} machine-readable, {len(scraped)} scraped pages")
    levels = Counter(regions.level(s["jurisdiction"]) for s in sources if s["type"] != "baseline")
    print("by level (without baselines): " + ", ".join(f"{n} {k}" for k, n in levels.most_common()))
    states = sorted({s["jurisdiction"] for s in sources if regions.level(s["jurisdiction"]) == "state"})
    print(f"states ({len(states)}): {' '.join(states)}")
    countries = sorted({s["jurisdiction"] for s in sources if regions.level(s["jurisdiction"]) == "international"})
    print(f"international ({len(countries)}): {' '.join(countries)}")
    print("\nmachine-readable:")
    for s in machine:
        print(f"  {s['id']:<38} {MACHINE_READABLE[s['type']]:<14} {s['jurisdiction']}")
    print("\nscraped pages:")
    for s in scraped:
        print(f"  {s['id']:<38} {s['jurisdiction']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
