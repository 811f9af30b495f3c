"""`kratom-tracker status REGION`: what applies in a place, per substance, with its evidence.

The answer is computed from the current (not retired) assertions of the region and of every level
above it (country → subdivision → locality), by a pure function (`applicable`) so that the command
line, the HTTP API and the tests share one implementation of the `status --json` contract.

Rules, in the order they are applied for one substance on one day:
- In effect: an assertion applies from its effective date on (an undated one since always), so a
  law signed now and effective later becomes the answer on its date, and `--as-of` answers any day
  with what the store knows today.
- `all` covers every substance; within one source a row for the substance itself overrides that
  source's own `all` row for the same place (a table saying "all: regulated, 7-OH: banned" refines
  itself, it does not disagree with itself).
- Superseded: an assertion stops applying once another assertion for the same place and substance
  takes effect later, unless the earlier one was verified (or observed) on or after that date:
  a claim checked before the change is outdated, a claim re-checked after it is a disagreement.
  An `unknown` assertion supersedes nothing: it claims no law (e.g. a withdrawn proposal, on file from
  its withdrawal), so what applied before the withdrawn proposal applies again.
- Disputed: when the assertions still standing for one place disagree about the law in force
  (`legal`, `regulated`, `banned`), the place is disputed; its status is the most restrictive of
  them and every side's citation is kept. `pending` (a proposal) and `unknown` contradict nothing:
  "legal, and a ban is proposed" is one consistent picture, not a dispute.
- The chain: the most restrictive link wins. Order (least to most): unknown < legal < pending <
  regulated < banned. `pending` (a bill or proposed rule) ranks above `legal` because it tells a
  reader that a restriction may come, and below `regulated` because a proposal binds nobody yet
  while a regulation (age limit, labelling) is in force. On a tie the undisputed link wins, then
  the higher level (its law applies whatever the lower one says).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from . import regions
from .regions import Region

SUBSTANCES_ANSWERED = ("leaf", "7-OH")
RESTRICTIVENESS = {"unknown": 0, "legal": 1, "pending": 2, "regulated": 3, "banned": 4}
IN_FORCE = frozenset({"legal", "regulated", "banned"})  # statuses that describe the law in force
ASSERTION_FIELDS = ("jurisdiction", "substance", "status", "detail", "effective_date", "source_id",
                    "evidence_url", "quote", "observed_at")

Row = dict[str, Any]  # one assertion as Store.current_assertions returns it


# -- the pure core -----------------------------------------------------------------------------------


def in_effect(assertion: Row, day: str) -> bool:
    effective = assertion.get("effective_date") or ""
    return not effective or effective <= day


def _known_on(assertion: Row) -> str:
    """The day the claim was last known to hold: when a person verified it, else when we saw it."""
    return (assertion.get("verified_on") or assertion.get("observed_at") or "")[:10]


def _applies_to(assertion: Row, substance: str) -> bool:
    return assertion["substance"] in (substance, "all")


def _rank(status: str) -> int:
    return RESTRICTIVENESS.get(status, 0)


def standing(assertions: Iterable[Row], jurisdiction: str, substance: str, day: str) -> list[Row]:
    """The assertions for one place and substance that apply on `day`, after the override and
    supersession rules above."""
    candidates = [a for a in assertions if a["jurisdiction"] == jurisdiction and _applies_to(a, substance)
                  and in_effect(a, day)]
    specific_sources = {a.get("source_id") for a in candidates if a["substance"] == substance}
    if substance != "all":
        candidates = [a for a in candidates if a["substance"] == substance or a.get("source_id") not in specific_sources]
    return [a for a in candidates if not _superseded(a, candidates)]


def _superseded(assertion: Row, others: list[Row]) -> bool:
    mine = assertion.get("effective_date") or ""
    known = _known_on(assertion)
    return any((b.get("effective_date") or "") > mine and known < (b.get("effective_date") or "")
               for b in others if b["status"] != "unknown")


def _link(assertions: list[Row], jurisdiction: str, substance: str, day: str) -> dict[str, Any] | None:
    """The answer one level of the chain gives, or None when it says nothing."""
    rows = standing(assertions, jurisdiction, substance, day)
    if not rows:
        return None
    statuses = {a["status"] for a in rows}
    status = max(statuses, key=_rank)
    winners = [a for a in rows if a["status"] == status]
    dates = sorted(a["effective_date"] for a in winners if a.get("effective_date"))
    ordered = sorted(rows, key=lambda a: (-_rank(a["status"]), a.get("effective_date") or "", a.get("source_id") or "",
                                          a.get("evidence_url") or ""))
    details = sorted({a["detail"] for a in winners if a.get("detail")})
    return {
        "status": status,
        "jurisdiction": jurisdiction,
        "effective_date": dates[0] if dates else None,
        "disputed": len(statuses & IN_FORCE) > 1,
        "detail": "; ".join(details),
        "evidence": [_evidence(a) for a in ordered],
    }


def _evidence(a: Row) -> dict[str, Any]:
    return {"source_id": a.get("source_id"), "url": a.get("evidence_url"), "quote": a.get("quote"),
            "observed_at": a.get("observed_at"), "status": a["status"], "detail": a.get("detail") or ""}


def unknown_answer() -> dict[str, Any]:
    return {"status": "unknown", "jurisdiction": None, "effective_date": None, "disputed": False, "detail": "",
            "evidence": []}


def applicable(assertions: list[Row], region_code: str, as_of: date) -> dict[str, Any]:
    """Per substance (`leaf`, `7-OH`), the status that applies in `region_code` on `as_of` once the chain
    is walked. `assertions` may hold anything; only the chain's levels are read."""
    day = as_of.isoformat()
    chain = regions.chain(region_code)
    answer: dict[str, Any] = {}
    for substance in SUBSTANCES_ANSWERED:
        links = [(level, link) for level, jurisdiction in enumerate(chain)
                 if (link := _link(assertions, jurisdiction, substance, day)) is not None]
        if not links:
            answer[substance] = unknown_answer()
            continue
        _, best = max(links, key=lambda pair: (_rank(pair[1]["status"]), not pair[1]["disputed"], -pair[0]))
        answer[substance] = best
    return answer


def current_for_chain(assertions: list[Row], region_code: str, as_of: date) -> list[Row]:
    """The assertions that stand on `as_of` for the region and every level above it, top first."""
    day = as_of.isoformat()
    out: list[Row] = []
    for jurisdiction in regions.chain(region_code):
        here = [a for a in assertions if a["jurisdiction"] == jurisdiction and in_effect(a, day)]
        for a in sorted(here, key=lambda a: (a["substance"], a.get("effective_date") or "", a.get("source_id") or "",
                                             a.get("evidence_url") or "")):
            overlapping = [b for b in here if b["substance"] in (a["substance"], "all")]
            if not _superseded(a, overlapping):
                out.append({k: a.get(k) for k in ASSERTION_FIELDS})
    return out


def build_document(region: Region, assertions: list[Row], as_of: date) -> dict[str, Any]:
    """The `status REGION --json` object (DESIGN.md). `detail` (e.g. "21+") and, per evidence item, the
    status it supports are additions to the contract's keys."""
    return {
        "region": {"code": region.code, "name": region.name},
        "as_of": as_of.isoformat(),
        "applicable": applicable(assertions, region.code, as_of),
        "assertions": current_for_chain(assertions, region.code, as_of),
    }


# -- reading the store -------------------------------------------------------------------------------


def load_assertions(db: Path, region_code: str) -> list[Row]:
    """Current assertions of the region's chain; none when there is no database yet."""
    from .store import Store

    if not Path(db).exists():
        return []
    with Store(db, readonly=True) as store:
        return store.current_assertions(regions.chain(region_code))


def status_document(region: Region, db: Path, as_of: date | None = None) -> dict[str, Any]:
    return build_document(region, load_assertions(db, region.code), as_of or date.today())


def jurisdictions_below(db: Path, region_code: str) -> list[str]:
    """Codes strictly below the region that have assertions of their own (to point a reader there)."""
    from .store import Store

    ranges = regions.sql_ranges(region_code)
    if not ranges or not Path(db).exists():
        return []
    clause = " OR ".join("(jurisdiction >= ? AND jurisdiction < ?)" for _ in ranges)
    params = [bound for pair in ranges for bound in pair]
    with Store(db, readonly=True) as store:
        rows = store.db.execute(f"SELECT DISTINCT jurisdiction FROM assertions WHERE retired_at IS NULL AND ({clause}) "
                                "ORDER BY jurisdiction", params).fetchall()
    return [r[0] for r in rows]


# -- the command ---------------------------------------------------------------------------------------


def status_command(args: argparse.Namespace) -> int:
    from .cli import EXIT_OK, parse_day
    from .config import db_path
    from .store import require_database

    region = regions.lookup(args.region)
    as_of = parse_day(args.as_of, "--as-of") or date.today()
    db = db_path(args.db)
    require_database(db)  # an all-"unknown" answer from no data would read as a real answer
    document = status_document(region, db, as_of)
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return EXIT_OK
    print_status(document, jurisdictions_below(db, region.code))
    return EXIT_OK


_STYLES = {"banned": "bold red", "regulated": "yellow", "pending": "magenta", "legal": "green", "unknown": "dim"}


def print_status(document: dict[str, Any], below: list[str] | None = None) -> None:
    """A table for people, then the citations behind each answer. Scraped text goes in as plain Text,
    never as rich markup."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    region = document["region"]
    console.print(Text(f"{region['name']} ({region['code']}) — status as of {document['as_of']}", style="bold"))
    chain = regions.chain(region["code"])
    console.print(Text("chain: " + " → ".join(f"{regions.display_name(c)} ({c})" for c in chain), style="dim"))
    table = Table()
    for column in ("substance", "status", "from", "since", "disputed"):
        table.add_column(column, overflow="fold")
    for substance, entry in document["applicable"].items():
        status = Text(entry["status"], style=_STYLES.get(entry["status"], ""))
        if entry.get("detail"):
            status.append(f" ({entry['detail']})")
        table.add_row(Text(substance), status, Text(entry["jurisdiction"] or "—"), Text(entry["effective_date"] or "—"),
                      Text("DISPUTED" if entry["disputed"] else "no", style="bold red" if entry["disputed"] else ""))
    console.print(table)
    for substance, entry in document["applicable"].items():
        if entry["evidence"]:
            console.print(Text(f"{substance} — evidence:", style="bold"))
            console.print(_citations(entry["evidence"]))
    if not document["assertions"]:
        console.print(Text("no assertions on file for this region or above it: the answer is unknown", style="dim"))
    if below:
        shown = ", ".join(below[:8]) + (f" and {len(below) - 8} more" if len(below) > 8 else "")
        console.print(Text(f"{len(below)} places below this region have their own assertions: {shown}", style="dim"))


def _citations(evidence: list[dict[str, Any]]):
    from rich.text import Text

    text = Text()
    for index, item in enumerate(evidence[:4]):
        if index:
            text.append("\n")
        text.append(f"  [{item['status']}] ", style=_STYLES.get(item["status"], ""))
        quote = " ".join((item.get("quote") or "").split())
        text.append(quote[:240] + ("…" if len(quote) > 240 else ""))
        text.append(f"\n    {item.get('url') or ''}  (source: {item.get('source_id')}, seen {item.get('observed_at')})",
                    style="cyan")
    if len(evidence) > 4:
        text.append(f"\n  … {len(evidence) - 4} more citations in --json")
    return text
