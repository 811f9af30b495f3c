"""`export`: the status dataset as a table in the manner of LawAtlas: one row per rule version (a
jurisdiction, a substance, a status from one source, with its effective and expiry dates) and the
citation behind it. The columns are every field of StoredAssertion (so columns the store gains arrive in
the export by themselves), the region's name, and the expiry date where the store has none."""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from kratom_tracker import regions
from kratom_tracker.cli import add_command, with_db
from kratom_tracker.cli.console import EXIT_OK, note, open_reader
from kratom_tracker.cli.output import Column, add_format, chosen, emit
from kratom_tracker.values import StoredAssertion

ASSERTION_FIELDS = tuple(f.name for f in fields(StoredAssertion))
EXPIRY = "expiry_date"
# The columns a reader looks at first; the rest of StoredAssertion's fields follow in declaration order.
LEADING = ("jurisdiction", "region_name", "substance", "status", "detail", "effective_date", EXPIRY)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "export", "Export the status dataset with its citations: one row per rule version, "
                                   "with effective and expiry dates (CSV unless --format says otherwise).",
                    "kratom-tracker export --out kratom-status.csv   # or: export --region US-FL | column -ts,")
    with_db(p)
    p.add_argument("--region", metavar="R", help="only this region and the places below it")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    add_format(p, json_alias=False, default="csv")
    return p


def rule_versions(assertions: list[StoredAssertion]) -> list[dict[str, Any]]:
    """The export's rows. A version expires on its own expiry date (a lapse, a sunset) or, when it has
    none, when the next version of the same rule (same place, substance and source) takes effect; the
    latest has no expiry."""
    rows = []
    groups: dict[tuple[str, str, str], list[StoredAssertion]] = {}
    for a in assertions:
        groups.setdefault((a.jurisdiction, a.substance, a.source_id), []).append(a)
    names: dict[str, str] = {}
    for (jurisdiction, _, _), versions in sorted(groups.items()):
        versions.sort(key=lambda a: (a.effective_date or "", a.status, a.evidence_url))
        if jurisdiction not in names:
            names[jurisdiction] = (regions.display_name(jurisdiction) if regions.is_valid_code(jurisdiction)
                                   else jurisdiction)
        for index, a in enumerate(versions):
            row = a.as_dict()
            if not row.get(EXPIRY):
                later = [v.effective_date for v in versions[index + 1:] if v.effective_date
                         and v.effective_date > (a.effective_date or "")]
                row[EXPIRY] = later[0] if later else None
            row["region_name"] = names[jurisdiction]
            rows.append({key: row[key] for key in LEADING} | {k: v for k, v in row.items() if k not in LEADING})
    return rows


def run(args: argparse.Namespace) -> int:
    with open_reader(args) as store:
        if args.region:
            code = regions.lookup(args.region).code
            scope = [code, *store.assertion_jurisdictions_below(code)]
        else:
            scope = None
        rows = rule_versions(store.current_assertions(scope))
    keys = list(LEADING) + [k for k in ASSERTION_FIELDS if k not in LEADING]
    columns = [Column(k) for k in keys]
    with _output(args.out) as stream:
        emit(rows, chosen(args, default="csv"), columns, fields=keys, stream=stream)
    if args.out:
        note(f"exported {len(rows)} rule versions to {args.out}")
    return EXIT_OK


@contextlib.contextmanager
def _output(path: str | None):
    if not path:
        yield sys.stdout
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as stream:
        yield stream
