"""`history SOURCE`: every stored snapshot and event of one source, oldest first; `--diff A B` shows what
changed between any two of its snapshots (one id: against the snapshot before it)."""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import Any

from kratom_tracker.cli import add_command, with_db
from kratom_tracker.cli.console import EXIT_OK, UsageError, open_reader
from kratom_tracker.cli.output import Column, add_format, chosen, emit
from kratom_tracker.store import Store
from kratom_tracker.values import Extraction


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "history", "Every stored snapshot and event of one source, oldest first; --diff "
                                    "compares any two of its snapshots.",
                    "kratom-tracker history fda-kratom --diff 12 40   # or: --diff 40 (against the one before)")
    p.add_argument("source_id", metavar="SOURCE", help="a source id (`kratom-tracker sources list`)")
    with_db(p)
    p.add_argument("--diff", nargs="+", type=int, metavar="SNAPSHOT",
                   help="a unified diff between two snapshot ids of this source (OLD NEW), or one id and the "
                        "snapshot before it")
    add_format(p, json_alias=False)
    return p


COLUMNS = (Column("at"), Column("what"), Column("id"), Column("detail"))


def run(args: argparse.Namespace) -> int:
    with open_reader(args) as store:
        snapshots = store.snapshots(args.source_id)
        events = store.events(source_id=args.source_id)
        if not snapshots and not events:
            known = store.source_ids()
            raise UsageError(f"no snapshot or event of source {args.source_id!r} in {store.path}"
                             + (f"; sources with rows: {', '.join(known[:12])}" if known else ""))
        if args.diff:
            return _diff(store, args.source_id, [s.id for s in snapshots], args.diff)
    records: list[dict[str, Any]] = [
        {"at": s.created_at, "what": "snapshot", "id": s.id,
         "detail": f"{s.reason}, {s.size} characters, {s.events} events, sha256 {s.hash[:12]}",
         "snapshot": s.as_dict()} for s in snapshots]
    records += [{"at": e.detected_at, "what": f"event ({e.kind})", "id": e.id,
                 "detail": f"{e.jurisdiction}: {e.title}", "event": e.as_dict()} for e in events]
    records.sort(key=lambda r: (r["at"], r["what"] != "snapshot", r["id"]))
    fmt = chosen(args)
    if fmt in ("table",):  # the table shows the four columns; the other forms carry the whole rows
        emit(records, fmt, COLUMNS, title=f"history of {args.source_id}: {len(snapshots)} snapshots, "
                                         f"{len(events)} events")
    else:
        flat = [{key: value for key, value in r.items() if key not in ("snapshot", "event")} | (
            {"snapshot_id": r["id"]} if r["what"] == "snapshot" else {"event_id": r["id"]}) for r in records]
        emit(flat if fmt == "csv" else records, fmt, COLUMNS)
    return EXIT_OK


def readable(content: str) -> list[str]:
    """A snapshot as the lines a person compares: text lines, items, assertions, one a line."""
    extraction = Extraction.from_canonical(content)
    lines = list(extraction.lines or [])
    for item in extraction.items or []:
        lines.append(f"{item.published[:10] or '-'}  {item.title}  <{item.url}>")
    for a in extraction.assertions or []:
        when = f" from {a.effective_date}" if a.effective_date else ""
        detail = f" ({a.detail})" if a.detail else ""
        lines.append(f"{a.jurisdiction} {a.substance}: {a.status}{detail}{when}  <{a.evidence_url}>")
    return lines


def _diff(store: Store, source_id: str, ids: list[int], wanted: list[int]) -> int:
    if len(wanted) > 2:
        raise UsageError("--diff takes one or two snapshot ids")
    for snapshot_id in wanted:
        if snapshot_id not in ids:
            raise UsageError(f"snapshot {snapshot_id} is not one of {source_id}'s "
                             f"({', '.join(map(str, ids)) or 'none'})")
    if len(wanted) == 1:
        position = ids.index(wanted[0])
        if position == 0:
            raise UsageError(f"snapshot {wanted[0]} is {source_id}'s first; give two ids to compare")
        wanted = [ids[position - 1], wanted[0]]
    old, new = ([store.snapshot_content(i) or "{}" for i in wanted])
    diff = difflib.unified_diff(readable(old), readable(new), f"snapshot {wanted[0]}", f"snapshot {wanted[1]}",
                                lineterm="")
    sys.stdout.writelines(line + "\n" for line in diff)
    return EXIT_OK
