"""Count the shipped cited baseline: rows, the share whose citation is primary, the places covered.

    .venv/bin/python scripts/baseline_counts.py [--json]

Reads the packaged tables (src/kratom_tracker/shipped/data/baseline_us.csv and baseline_intl.csv) with
the baseline extractor itself, so a row that would not load is not counted (and is reported)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass

from kratom_tracker import regions, shipped
from kratom_tracker.extractors.baseline import parse_rows
from kratom_tracker.values import Assertion
from kratom_tracker.vocab import EvidenceKind, Status, Substance

TABLES = ("baseline_us.csv", "baseline_intl.csv")


@dataclass(frozen=True)
class Counts:
    rows: int
    primary: int
    primary_share: float  # primary rows / rows
    pending: int  # rows for a measure that is not law yet
    states: int  # US states and DC with a law-in-force row for both leaf and 7-OH (or one `all` row)
    localities: int  # places below a state (US-XX/slug) with rows
    countries: int  # countries other than the US with rows
    problems: int  # rows the extractor refused


def _covered(rows: list[Assertion], code: str) -> bool:
    substances = {a.substance for a in rows if a.jurisdiction == code and a.status != Status.PENDING}
    return Substance.ALL in substances or {Substance.LEAF, Substance.SEVEN_OH} <= substances


def count() -> tuple[Counts, list[str]]:
    rows: list[Assertion] = []
    problems: list[str] = []
    for name in TABLES:
        found, refused = parse_rows(shipped.data_file(name).read_text(encoding="utf-8"))
        rows += found
        problems += [f"{name}: {p}" for p in refused]
    codes = {a.jurisdiction for a in rows}
    states = {c for c in codes if c.startswith("US-") and "/" not in c}
    primary = sum(a.evidence_kind == EvidenceKind.PRIMARY for a in rows)
    return Counts(
        rows=len(rows), primary=primary, primary_share=round(primary / len(rows), 3) if rows else 0.0,
        pending=sum(a.status == Status.PENDING for a in rows),
        states=sum(_covered(rows, c) for c in states),
        localities=sum(regions.level(c) == "local" for c in codes),
        countries=len({c.split("-")[0] for c in codes if "/" not in c and not c.startswith("US")
                       and c != regions.INTERNATIONAL}),
        problems=len(problems),
    ), problems


def main(argv: list[str]) -> int:
    counts, problems = count()
    if "--json" in argv:
        print(json.dumps(asdict(counts), indent=2))
    else:
        print(f"rows: {counts.rows} ({counts.pending} of them pending measures)")
        print(f"primary citations: {counts.primary} of {counts.rows} ({counts.primary_share:.1%})")
        print(f"US states and DC with leaf and 7-OH rows: {counts.states}")
        print(f"localities: {counts.localities}")
        print(f"countries besides the US: {counts.countries}")
    for problem in problems:
        print(f"refused: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
