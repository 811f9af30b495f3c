"""`status REGION`: what applies in a place, per substance, with the chain behind it and citations."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from kratom_tracker import answer, regions, rules
from kratom_tracker.cli import add_command, with_db
from kratom_tracker.cli.console import EXIT_OK, STATUS_STYLES, open_reader, parse_day
from kratom_tracker.cli.output import Column, add_format, chosen, console, emit, is_terminal, table


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "status", "What applies in a region: per substance, the applicable status and its evidence.",
                    "kratom-tracker status 'Sarasota County, Florida' --as-of 2026-07-01")
    p.add_argument("region", metavar="REGION", help="code or name: US-FL, Florida, FL, 'Sarasota County, Florida'")
    with_db(p)
    p.add_argument("--as-of", metavar="DATE", help="answer for this day (YYYY-MM-DD), past or future")
    add_format(p)  # --json: one JSON object on stdout (the status contract)
    return p


COLUMNS = (Column("substance"), Column("status"), Column("conditions"), Column("jurisdiction", "from"),
           Column("effective_date", "since"), Column("until"), Column("pending"), Column("disputed"),
           Column("citations"), Column("url"))


def run(args: argparse.Namespace) -> int:
    region = regions.lookup(args.region)
    as_of = parse_day(args.as_of, "--as-of") or date.today()
    with open_reader(args) as store:
        document = answer.with_place(rules.status_document(region, store, as_of))  # + chain and note (additive)
        below = store.assertion_jurisdictions_below(region.code)
    fmt = chosen(args)
    if fmt == "table" and is_terminal():
        print_status(document, below)
    elif fmt == "table":
        print_plain_status(document, below)
    else:  # json: the status document itself (the contract); csv and ndjson: one row per substance
        emit(substance_rows(document), fmt, COLUMNS, document=document)
    return EXIT_OK


def status_line(entry: dict[str, Any]) -> str:
    """`regulated: 21+; 7-OH above 2 % of total alkaloids banned` (the status in force and its conditions)."""
    return entry["status"] + (f": {entry['conditions_text']}" if entry.get("conditions_text") else "")


def substance_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The applicable answer per substance, flat: one row each, its first citation's URL included."""
    rows = []
    for substance, entry in document["applicable"].items():
        evidence = entry.get("evidence") or []
        rows.append({"region": document["region"]["code"], "as_of": document["as_of"], "substance": substance,
                     "status": entry["status"], "conditions": entry.get("conditions_text") or entry.get("detail") or "",
                     "jurisdiction": entry["jurisdiction"] or "", "effective_date": entry["effective_date"] or "",
                     "until": entry.get("expiry_date") or "", "pending": len(entry.get("pending") or []),
                     "disputed": bool(entry["disputed"]), "citations": len(evidence),
                     "url": (evidence[0].get("url") or "") if evidence else ""})
    return rows


def print_plain_status(document: dict[str, Any], below: list[str] | None = None) -> None:
    """The same answer for a pipe or a file: plain lines, a tab-separated table, and every citation URL
    whole on a line of its own (nothing wrapped at 80 columns, no box drawing, no colour)."""
    region = document["region"]
    print(f"{region['name']} ({region['code']}) — status as of {document['as_of']}")
    print("chain: " + " → ".join(f"{regions.display_name(c)} ({c})" for c in regions.chain(region["code"])))
    table(substance_rows(document), COLUMNS[:8])
    if document.get("note"):
        print(document["note"])
    for substance, entry in document["applicable"].items():
        if entry["evidence"] or entry.get("pending"):
            print(_substance_block(substance, entry).plain)  # the terminal's block, as plain text
    if not document["assertions"]:
        print("no assertions on file for this region or above it: the answer is unknown")
    if below:
        print(f"{len(below)} places below this region have their own assertions: {', '.join(below)}")
    print(DISCLAIMER)


def print_status(document: dict[str, Any], below: list[str] | None = None) -> None:
    """A table for people, then per substance the terms of the answer (since and until when, the
    instrument), the pending measures beside it and the evidence with its quality. Scraped text goes in
    as plain Text, never as rich markup."""
    from rich.table import Table
    from rich.text import Text

    out = console()
    region = document["region"]
    out.print(Text(f"{region['name']} ({region['code']}) — status as of {document['as_of']}", style="bold"))
    chain = regions.chain(region["code"])
    out.print(Text("chain: " + " → ".join(f"{regions.display_name(c)} ({c})" for c in chain), style="dim"))
    grid = Table()
    for column in ("substance", "status in force", "from", "since", "until", "pending", "disputed"):
        grid.add_column(column, overflow="fold")
    for substance, entry in document["applicable"].items():
        status = Text(entry["status"], style=STATUS_STYLES.get(entry["status"], ""))
        if entry.get("conditions_text"):
            status.append(f": {entry['conditions_text']}")
        grid.add_row(Text(substance), status, Text(entry["jurisdiction"] or "—"), Text(entry["effective_date"] or "—"),
                      Text(entry.get("expiry_date") or "—"), Text(str(len(entry.get("pending") or [])) or "0"),
                      Text("DISPUTED" if entry["disputed"] else "no", style="bold red" if entry["disputed"] else ""))
    out.print(grid)
    if document.get("note"):
        out.print(Text(document["note"]))
    for substance, entry in document["applicable"].items():
        if entry["evidence"] or entry.get("pending"):
            out.print(_substance_block(substance, entry))
    if not document["assertions"]:
        out.print(Text("no assertions on file for this region or above it: the answer is unknown", style="dim"))
    if below:
        shown = ", ".join(below[:8]) + (f" and {len(below) - 8} more" if len(below) > 8 else "")
        out.print(Text(f"{len(below)} places below this region have their own assertions: {shown}", style="dim"))
    out.print(Text(DISCLAIMER, style="dim"))


DISCLAIMER = "Research, not legal advice: follow the citations, and prefer the primary ones."


def _substance_block(substance: str, entry: dict[str, Any]):
    from rich.text import Text

    text = Text()
    text.append(f"{substance}: ", style="bold")
    text.append(status_line(entry), style=STATUS_STYLES.get(entry["status"], ""))
    if entry["jurisdiction"]:
        until = f" until {entry['expiry_date']}" if entry.get("expiry_date") else ""
        since = f" since {entry['effective_date']}" if entry["effective_date"] else " (start date not known)"
        text.append(f" — {entry['jurisdiction']}{since}{until}")
    if entry.get("pending"):
        text.append(f"; {len(entry['pending'])} pending beside it", style="magenta")
    if entry.get("citation") or entry.get("instrument"):
        text.append(f"\n  instrument: {entry.get('citation') or '—'}"
                    + (f" ({entry['instrument']})" if entry.get("instrument") else ""))
    if entry.get("preempted"):
        text.append(f"\n  preempts the local rules of {', '.join(entry['preempted'])}")
    pending = entry.get("pending") or []
    if pending:
        text.append("\n  pending:", style="magenta")
        for item in pending[:6]:
            what = item["bill_id"] or item["citation"] or item["detail"] or "a measure"
            stage = f" [{item['stage']}]" if item["stage"] else ""
            terms = f" — {item['conditions_text']}" if item["conditions_text"] else ""
            text.append(f"\n    {item['jurisdiction']}: {what}{stage}{terms}")
            text.append(f"\n      {item['evidence']['url']}  ({item['evidence']['kind'] or 'quality not known'})",
                        style="cyan")
        if len(pending) > 6:
            text.append(f"\n    … {len(pending) - 6} more in --json")
    if entry["evidence"]:
        text.append("\n  evidence:")
        text.append("\n")
        text.append_text(_citations(entry["evidence"]))
    return text


def _citations(evidence: list[dict[str, Any]]):
    from rich.text import Text

    text = Text()
    for index, item in enumerate(evidence[:4]):
        if index:
            text.append("\n")
        text.append(f"  [{item['status']}] ", style=STATUS_STYLES.get(item["status"], ""))
        kind = item.get("kind")
        text.append(f"({kind}) " if kind else "(quality not known) ", style="bold" if kind == "primary" else "")
        quote = " ".join((item.get("quote") or "").split())
        text.append(quote[:240] + ("…" if len(quote) > 240 else ""))
        seen = f"verified {item['verified_on']}" if item.get("verified_on") else f"seen {item.get('observed_at')}"
        text.append(f"\n    {item.get('url') or ''}  (source: {item.get('source_id')}, {seen})", style="cyan")
    if len(evidence) > 4:
        text.append(f"\n  … {len(evidence) - 4} more citations in --json")
    return text
