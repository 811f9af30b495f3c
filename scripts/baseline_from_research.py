"""Build the shipped baseline (v2 columns) and the localities table from a round of research files.

    .venv/bin/python scripts/baseline_from_research.py RESEARCH_DIR

RESEARCH_DIR holds the researchers' CSVs (the columns of their spec: jurisdiction … research_note) and
`*_places.csv` (code,name,county) for the localities they cover. The script writes
src/kratom_tracker/shipped/data/baseline_us.csv (US federal, states, DC, localities), baseline_intl.csv
(other countries) and localities.csv, after:
- the corrections below (`DROPS`, `FIXES`), each with its reason: a row whose only evidence is a
  machine-written aggregator does not ship; a row that cannot be dated and would read as a dispute does
  not ship; a row researched twice ships once (the dedicated localities round wins);
- validating every row with the baseline extractor's own checks (vocabulary, dates, codes), and every
  locality code against localities.csv; any problem stops the build.
The researchers' notes stay in the research files: the shipped `note` column holds only our own words on
what this build changed. Re-running on the same input gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pycountry

from kratom_tracker import regions, shipped
from kratom_tracker.extractors.baseline import COLUMNS, NOTE_COLUMN, V2_COLUMNS, row_problem

SHIPPED_COLUMNS = (*COLUMNS, *V2_COLUMNS, NOTE_COLUMN)
US_FILES = ("us_federal_a_k.csv", "us_l_n.csv", "us_o_w.csv", "localities_part1.csv", "localities_part2.csv")
INTL_FILES = ("countries.csv",)
LOCALITY_FILES = ("localities_part1.csv", "localities_part2.csv")  # win over a locality row found elsewhere
PLACES_GLOB = "*_places.csv"
AGGREGATOR = "its only evidence is a machine-written aggregator"

Row = dict[str, str]


@dataclass(frozen=True)
class Change:
    """One correction: which rows (`match`), why, and (for a fix) what to set."""

    match: Callable[[Row], bool]
    reason: str
    values: dict[str, str] = field(default_factory=dict)


def _is(jurisdiction: str, substance: str, status: str, **more: str) -> Callable[[Row], bool]:
    def match(row: Row) -> bool:
        return (row["jurisdiction"], row["substance"], row["status"]) == (jurisdiction, substance, status) and all(
            row.get(k, "") == v for k, v in more.items())
    return match


DROPS = (
    Change(_is("US-ND", "all", "unknown", instrument="executive-order"),
           f"the reported 30-day executive order of 2026-08-03: {AGGREGATOR}"),
    Change(_is("US-ND", "all", "legal", effective_date="2026-09-02"),
           "exists only to end the reported executive order, which does not ship"),
    Change(_is("US-MA", "all", "banned", instrument="emergency-rule"),
           "the DPH temporary Schedule I order: its existence and date rest only on a machine-written "
           "aggregator; the cited page shows the commissioner's power to order, not an order"),
    Change(_is("US-NC", "all", "pending", bill_id="H 328 (2025)"),
           "that H 328 reaches kratom rests only on a machine-written bill summary"),
    Change(_is("NO", "all", "regulated", instrument="agency-action"),
           "undatable history row (no start, no end): it would read as a dispute with the current listing"),
)

FIXES = (
    Change(_is("US-ND", "all", "legal", expiry_date="2026-08-03"),
           "no end date: the order that was said to end it does not ship",
           {"expiry_date": "",
            "summary": "North Dakota has no statute or rule on kratom or 7-OH: the House rejected the HB 1101 "
                       "Schedule I ban 77-15 in January 2025 and HB 1566 was turned from a regulation bill into "
                       "a 2025-26 interim legislative-management study."}),
    Change(_is("US-MA", "all", "legal"),
           "no end date: the temporary order that was said to end it does not ship",
           {"expiry_date": "", "detail": "no statewide kratom law; local boards of health act on their own",
            "summary": "Massachusetts has no statute or regulation on kratom or 7-OH; boards of health in "
                       "several towns set local age limits or bans under their own authority."}),
    Change(_is("US-OH", "7-OH", "banned", instrument="regulation"),
           "dated from the emergency filing's end (2026-06-10) so it claims nothing before it; the permanent "
           "filing's own date was not verified",
           {"effective_date": "2026-06-10",
            "detail": "Sched. I (OAC 4729:9-1-01.1 after the emergency filing); mitragynine excluded",
            "summary": "The Board of Pharmacy announced a permanent version of its rule to follow the 180-day "
                       "emergency filing; 7-OH and the other mitragynine-related compounds stay in Schedule I "
                       "after it, and mitragynine alone stays excluded."}),
    Change(_is("US-NE", "leaf", "regulated"), "preemption left unknown: it rested on a machine-written summary",
           {"preempts_local": ""}),
    Change(_is("US-NE", "7-OH", "regulated"), "preemption left unknown: it rested on a machine-written summary",
           {"preempts_local": ""}),
    Change(_is("US-NJ/point-pleasant-beach", "all", "regulated"),
           "dated from the report that first shows it (2020-05-09, the day the voided ban's row ends); its "
           "adoption day was not found, and undated it would claim the years before the ban",
           {"effective_date": "2020-05-09"}),
    Change(_is("US-MO", "all", "legal"),
           "the investigation clause checked against the Attorney General's own release of 2025-11-20 (six civil "
           "investigative demands to kratom and 7-OH makers and sellers; a stored copy, einpresswire); the "
           "investigation covers kratom and 7-OH alike, not 7-OH sellers only; LAPPA stays as the evidence that "
           "no statute exists; the 2026 supply-chain release was not found",
           {"detail": "no state kratom statute; AG investigation of kratom/7-OH sellers (CIDs from 2025-11-20)",
            "summary": "Missouri has no statute or rule restricting kratom or 7-OH: the 2022 KCPA (HB 1667) was "
                       "vetoed and later KCPA and 7-OH bills did not pass. Since 2025-11-20 the Attorney General "
                       "has been serving civil investigative demands on kratom and 7-OH manufacturers, "
                       "distributors and shops over unsafe or deceptively marketed products."}),
    Change(_is("NO", "all", "banned"),
           "listed as a narcotic from December 2023 (day not found); before that a prescription-only medicine",
           {}),
)


def _csv_rows(path: Path) -> list[Row]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def read_rows(research: Path, names: tuple[str, ...]) -> list[tuple[str, Row]]:
    return [(name, row) for name in names for row in _csv_rows(research / name)]


def without_duplicates(rows: list[tuple[str, Row]]) -> tuple[list[tuple[str, Row]], list[str]]:
    """A locality researched in a localities round and again elsewhere ships from the localities round."""
    owned = {row["jurisdiction"] for name, row in rows if name in LOCALITY_FILES}
    kept, dropped = [], []
    for name, row in rows:
        if "/" in row["jurisdiction"] and row["jurisdiction"] in owned and name not in LOCALITY_FILES:
            dropped.append(f"{name}: {row['jurisdiction']} {row['substance']} {row['status']}: researched again "
                           "in the localities round, which ships")
        else:
            kept.append((name, row))
    return kept, dropped


def corrected(rows: list[tuple[str, Row]], used: set[int]) -> tuple[list[Row], list[str]]:
    """The rows after DROPS and FIXES, research_note replaced by our own `note`; and a log of what changed.
    `used` collects the corrections that matched (each must match somewhere)."""
    log: list[str] = []
    out: list[Row] = []
    for name, row in rows:
        drop = next((c for c in DROPS if c.match(row)), None)
        if drop is not None:
            used.add(id(drop))
            log.append(f"{name}: dropped {row['jurisdiction']} {row['substance']} {row['status']}: {drop.reason}")
            continue
        shipped_row = {column: row.get(column, "") for column in SHIPPED_COLUMNS}
        fix = next((c for c in FIXES if c.match(row)), None)
        if fix is not None:
            used.add(id(fix))
            shipped_row.update(fix.values)
            shipped_row[NOTE_COLUMN] = fix.reason
            log.append(f"{name}: fixed {row['jurisdiction']} {row['substance']} {row['status']}: {fix.reason}")
        out.append(shipped_row)
    return out, log


def _sort_key(row: Row) -> tuple:
    code = row["jurisdiction"]
    level = 0 if "-" not in code and "/" not in code else (1 if "/" not in code else 2)
    return (level, code, row["substance"], row["status"] == "pending", row["effective_date"], row["citation"],
            row["source_url"])


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def localities(research: Path, codes: set[str]) -> list[dict[str, str]]:
    """localities.csv rows: the shipped ones kept (their aliases too), every researched place added, each
    with its county and the aliases people type (`Tupelo, Mississippi`, `Tupelo MS`)."""
    current = {row["code"]: row for row in _csv_rows(shipped.data_file("localities.csv"))}
    places: dict[str, dict[str, str]] = {}
    for path in sorted(research.glob(PLACES_GLOB)):
        for row in _csv_rows(path):
            places[row["code"]] = row
    missing = sorted(codes - set(places) - set(current))
    if missing:
        raise SystemExit(f"localities without a place row (name, county): {', '.join(missing)}")
    out = []
    for code in sorted(set(current) | set(places)):
        place, known = places.get(code, {}), current.get(code, {})
        name = known.get("name") or place["name"]
        state = code.split("/")[0]
        state_name = pycountry.subdivisions.get(code=state).name
        aliases = [a for a in (known.get("aliases") or "").split("|") if a]
        aliases += [f"{name}, {state_name}", f"{name} {state.split('-')[1]}"]
        out.append({"code": code, "name": name, "aliases": "|".join(dict.fromkeys(aliases)),
                    "county": place.get("county") or known.get("county", "")})
    return out


def validate(rows: list[Row], locality_codes: set[str]) -> list[str]:
    problems = []
    for row in rows:
        problem = row_problem({**row})
        if not problem and "/" in row["jurisdiction"] and row["jurisdiction"] not in locality_codes:
            problem = "locality not in localities.csv"
        if not problem and not regions.is_valid_code(row["jurisdiction"].split("/")[0]):
            problem = "unknown subdivision"
        if problem:
            problems.append(f"{row['jurisdiction']} {row['substance']} {row['status']}: {problem}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    research = Path(argv[0])
    us, dropped = without_duplicates(read_rows(research, US_FILES))
    used: set[int] = set()
    us_rows, us_log = corrected(us, used)
    intl_rows, intl_log = corrected(read_rows(research, INTL_FILES), used)
    unused = [c.reason for c in (*DROPS, *FIXES) if id(c) not in used]
    if unused:
        print("corrections that matched no row (did the research change?): " + "; ".join(unused), file=sys.stderr)
        return 1
    places = localities(research, {r["jurisdiction"] for r in us_rows if "/" in r["jurisdiction"]})
    problems = validate(us_rows + intl_rows, {p["code"] for p in places})
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    write_csv(shipped.data_file("baseline_us.csv"), SHIPPED_COLUMNS, sorted(us_rows, key=_sort_key))
    write_csv(shipped.data_file("baseline_intl.csv"), SHIPPED_COLUMNS, sorted(intl_rows, key=_sort_key))
    write_csv(shipped.data_file("localities.csv"), ("code", "name", "aliases", "county"), places)
    for line in dropped + us_log + intl_log:
        print(line)
    print(f"baseline_us.csv: {len(us_rows)} rows; baseline_intl.csv: {len(intl_rows)} rows; "
          f"localities.csv: {len(places)} places")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
