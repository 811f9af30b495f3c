"""The status rules: what applies in a place, per substance, with its evidence (pure; no I/O).

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

from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol

from kratom_tracker import regions
from kratom_tracker.regions import Region
from kratom_tracker.values import StoredAssertion
from kratom_tracker.vocab import Status, Substance

ASSERTION_FIELDS = ("jurisdiction", "substance", "status", "detail", "effective_date", "source_id",
                    "evidence_url", "quote", "observed_at")

Row = StoredAssertion


# -- the pure core -----------------------------------------------------------------------------------


def in_effect(assertion: Row, day: str) -> bool:
    effective = assertion.effective_date or ""
    return not effective or effective <= day


def _known_on(assertion: Row) -> str:
    """The day the claim was last known to hold: when a person verified it, else when we saw it."""
    return (assertion.verified_on or assertion.observed_at or "")[:10]


def _applies_to(assertion: Row, substance: str) -> bool:
    return assertion.substance in (substance, "all")


def _rank(status: str) -> int:
    return Status.parse(status).rank


def standing(assertions: Iterable[Row], jurisdiction: str, substance: str, day: str) -> list[Row]:
    """The assertions for one place and substance that apply on `day`, after the override and
    supersession rules above."""
    candidates = [a for a in assertions if a.jurisdiction == jurisdiction and _applies_to(a, substance)
                  and in_effect(a, day)]
    specific_sources = {a.source_id for a in candidates if a.substance == substance}
    if substance != "all":
        candidates = [a for a in candidates if a.substance == substance or a.source_id not in specific_sources]
    return [a for a in candidates if not _superseded(a, candidates)]


def _superseded(assertion: Row, others: list[Row]) -> bool:
    mine = assertion.effective_date or ""
    known = _known_on(assertion)
    return any((b.effective_date or "") > mine and known < (b.effective_date or "")
               for b in others if b.status != "unknown")


def _link(assertions: list[Row], jurisdiction: str, substance: str, day: str) -> dict[str, Any] | None:
    """The answer one level of the chain gives, or None when it says nothing."""
    rows = standing(assertions, jurisdiction, substance, day)
    if not rows:
        return None
    statuses = {a.status for a in rows}
    status = max(statuses, key=_rank)
    winners = [a for a in rows if a.status == status]
    dates = sorted(a.effective_date for a in winners if a.effective_date)
    ordered = sorted(rows, key=lambda a: (-_rank(a.status), a.effective_date or "", a.source_id or "",
                                          a.evidence_url or ""))
    details = sorted({a.detail for a in winners if a.detail})
    return {
        "status": status,
        "jurisdiction": jurisdiction,
        "effective_date": dates[0] if dates else None,
        "disputed": sum(Status.parse(s).in_force for s in statuses) > 1,
        "detail": "; ".join(details),
        "evidence": [_evidence(a) for a in ordered],
    }


def _evidence(a: Row) -> dict[str, Any]:
    return {"source_id": a.source_id, "url": a.evidence_url, "quote": a.quote,
            "observed_at": a.observed_at, "status": a.status, "detail": a.detail or ""}


def unknown_answer() -> dict[str, Any]:
    return {"status": "unknown", "jurisdiction": None, "effective_date": None, "disputed": False, "detail": "",
            "evidence": []}


def applicable(assertions: list[Row], region_code: str, as_of: date) -> dict[str, Any]:
    """Per substance (`leaf`, `7-OH`), the status that applies in `region_code` on `as_of` once the chain
    is walked. `assertions` may hold anything; only the chain's levels are read."""
    day = as_of.isoformat()
    chain = regions.chain(region_code)
    answer: dict[str, Any] = {}
    for substance in (s.value for s in Substance.answered()):
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
        here = [a for a in assertions if a.jurisdiction == jurisdiction and in_effect(a, day)]
        for a in sorted(here, key=lambda a: (a.substance, a.effective_date or "", a.source_id or "",
                                             a.evidence_url or "")):
            overlapping = [b for b in here if b.substance in (a.substance, "all")]
            if not _superseded(a, overlapping):
                out.append(a)
    return out


def build_document(region: Region, assertions: list[Row], as_of: date) -> dict[str, Any]:
    """The `status REGION --json` object (DESIGN.md). `detail` (e.g. "21+") and, per evidence item, the
    status it supports are additions to the contract's keys."""
    return {
        "region": {"code": region.code, "name": region.name},
        "as_of": as_of.isoformat(),
        "applicable": applicable(assertions, region.code, as_of),
        "assertions": [{k: getattr(a, k) for k in ASSERTION_FIELDS}
                       for a in current_for_chain(assertions, region.code, as_of)],
    }


class StoreReader(Protocol):
    """What the rules read: the current assertions of some jurisdictions (the store implements it)."""

    def current_assertions(self, jurisdictions: list[str] | None = None) -> list[StoredAssertion]: ...


def status_document(region: Region, store: StoreReader | None, as_of: date | None = None) -> dict[str, Any]:
    """The `status --json` answer for `region` from what `store` holds (unknown everywhere without one)."""
    assertions = store.current_assertions(regions.chain(region.code)) if store is not None else []
    return build_document(region, assertions, as_of or date.today())
