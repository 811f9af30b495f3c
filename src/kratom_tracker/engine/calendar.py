"""The calendar tick: answers that change by themselves when a day comes.

A law signed now and effective later, an emergency order that lapses after 30 days, a temporary
scheduling order that runs out: no source changes on that day, yet the answer does. Once a day the tick
looks for the current assertions whose effective or expiry date fell on a day since the last tick,
computes the answers of every place they reach (the place and everything below it that has assertions of
its own) on that day and the day before with the same rules as `status`, and writes one `status` event
per place and substance whose answer changed, from the pseudo-source `~calendar`. Subscribers so hear of
a lapse on the day it happens.

Idempotent: the last day handled is kept in `meta` (`calendar_through`) and moved in the same
transaction as the events, so the same day twice (the daemon's hourly check, a `collect` from cron, both
at once) writes its events once. Days missed while nothing ran are caught up, oldest first. The first
tick of a database sets its starting point without events, as a source's first fetch does."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from kratom_tracker import regions, rules
from kratom_tracker.store import Store
from kratom_tracker.timefmt import utc_now
from kratom_tracker.values import EventDraft, StoredAssertion
from kratom_tracker.vocab import EventKind

CALENDAR_SOURCE = "~calendar"  # cannot clash with a source id ([a-z0-9-]+)
CALENDAR_META = "calendar_through"
MAX_SUMMARY = 280


def tick(store: Store, today: date | None = None) -> list[int]:
    """Write the calendar events due up to `today` (default: the local date, as `status` uses); returns
    their ids. Safe to call any number of times a day."""
    day = (today or date.today()).isoformat()
    with store.transaction():  # BEGIN IMMEDIATE: a second process waits here, then finds the day done
        through = store.meta(CALENDAR_META)
        if through is None:
            store.set_meta(CALENDAR_META, day)
            return []
        if through >= day:
            return []
        drafts = calendar_events(store, date.fromisoformat(through), date.fromisoformat(day))
        ids = store.add_events(CALENDAR_SOURCE, drafts, utc_now())
        store.set_meta(CALENDAR_META, day)
    return ids


def calendar_events(store: Store, through: date, today: date) -> list[EventDraft]:
    """The events for every day in (through, today], oldest day first."""
    places_by_day: dict[str, set[str]] = defaultdict(set)
    for jurisdiction, day in store.assertion_date_changes(through.isoformat(), today.isoformat()):
        places_by_day[day] |= {jurisdiction, *store.assertion_jurisdictions_below(jurisdiction)}
    drafts: list[EventDraft] = []
    for day in sorted(places_by_day):
        for place in sorted(places_by_day[day]):
            drafts += day_events(store.current_assertions(regions.chain(place)), place, date.fromisoformat(day))
    return drafts


def day_events(assertions: list[StoredAssertion], place: str, day: date) -> list[EventDraft]:
    """Pure: the events for one place on one day (its answer on `day` against the day before)."""
    before = day - timedelta(days=1)
    causes = [a for a in assertions if day.isoformat() in (a.effective_date, a.expiry_date)]
    return [_draft(place, substance, old, new, day.isoformat(), causes)
            for substance, old, new in rules.changed_answers(assertions, place, before, day)]


def _draft(place: str, substance: str, old: dict[str, Any], new: dict[str, Any], day: str,
           causes: list[StoredAssertion]) -> EventDraft:
    because = [_cause(a, day) for a in causes]
    evidence = new["evidence"] or old["evidence"]
    url = evidence[0]["url"] if evidence else (causes[0].evidence_url if causes else "")
    summary = "; ".join(f"{c['jurisdiction']}: {c['what']} {c['change']} on {day}" for c in because)
    return EventDraft(
        kind=EventKind.STATUS, jurisdiction=place,
        title=f"{place} {substance}: {answer_text(old)} → {answer_text(new)} on {day}",
        summary=_clip(summary), diff=f"-{_answer_line(old)}\n+{_answer_line(new)}", url=url,
        data={"substance": substance, "old_status": old["status"], "new_status": new["status"],
              "effective_date": day, "cause": "calendar", "causes": because,
              "old": _citations(old), "new": _citations(new), "old_answer": old, "new_answer": new},
    )


def answer_text(entry: dict[str, Any]) -> str:
    """`regulated (21+)`, `legal; pending DEA-1570`: an answer in a few words."""
    text = entry["status"] + (f" ({entry['conditions_text']})" if entry["conditions_text"] else "")
    pending = [p["bill_id"] or p["citation"] or p["jurisdiction"] for p in entry["pending"]]
    return text + (f"; pending {', '.join(dict.fromkeys(pending))}" if pending else "")


def _answer_line(entry: dict[str, Any]) -> str:
    where = f" in {entry['jurisdiction']}" if entry["jurisdiction"] else ""
    cites = ", ".join(e["citation"] or e["url"] for e in entry["evidence"][:3])
    return answer_text(entry) + where + (f" — {cites}" if cites else "")


def _cause(a: StoredAssertion, day: str) -> dict[str, Any]:
    return {"jurisdiction": a.jurisdiction, "substance": a.substance, "status": a.status,
            "what": a.citation or a.detail or a.status, "change": "took effect" if a.effective_date == day else "expired",
            "evidence_url": a.evidence_url}


def _citations(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's evidence in the shape of assertions (`evidence_url`, `quote`), as feeds render it."""
    return [{"jurisdiction": e["jurisdiction"], "status": e["status"], "evidence_url": e["url"], "quote": e["quote"],
             "evidence_kind": e["kind"], "citation": e["citation"]} for e in entry["evidence"][:5]]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"
