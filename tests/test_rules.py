"""The status rules of status model v2, table-driven: each case is a set of rows modelled on a real
situation, a place, a day and what the answer must be (rules.py states the rules)."""

from __future__ import annotations

from datetime import date

import pytest

from kratom_tracker.rules import applicable, changed_answers, current_for_chain
from kratom_tracker.values import StoredAssertion

BASELINE = "baseline-us"


def row(jurisdiction: str, substance: str, status: str, effective: str | None = None, expiry: str | None = None,
        source: str = BASELINE, verified: str = "2026-12-01", kind: str = "primary", **terms) -> StoredAssertion:
    """A stored assertion; `terms` are the v2 fields (instrument, citation, stage, min_age, ...)."""
    url = f"https://example.gov/{jurisdiction}/{substance}/{status}/{effective or 'undated'}/{source}"
    return StoredAssertion(jurisdiction=jurisdiction, substance=substance, status=status, effective_date=effective,
                           expiry_date=expiry, source_id=source, evidence_url=url, quote=f"{jurisdiction} {status}",
                           observed_at="2026-12-01T00:00:00Z", evidence_kind=kind, verified_on=verified, **terms)


US_FEDERAL = [
    row("US", "leaf", "legal", "2014-02-28", kind="secondary", instrument="agency-action",
        citation="FDA Import Alert 54-15"),
    row("US", "all", "pending", "2016-08-31", "2016-10-13", instrument="proposed-rule", citation="FR 2016-20803",
        stage="proposed-rule", bill_id="DEA-442"),
    row("US", "all", "legal", "2016-10-13", instrument="agency-action", citation="FR 2016-24659"),
    row("US", "leaf", "legal", "2016-10-13", instrument="none", citation="21 CFR 1308.11 (not listed)"),
    row("US", "7-OH", "legal", instrument="none", citation="21 CFR 1308.11 (7-OH not listed)"),
    row("US", "7-OH", "pending", "2026-10-14", instrument="proposed-rule", citation="FR 2026-20943",
        stage="proposed-rule", bill_id="DEA-1570", threshold_value=1.0, threshold_unit="mg/g",
        threshold_basis="of product"),
    row("US", "MGM-15", "banned", "2026-08-26", "2028-08-26", instrument="regulation", citation="FR 2026-17429"),
]
OHIO = US_FEDERAL + [
    row("US-OH", "leaf", "legal", "2025-12-12", instrument="regulation", citation="OAC 4729:9-1-01.1(A)(4)"),
    row("US-OH", "leaf", "pending", instrument="proposed-rule", citation="OAC 4729:9-1-01.2 (proposed)",
        stage="proposed-rule"),
    row("US-OH", "7-OH", "banned", "2025-12-12", "2026-06-10", instrument="emergency-rule",
        citation="OAC 4729:9-1-01.1"),
    row("US-OH", "7-OH", "banned", "2026-06-10", instrument="regulation", citation="OAC 4729:9-1-01.1"),
]
# Massachusetts as first reported: no state law, then a temporary Schedule I order (one table, both
# rows re-verified the same day). The older row is history, not the other side of a dispute.
MASSACHUSETTS = [row("US-MA", "all", "legal", instrument="none"),
                 row("US-MA", "all", "banned", "2026-08-28", "2027-08-28", instrument="emergency-rule",
                     citation="G.L. c. 94C s. 2A order")]
# North Dakota as first reported: a 30-day executive order that lapses.
NORTH_DAKOTA = [row("US-ND", "all", "legal", instrument="none"),
                row("US-ND", "all", "banned", "2026-08-03", "2026-09-02", instrument="executive-order",
                    citation="EO 2026-08")]
THRESHOLDS = [
    row("US-TX", "leaf", "regulated", "2023-09-01", min_age=18, prohibited=("sale-to-minors",)),
    row("US-TX", "7-OH", "regulated", "2023-09-01", threshold_value=2.0, threshold_unit="%",
        threshold_basis="of total alkaloids", prohibited=("sale", "manufacture", "distribution")),
    row("US-CO", "7-OH", "regulated", "2025-07-01", min_age=21, threshold_value=2.0, threshold_unit="%",
        threshold_basis="of total alkaloids"),
    row("US-AL", "all", "banned", "2016-05-10", prohibited=("sale", "possession", "manufacture", "distribution")),
]
PREEMPTION = [
    row("US-WV", "leaf", "regulated", "2023-06-09", min_age=21, preempts_local=True),
    row("US-WV/x", "leaf", "banned", "2024-01-01", instrument="ordinance"),
    row("US-WV/x", "leaf", "pending", instrument="ordinance", stage="introduced"),
    row("US-MS", "leaf", "regulated", "2025-07-01", min_age=21, preempts_local=False),
    row("US-MS/tupelo", "leaf", "banned", "2026-02-01", instrument="ordinance"),
]
DISPUTES = [
    row("US-DE", "all", "legal", instrument="none"),
    row("US-DE", "all", "banned", source="other-table", kind="secondary"),
    # another source's older claim, last checked before the newer law took effect: outdated, not disputed
    row("US-KY", "leaf", "legal", source="other-table", verified="2023-01-01"),
    row("US-KY", "leaf", "regulated", "2024-07-15", min_age=21),
    # ... and re-checked after it: a disagreement
    row("US-SC", "leaf", "legal", source="other-table", verified="2026-01-01"),
    row("US-SC", "leaf", "regulated", "2025-07-11", min_age=21),
]

CASES = [
    # (name, rows, region, day, substance, expected subset of the answer, pending citations)
    ("Ohio leaf: legal now, a ban is proposed", OHIO, "US-OH", "2026-12-01", "leaf",
     {"status": "legal", "disputed": False}, ["OAC 4729:9-1-01.2 (proposed)"]),
    ("Ohio 7-OH: the emergency rule", OHIO, "US-OH", "2026-01-15", "7-OH",
     {"status": "banned", "jurisdiction": "US-OH", "instrument": "emergency-rule", "expiry_date": "2026-06-10"}, []),
    ("Ohio 7-OH: the permanent rule on the day the emergency one ends", OHIO, "US-OH", "2026-06-10", "7-OH",
     {"status": "banned", "instrument": "regulation", "effective_date": "2026-06-10", "expiry_date": None}, []),
    ("Ohio 7-OH before the rules: federal law and the DEA notice", OHIO, "US-OH", "2025-06-01", "7-OH",
     {"status": "legal", "jurisdiction": "US"}, []),
    ("Massachusetts after the order: superseded, not disputed", MASSACHUSETTS, "US-MA", "2026-09-15", "leaf",
     {"status": "banned", "disputed": False, "effective_date": "2026-08-28", "expiry_date": "2027-08-28"}, []),
    ("Massachusetts before the order", MASSACHUSETTS, "US-MA", "2026-08-27", "7-OH",
     {"status": "legal", "disputed": False}, []),
    ("Massachusetts after the order lapses", MASSACHUSETTS, "US-MA", "2027-08-28", "leaf",
     {"status": "legal", "disputed": False}, []),
    ("North Dakota during the 30-day order", NORTH_DAKOTA, "US-ND", "2026-09-01", "leaf",
     {"status": "banned", "instrument": "executive-order", "expiry_date": "2026-09-02"}, []),
    ("North Dakota the day the order lapses", NORTH_DAKOTA, "US-ND", "2026-09-02", "leaf",
     {"status": "legal", "instrument": "none"}, []),
    ("US leaf on 2016-09-15: legal, the DEA notice of intent pending", US_FEDERAL, "US", "2016-09-15", "leaf",
     {"status": "legal", "citation": "FDA Import Alert 54-15", "primary": False}, ["FR 2016-20803"]),
    ("US 7-OH on 2016-09-15", US_FEDERAL, "US", "2016-09-15", "7-OH", {"status": "legal"}, ["FR 2016-20803"]),
    ("US leaf once the notice was withdrawn", US_FEDERAL, "US", "2016-10-13", "leaf",
     {"status": "legal", "citation": "21 CFR 1308.11 (not listed)", "primary": True}, []),
    ("US 7-OH now: legal, the 2026 notice pending", US_FEDERAL, "US", "2026-12-01", "7-OH",
     {"status": "legal"}, ["FR 2026-20943"]),
    ("the semi-synthetics under the temporary order", US_FEDERAL, "US", "2026-12-01", "MGM-15",
     {"status": "banned", "expiry_date": "2028-08-26"}, []),
    ("the semi-synthetics when the order runs out: `all` applies again", US_FEDERAL, "US", "2028-08-26", "MGM-15",
     {"status": "legal", "citation": "FR 2016-24659"}, []),
    ("a future day answers from the same rules", OHIO, "US-OH", "2030-01-01", "7-OH", {"status": "banned"},
     ["FR 2026-20943"]),
    ("thresholds shown: Texas 7-OH", THRESHOLDS, "US-TX", "2026-12-01", "7-OH",
     {"status": "regulated", "conditions_text": "7-OH above 2 % of total alkaloids banned"}, []),
    ("an age limit: Texas leaf", THRESHOLDS, "US-TX", "2026-12-01", "leaf",
     {"conditions_text": "18+", "conditions": {"min_age": 18, "thresholds": [], "prohibited": ["sale-to-minors"]}},
     []),
    ("age and threshold together: Colorado 7-OH", THRESHOLDS, "US-CO", "2026-12-01", "7-OH",
     {"conditions_text": "21+; 7-OH above 2 % of total alkaloids banned"}, []),
    ("a plain ban names the prohibited acts", THRESHOLDS, "US-AL", "2026-12-01", "MGM-16",
     {"status": "banned", "conditions_text": "sale, possession, manufacture, distribution prohibited"}, []),
    ("a state law that preempts local rules wins over a stricter local ban", PREEMPTION, "US-WV/x", "2026-12-01",
     "leaf", {"status": "regulated", "jurisdiction": "US-WV", "preempted": ["US-WV/x"]}, [None]),
    ("without preemption the most restrictive link wins", PREEMPTION, "US-MS/tupelo", "2026-12-01", "leaf",
     {"status": "banned", "jurisdiction": "US-MS/tupelo", "preempted": []}, []),
    ("two sources in force the same day that disagree: disputed", DISPUTES, "US-DE", "2026-12-01", "leaf",
     {"status": "banned", "disputed": True}, []),
    ("another source's claim checked before a newer law: outdated", DISPUTES, "US-KY", "2026-12-01", "leaf",
     {"status": "regulated", "disputed": False}, []),
    ("another source's claim re-checked after a newer law: disputed", DISPUTES, "US-SC", "2026-12-01", "leaf",
     {"status": "regulated", "disputed": True}, []),
]


@pytest.mark.parametrize(("name", "rows", "region", "day", "substance", "expected", "pending"), CASES,
                         ids=[c[0] for c in CASES])
def test_the_answer(name, rows, region, day, substance, expected, pending):
    answer = applicable(rows, region, date.fromisoformat(day))[substance]
    assert {k: answer[k] for k in expected} == expected
    assert [p["citation"] for p in answer["pending"]] == pending
    assert answer["status"] != "pending"  # never instead of the law in force


def test_a_dispute_keeps_both_citations_with_their_quality():
    answer = applicable(DISPUTES, "US-DE", date(2026, 12, 1))["leaf"]
    assert {(e["source_id"], e["kind"]) for e in answer["evidence"]} == {(BASELINE, "primary"),
                                                                        ("other-table", "secondary")}


def test_primary_evidence_comes_first_within_a_status():
    rows = [row("US-GA", "leaf", "regulated", "2025-01-01", kind="secondary", source="a"),
            row("US-GA", "leaf", "regulated", "2025-01-01", kind="primary", source="b")]
    answer = applicable(rows, "US-GA", date(2026, 12, 1))["leaf"]
    assert [e["kind"] for e in answer["evidence"]] == ["primary", "secondary"] and answer["primary"] is True


def test_a_superseded_row_is_not_current_but_a_pending_one_is():
    massachusetts = current_for_chain(MASSACHUSETTS, "US-MA", date(2026, 9, 15))
    assert [(a.status, a.effective_date) for a in massachusetts] == [("banned", "2026-08-28")]
    ohio = current_for_chain(OHIO, "US-OH", date(2026, 12, 1))
    assert ("US-OH", "leaf", "pending") in {(a.jurisdiction, a.substance, a.status) for a in ohio}


@pytest.mark.parametrize(("rows", "region", "before", "after", "changed"), [
    (NORTH_DAKOTA, "US-ND", "2026-09-01", "2026-09-02", {"leaf", "7-OH", "mitragynine-pseudoindoxyl", "MGM-15",
                                                        "MGM-16"}),
    (NORTH_DAKOTA, "US-ND", "2026-09-02", "2026-09-03", set()),
    (US_FEDERAL, "US", "2016-10-12", "2016-10-13", {"leaf", "7-OH", "mitragynine-pseudoindoxyl", "MGM-15",
                                                    "MGM-16"}),
    (US_FEDERAL, "US", "2026-10-13", "2026-10-14", {"7-OH"}),  # a notice published: pending changes only
    (US_FEDERAL, "US", "2028-08-25", "2028-08-26", {"MGM-15"}),
])
def test_which_answers_a_day_changes(rows, region, before, after, changed):
    found = changed_answers(rows, region, date.fromisoformat(before), date.fromisoformat(after))
    assert {substance for substance, _, _ in found} == changed
