"""The status rules (status model v2): what applies in a place on a day, per substance, with its
conditions, the pending measures beside it and its evidence. Pure: no I/O, no clock.

The answer is computed from the current (not retired) assertions of the region and of every level above
it (country → subdivision → locality) by one function (`applicable`), so the command line, the HTTP API,
the dashboard, the calendar tick and the tests share one implementation of the `status --json` contract.

Rules, in the order they are applied for one substance on one day:
1. In force: an assertion applies from its effective date (undated: since always) up to the day before
   its expiry date (effective ≤ day < expiry). So a law signed now and effective later becomes the answer
   on its date, an emergency order lapses on its own, and `--as-of` answers any past or future day with
   what the store knows today.
2. Pending measures (status `pending`: a bill, a proposed rule) are never the answer. They are listed
   beside the law in force, whatever that is: "legal now; a ban is proposed", not "pending".
3. `all` covers every substance. Within one source a row for the substance itself refines that source's
   own `all` row for the same place (a table saying "all: regulated, 7-OH: banned" does not disagree with
   itself), unless the `all` row took effect later than it (a newer law about everything).
4. Superseded: a later law for the same place and substance ends an earlier one on the day it takes
   effect. Within one source that always holds: a curated table's newer row replaces its own older row,
   however recently both were verified. Across sources the earlier claim is outdated if it was last known
   (verified, else observed) before the later one took effect; a claim re-checked after the change
   disagrees with it instead. An `unknown` assertion supersedes nothing: it claims no law (e.g. a
   withdrawn proposal, on file from its withdrawal).
5. Disputed: when the claims still standing for one place disagree about the law in force (`legal`,
   `regulated`, `banned`) the place is disputed; its status is the most restrictive of them and every
   side's citation is kept. A superseded row is history, not a dispute.
6. The chain: the most restrictive link wins (unknown < legal < regulated < banned); on a tie the
   undisputed link wins, then one with a primary citation (a primary citation is shown wherever one
   exists), then the higher level. The other undisputed links with the same status apply
   as well: their conditions are merged into the answer (the higher age, every threshold) and their
   citations follow the winner's. A link whose law in force preempts local rules (`preempts_local`)
   sets aside the links below it, however restrictive they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from kratom_tracker import regions
from kratom_tracker.regions import Region
from kratom_tracker.values import Conditions, StoredAssertion
from kratom_tracker.vocab import EvidenceKind, Status, Substance

ASSERTION_FIELDS = ("jurisdiction", "substance", "status", "detail", "effective_date", "source_id",
                    "evidence_url", "quote", "observed_at", "expiry_date", "instrument", "citation", "stage",
                    "bill_id", "preempts_local", "evidence_kind", "verified_on")

Row = StoredAssertion


# -- one place --------------------------------------------------------------------------------------


def in_effect(assertion: Row, day: str) -> bool:
    """Rule 1: effective ≤ day < expiry."""
    return assertion.in_window(day)


def _is_pending(assertion: Row) -> bool:
    return assertion.status == Status.PENDING


def _known_on(assertion: Row) -> str:
    """The day the claim was last known to hold: when a person verified it, else when we saw it."""
    return (assertion.verified_on or assertion.observed_at or "")[:10]


def _applies_to(assertion: Row, substance: str) -> bool:
    return assertion.substance in (substance, Substance.ALL)


def _rank(status: str) -> int:
    return Status.parse(status).rank


def _refined_away(row: Row, candidates: list[Row], substance: str) -> bool:
    """Rule 3: an `all` row that a row of its own source for `substance` refines."""
    if row.substance != Substance.ALL or substance == Substance.ALL:
        return False
    return any(b.substance == substance and b.source_id == row.source_id
               and not (row.effective_date and b.effective_date and row.effective_date > b.effective_date)
               for b in candidates)


def _replaces(later: Row, earlier: Row) -> bool:
    """Rule 4: does `later` (in force) end `earlier`?"""
    if later is earlier or later.status == Status.UNKNOWN:
        return False
    starts = later.effective_date or ""
    if starts <= (earlier.effective_date or ""):
        return False
    return later.source_id == earlier.source_id or _known_on(earlier) < starts


def _superseded(assertion: Row, others: Iterable[Row]) -> bool:
    return any(_replaces(b, assertion) for b in others)


def standing(assertions: Iterable[Row], jurisdiction: str, substance: str, day: str) -> list[Row]:
    """The laws in force for one place and substance on `day`, after rules 1, 3 and 4 (no pending rows)."""
    candidates = [a for a in assertions if a.jurisdiction == jurisdiction and _applies_to(a, substance)
                  and not _is_pending(a) and in_effect(a, day)]
    candidates = [a for a in candidates if not _refined_away(a, candidates, substance)]
    return [a for a in candidates if not _superseded(a, candidates)]


def pending_measures(assertions: Iterable[Row], jurisdiction: str, substance: str, day: str) -> list[Row]:
    """Rule 2: the pending measures for one place and substance on `day` (listed, never the answer)."""
    return sorted((a for a in assertions if a.jurisdiction == jurisdiction and _applies_to(a, substance)
                   and _is_pending(a) and in_effect(a, day)),
                  key=lambda a: (a.effective_date or "", a.bill_id, a.citation, a.evidence_url))


@dataclass(frozen=True)
class Link:
    """What one level of the chain says about one substance on one day."""

    level: int
    jurisdiction: str
    rows: tuple[Row, ...]  # everything standing there
    status: str  # the most restrictive of them
    disputed: bool

    @property
    def winners(self) -> tuple[Row, ...]:
        return tuple(a for a in self.rows if a.status == self.status)

    @property
    def preempts_local(self) -> bool:
        return any(a.preempts_local and Status.parse(a.status).in_force for a in self.winners)


def link(assertions: Iterable[Row], level: int, jurisdiction: str, substance: str, day: str) -> Link | None:
    """The answer one level of the chain gives, or None when it says nothing (rule 5 for that level)."""
    rows = standing(assertions, jurisdiction, substance, day)
    if not rows:
        return None
    statuses = {a.status for a in rows}
    return Link(level=level, jurisdiction=jurisdiction, rows=tuple(_ordered(rows)),
                status=max(statuses, key=_rank),
                disputed=sum(Status.parse(s).in_force for s in statuses) > 1)


def _ordered(rows: Iterable[Row]) -> list[Row]:
    """Most restrictive first, then primary evidence before secondary (a primary citation is shown
    wherever one exists), then by date and source."""
    return sorted(rows, key=lambda a: (-_rank(a.status), a.evidence_kind != EvidenceKind.PRIMARY,
                                       a.effective_date or "", a.source_id or "", a.evidence_url or ""))


# -- the chain ------------------------------------------------------------------------------------------


def chain_links(assertions: list[Row], region_code: str, substance: str, day: str) -> tuple[list[Link], list[str]]:
    """The links of the chain that apply (rule 6: none below a link that preempts local rules), and the
    jurisdictions whose rules a preemption set aside."""
    links: list[Link] = []
    preempted: list[str] = []
    chain = regions.chain(region_code)
    for level, jurisdiction in enumerate(chain):
        found = link(assertions, level, jurisdiction, substance, day)
        if found is None:
            continue
        links.append(found)
        if found.preempts_local:
            preempted = [j for j in chain[level + 1:] if link(assertions, 0, j, substance, day) is not None]
            break
    return links, preempted


def winning_link(links: list[Link]) -> Link | None:
    """Rule 6: the most restrictive link; on a tie the undisputed one, then one whose claim has a primary
    citation, then the higher level."""
    if not links:
        return None
    return max(links, key=lambda lk: (_rank(lk.status), not lk.disputed,
                                      any(a.evidence_kind == EvidenceKind.PRIMARY for a in lk.winners), -lk.level))


def answer(assertions: list[Row], region_code: str, substance: str, day: str) -> dict[str, Any]:
    """The applicable entry of `status --json` for one substance (DESIGN.md, "Status model")."""
    links, preempted = chain_links(assertions, region_code, substance, day)
    pending = [a for level, jurisdiction in enumerate(regions.chain(region_code))
               for a in pending_measures(assertions, jurisdiction, substance, day)]
    best = winning_link(links)
    entry = unknown_answer() if best is None else _link_answer(best, _agreeing(links, best), substance)
    entry["pending"] = [pending_item(a, substance) for a in pending]
    entry["preempted"] = preempted if best is not None and best.preempts_local else []
    return entry


def _agreeing(links: list[Link], best: Link) -> list[Link]:
    """The other undisputed links that say the same as the winner: their laws apply too, so their
    conditions add to the answer and their citations to its evidence (Ohio's own rule beside federal law)."""
    return [lk for lk in links if lk is not best and lk.status == best.status and not lk.disputed]


def _link_answer(best: Link, agreeing: list[Link], substance: str) -> dict[str, Any]:
    winners = best.winners
    conditions = Conditions()
    for row in winners + tuple(a for lk in agreeing for a in lk.winners):
        conditions = conditions.merged(row.conditions)
    starts = sorted(a.effective_date for a in winners if a.effective_date)
    ends = [a.expiry_date for a in winners]
    first = winners[0]
    return {
        "status": best.status,
        "jurisdiction": best.jurisdiction,
        "effective_date": starts[0] if starts else None,
        # Until when: the law in force ends when the last of its winners does (None: no end known).
        "expiry_date": None if not ends or None in ends else max(e for e in ends if e),
        "disputed": best.disputed,
        "detail": "; ".join(sorted({a.detail for a in winners if a.detail})),
        "conditions": conditions.as_dict(),
        "conditions_text": conditions.text(substance, best.status),
        "instrument": first.instrument or None,
        "citation": first.citation or None,
        "primary": any(a.evidence_kind == EvidenceKind.PRIMARY for a in winners),
        "evidence": [evidence_item(a) for a in best.rows]
                    + [evidence_item(a) for lk in sorted(agreeing, key=lambda lk: -lk.level) for a in lk.winners],
    }


def unknown_answer() -> dict[str, Any]:
    return {"status": "unknown", "jurisdiction": None, "effective_date": None, "expiry_date": None,
            "disputed": False, "detail": "", "conditions": Conditions().as_dict(), "conditions_text": "",
            "instrument": None, "citation": None, "primary": False, "evidence": [], "pending": [],
            "preempted": []}


def evidence_item(a: Row) -> dict[str, Any]:
    return {"source_id": a.source_id, "url": a.evidence_url, "quote": a.quote, "observed_at": a.observed_at,
            "status": a.status, "detail": a.detail or "", "kind": a.evidence_kind or None,
            "jurisdiction": a.jurisdiction, "instrument": a.instrument or None, "citation": a.citation or None,
            "verified_on": a.verified_on or None}


def pending_item(a: Row, substance: str) -> dict[str, Any]:
    """A pending measure as listed beside the answer: what it would do, how far it has come, its id."""
    return {"jurisdiction": a.jurisdiction, "substance": a.substance, "stage": a.stage or None,
            "bill_id": a.bill_id or None, "instrument": a.instrument or None, "citation": a.citation or None,
            "effective_date": a.effective_date, "expiry_date": a.expiry_date, "detail": a.detail or "",
            "conditions": a.conditions.as_dict(), "conditions_text": a.conditions.text(substance, a.status),
            "evidence": evidence_item(a)}


def applicable(assertions: list[Row], region_code: str, as_of: date) -> dict[str, dict[str, Any]]:
    """Per answered substance (`leaf`, `7-OH`, and the semi-synthetics), what applies in `region_code`
    on `as_of` once the chain is walked. `assertions` may hold anything; only the chain's levels are read."""
    day = as_of.isoformat()
    return {s.value: answer(assertions, region_code, s.value, day) for s in Substance.answered()}


def current_for_chain(assertions: list[Row], region_code: str, as_of: date) -> list[Row]:
    """The assertions that stand on `as_of` (laws in force, not superseded, and pending measures) for the
    region and every level above it, top first."""
    day = as_of.isoformat()
    out: list[Row] = []
    for jurisdiction in regions.chain(region_code):
        here = [a for a in assertions if a.jurisdiction == jurisdiction and in_effect(a, day)]
        for a in sorted(here, key=lambda a: (a.substance, a.effective_date or "", a.source_id or "",
                                             a.evidence_url or "")):
            overlapping = [b for b in here if b.substance in (a.substance, Substance.ALL) and not _is_pending(b)]
            if _is_pending(a) or not _superseded(a, overlapping):
                out.append(a)
    return out


def assertion_item(a: Row) -> dict[str, Any]:
    """One entry of the `assertions` list of `status --json`: the v1 keys plus the v2 terms."""
    item = {k: getattr(a, k) for k in ASSERTION_FIELDS}
    item["conditions"] = a.conditions.as_dict()
    item["conditions_text"] = a.conditions.text(a.substance, a.status)
    return item


def build_document(region: Region, assertions: list[Row], as_of: date) -> dict[str, Any]:
    """The `status REGION --json` object (DESIGN.md). Keys beyond the v1 contract (`detail`, `expiry_date`,
    `conditions`, `instrument`, `citation`, `pending`, `preempted`, `primary`, and per evidence item the
    status it supports and its `kind`) are additions."""
    return {
        "region": {"code": region.code, "name": region.name},
        "as_of": as_of.isoformat(),
        "applicable": applicable(assertions, region.code, as_of),
        "assertions": [assertion_item(a) for a in current_for_chain(assertions, region.code, as_of)],
    }


# -- what the calendar tick compares ----------------------------------------------------------------------


def signature(entry: dict[str, Any]) -> tuple:
    """What makes two answers the same for a subscriber: the status, where it comes from, its conditions,
    whether it is disputed, and which measures are pending."""
    pending = tuple(sorted((p["jurisdiction"], p["bill_id"] or "", p["citation"] or "", p["evidence"]["url"] or "")
                           for p in entry["pending"]))
    return (entry["status"], entry["jurisdiction"], entry["conditions_text"], entry["disputed"], pending)


def changed_answers(assertions: list[Row], region_code: str, before: date,
                    after: date) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(substance, answer on `before`, answer on `after`) for every substance whose answer differs."""
    old, new = applicable(assertions, region_code, before), applicable(assertions, region_code, after)
    return [(s, old[s], new[s]) for s in old if signature(old[s]) != signature(new[s])]


class StoreReader(Protocol):
    """What the rules read: the current assertions of some jurisdictions (the store implements it)."""

    def current_assertions(self, jurisdictions: list[str] | None = None) -> list[StoredAssertion]: ...


def status_document(region: Region, store: StoreReader | None, as_of: date | None = None) -> dict[str, Any]:
    """The `status --json` answer for `region` from what `store` holds (unknown everywhere without one)."""
    assertions = store.current_assertions(regions.chain(region.code)) if store is not None else []
    return build_document(region, assertions, as_of or date.today())
