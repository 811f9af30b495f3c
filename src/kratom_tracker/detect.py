"""The detect stage: compare what a source shows now with what the store last kept, and describe each
meaningful difference as an event. Pure functions: no I/O, no clock."""

from __future__ import annotations

import difflib
import json
from collections import Counter, defaultdict
from dataclasses import replace
from urllib.parse import urlsplit

from kratom_tracker.config.model import (
    MASS_WITHDRAWAL_FRACTION,
    MASS_WITHDRAWAL_ITEMS,
    MAX_EVENTS_PER_SOURCE,
    SourceConfig,
)
from kratom_tracker.values import Assertion, EventDraft, Extraction, Item, normalized, sha256_hex

DIFF_CONTEXT = 2
MAX_SUMMARY = 280


def detect(source: SourceConfig, previous: Extraction, current: Extraction) -> list[EventDraft]:
    """Both sides normalised first (a snapshot stored before normalisation compares as it would now)."""
    previous, current = normalized(previous), normalized(current)
    events: list[EventDraft] = []
    if current.lines is not None and previous.lines is not None:
        events.extend(content_events(source, previous.lines, current.lines))
    if current.items is not None and previous.items is not None:
        events.extend(notice_events(source, previous.items, current.items))
    if current.assertions is not None and previous.assertions is not None:
        events.extend(status_events(source, previous.assertions, current.assertions))
    if current.event_data:
        events = [replace(e, data={**current.event_data, **e.data}) for e in events]
    return events


# -- content ---------------------------------------------------------------------------------------


def content_events(source: SourceConfig, old: list[str], new: list[str]) -> list[EventDraft]:
    if old == new:
        return []
    diff = "\n".join(difflib.unified_diff(old, new, fromfile="before", tofile="after", n=DIFF_CONTEXT, lineterm=""))
    added = [line for line in new if line not in set(old)]
    removed = [line for line in old if line not in set(new)]
    summary = _clip(" / ".join(added) if added else "Removed: " + " / ".join(removed))
    return [EventDraft(
        kind="content", jurisdiction=source.jurisdiction, title=f"{source.name}: page changed",
        summary=summary, diff=diff, url=source.url or "",
        data={"added": len(added), "removed": len(removed)},
    )]


# -- notices ---------------------------------------------------------------------------------------


def identity(key: str) -> str:
    """An item's identity for matching: a URL-like key without its scheme, `www.`, default port, trailing
    slash and fragment, host lower-cased (a feed that moves its guids from http:// to https:// lists the
    same items); any other key as it is."""
    key = key.strip()
    if "://" not in key[:12]:
        return key
    parts = urlsplit(key)
    if parts.scheme.lower() not in ("http", "https"):
        return key
    host = (parts.hostname or "").lower().removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = parts.path.rstrip("/")
    return f"//{netloc}{path}" + (f"?{parts.query}" if parts.query else "")


def _fingerprint(item: Item) -> str:
    """`Item.fingerprint` with the link compared by identity (same scheme rule as the key)."""
    return sha256_hex(json.dumps([item.title, identity(item.url), item.summary, item.data], sort_keys=True))


def notice_events(source: SourceConfig, old: list[Item], new: list[Item]) -> list[EventDraft]:
    old_by_key = {identity(i.key): i for i in old}
    new_by_key = {identity(i.key): i for i in new}
    events: list[EventDraft] = []
    for item in new:
        before = old_by_key.get(identity(item.key))
        if before is None:
            events.append(_notice(source, "new", item, None))
        elif _fingerprint(before) != _fingerprint(item):
            events.append(_notice(source, "changed", item, before))
    aged_out = _aged_out(old, new_by_key)
    for item in old:
        # `_leaves_quietly`: an extractor's mark for lists that items leave normally (FR public inspection)
        key = identity(item.key)
        if key not in new_by_key and key not in aged_out and not item.data.get("_leaves_quietly"):
            events.append(_notice(source, "withdrawn", item, None))
    return events


def mass_withdrawal(previous: Extraction, events: list[EventDraft]) -> str:
    """Why these events look like a broken answer rather than news ("" if they do not): most of the
    known items withdrawn at once, or most of the asserted statuses dropped to unknown at once."""
    known = len(previous.items or [])
    withdrawn = sum(1 for e in events if e.kind == "notice" and e.data.get("change") == "withdrawn")
    if withdrawn >= MASS_WITHDRAWAL_ITEMS and withdrawn >= MASS_WITHDRAWAL_FRACTION * known:
        return f"{withdrawn} of {known} known items vanished at once; waiting for a later fetch to confirm"
    asserted = len(_by_region_substance(previous.assertions or []))
    # no longer asserted at all (a withdrawal notice that asserts `unknown` is evidence, and counts not)
    dropped = sum(1 for e in events if e.kind == "status" and not e.data.get("new"))
    if dropped and dropped >= MASS_WITHDRAWAL_FRACTION * asserted:
        return f"{dropped} of {asserted} statuses would fall back to unknown at once; waiting for a later " \
               "fetch to confirm"
    return ""


def cap_events(source: SourceConfig, events: list[EventDraft], limit: int = MAX_EVENTS_PER_SOURCE) -> list[EventDraft]:
    """At most `limit` events for one source in one pass: status events first (always kept), then the
    others in order; what is left over becomes one summary event, so nothing is silently lost."""
    if len(events) <= limit:
        return events
    status = [e for e in events if e.kind == "status"]
    others = [e for e in events if e.kind != "status"]
    room = max(0, limit - 1 - len(status))
    kept, rest = others[:room], others[room:]
    if not rest:
        return status + kept
    counts = Counter(str(e.data.get("change") or e.kind) for e in rest)
    described = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
    summary = EventDraft(
        kind="notice", jurisdiction=source.jurisdiction, title=f"{source.name}: {len(rest)} more changes",
        summary=_clip(f"{len(rest)} more changes in one fetch ({described}); see the source for the rest."),
        diff="\n".join(f"{e.title}" for e in rest[:200]), url=source.url or "",
        data={"change": "more", "count": len(rest), "changes": dict(counts)},
    )
    return status + kept + [summary]


def _aged_out(old: list[Item], new_by_key: dict[str, Item]) -> set[str]:
    """Items that left the feed because newer ones pushed them off the end: not withdrawals. With dates:
    anything no newer than the oldest item still listed; without: the run of missing items at the tail.
    Keys here are identities (`identity`)."""
    missing = [i for i in old if identity(i.key) not in new_by_key]
    if not missing:
        return set()
    if not new_by_key:
        return set()  # every item vanished at once: report them, the extractor already refused an empty feed
    new_dates = [i.published[:19] for i in new_by_key.values() if i.published]
    if new_dates and all(i.published for i in missing):
        oldest = min(new_dates)
        return {identity(i.key) for i in missing if i.published[:19] <= oldest}
    tail: set[str] = set()
    for item in reversed(old):
        if identity(item.key) in new_by_key:
            break
        tail.add(identity(item.key))
    return tail


def _notice(source: SourceConfig, change: str, item: Item, before: Item | None) -> EventDraft:
    label = {"new": "New", "changed": "Changed", "withdrawn": "Withdrawn"}[change]
    diff = ""
    if before is not None:
        diff = "\n".join(difflib.unified_diff(
            _item_lines(before), _item_lines(item), fromfile="before", tofile="after", lineterm=""))
    elif change == "new":
        diff = "\n".join("+" + line for line in _item_lines(item))
    else:
        diff = "\n".join("-" + line for line in _item_lines(item))
    return EventDraft(
        kind="notice", jurisdiction=str(item.data.get("jurisdiction") or source.jurisdiction),
        title=f"{label}: {item.title}", summary=_clip(item.summary), diff=diff, url=item.url,
        data={"change": change, "item_key": item.key, "published": item.published, **_public(item.data)},
    )


def _item_lines(item: Item) -> list[str]:
    lines = [item.title]
    if item.published:
        lines.append(f"Published: {item.published}")
    if item.url:
        lines.append(f"Link: {item.url}")
    if item.summary:
        lines.append(item.summary)
    return lines


def _public(data: dict) -> dict:
    return {k: v for k, v in data.items() if not k.startswith("_")}


# -- status ----------------------------------------------------------------------------------------


def status_events(source: SourceConfig, old: list[Assertion], new: list[Assertion]) -> list[EventDraft]:
    """One event per (jurisdiction, substance) whose asserted law changed: its status, its dates, its
    conditions or (for a pending measure) its stage. A new citation for the same law is not a change."""
    before, after = _by_region_substance(old), _by_region_substance(new)
    events: list[EventDraft] = []
    for key in sorted(set(before) | set(after)):
        old_states = sorted({_law_state(a) for a in before.get(key, [])})
        new_states = sorted({_law_state(a) for a in after.get(key, [])})
        if old_states == new_states:
            continue
        events.append(_status_event(source, key, before.get(key, []), after.get(key, [])))
    return events


def _law_state(a: Assertion) -> tuple[str, str, str, str, str]:
    return (a.status, a.effective_date or "", a.expiry_date or "", a.conditions.text(a.substance, a.status),
            a.stage)


def _by_region_substance(assertions: list[Assertion]) -> dict[tuple[str, str], list[Assertion]]:
    grouped: dict[tuple[str, str], list[Assertion]] = defaultdict(list)
    for a in assertions:
        grouped[(a.jurisdiction, a.substance)].append(a)
    return grouped


def _status_event(source: SourceConfig, key: tuple[str, str], old: list[Assertion],
                  new: list[Assertion]) -> EventDraft:
    jurisdiction, substance = key
    old_text = " / ".join(sorted({a.status for a in old})) or "none"
    # A source that no longer asserts anything here leaves the status `unknown` as far as it knows
    # ("withdrawn" is not a status); the document that shows it is the source's own, not the old evidence.
    new_text = " / ".join(sorted({a.status for a in new})) or "unknown"
    dates = sorted({a.effective_date for a in new if a.effective_date})
    effective = f", effective {dates[-1]}" if dates else ""
    evidence = new[0] if new else old[0]
    url = evidence.evidence_url if new else (source.url or evidence.evidence_url)
    diff = "\n".join(
        [f"-{_assertion_line(a)}" for a in sorted(old, key=_order)]
        + [f"+{_assertion_line(a)}" for a in sorted(new, key=_order)]
    )
    return EventDraft(
        kind="status", jurisdiction=jurisdiction,
        title=f"{jurisdiction} {substance}: {old_text} → {new_text}{effective}",
        summary=_clip(evidence.quote), diff=diff, url=url,
        data={
            "substance": substance, "old_status": old_text, "new_status": new_text,
            "effective_date": dates[-1] if dates else None,
            "old": [a.as_dict() for a in old], "new": [a.as_dict() for a in new],
        },
    )


def _order(a: Assertion) -> tuple:
    return (a.effective_date or "", a.status, a.evidence_url)


def _assertion_line(a: Assertion) -> str:
    when = f" from {a.effective_date}" if a.effective_date else ""
    until = f" until {a.expiry_date}" if a.expiry_date else ""
    detail = f" ({a.detail})" if a.detail else ""
    conditions = a.conditions.text(a.substance, a.status)
    terms = f" [{conditions}]" if conditions else ""
    stage = f" [{a.stage}]" if a.stage else ""
    kind = f" ({a.evidence_kind})" if a.evidence_kind else ""
    return f"{a.status}{detail}{terms}{stage}{when}{until} — {a.quote} <{a.evidence_url}>{kind}"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"
