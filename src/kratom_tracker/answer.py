"""The words of a status answer: which place it is (its chain, country down), and one sentence saying
which levels have rules and what applies — never an error, whatever the place.

    no local rule known for Tampa (Hillsborough County); Florida and federal law apply: kratom leaf
    regulated (21+) from 2023-07-01 (Florida); 7-OH banned from 2026-06-22 (Florida)

`with_place` adds these to the `status --json` document without touching its contract keys: `region` gains
`kind` and `chain` (a list of `{code, name, kind}`, top first), and the document gains `note`."""

from __future__ import annotations

from typing import Any

from kratom_tracker import regions
from kratom_tracker.render import SUBSTANCE_WORDS

_LOCAL = {"city", "county", "locality"}


def level_word(code: str) -> str:
    """How a level is named in the sentence: `federal` (US), `national` (another country), else its name."""
    kind = regions.kind(code)
    if kind == "country":
        return "federal" if code == "US" else "national"
    if kind == regions.INTERNATIONAL:
        return "international"
    return regions.place_name(code)


def subject(code: str) -> str:
    """`Tampa (Hillsborough County)`, `Sarasota County`, `Florida`: the place, with its county."""
    name = regions.place_name(code)
    counties = [c for c in regions.chain(code)[1:-1] if regions.kind(c) == "county"]
    return f"{name} ({regions.place_name(counties[-1])})" if counties else name


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _one(substance: str, entry: dict[str, Any]) -> str:
    words = f"{SUBSTANCE_WORDS.get(substance, substance)} {entry.get('status') or 'unknown'}"
    if entry.get("detail"):
        words += f" ({entry['detail']})"
    if entry.get("effective_date"):
        words += f" from {entry['effective_date']}"
    if entry.get("jurisdiction"):
        words += f" ({level_word(entry['jurisdiction'])})"
    if entry.get("disputed"):
        words += ", disputed"
    return words


def summary(applicable: dict[str, Any]) -> str:
    return "; ".join(_one(substance, entry) for substance, entry in applicable.items())


def _own_level(code: str) -> str:
    """The word for a place's own rules: local (county, city), state (a US state), regional (another
    country's subdivision), federal or national."""
    kind = regions.kind(code)
    if kind in _LOCAL:
        return "local"
    if kind == "state":
        return "state" if code.startswith("US-") else "regional"
    return level_word(code)


def note(document: dict[str, Any]) -> str:
    """The sentence: what the place itself has, which levels above it apply, and what that comes to."""
    code = document["region"]["code"]
    levels = regions.chain(code)
    with_rules = {a["jurisdiction"] for a in document.get("assertions", [])}
    applying = [c for c in reversed(levels) if c in with_rules]  # nearest first: "Florida and federal"
    who = subject(code)
    if not applying:
        return f"no rule known for {who} or any level above it: the status is unknown"
    law = f"{_join([level_word(c) for c in applying])} law {'applies' if len(applying) == 1 else 'apply'}"
    what = summary(document.get("applicable", {}))
    if code in with_rules:
        return f"{law} in {who}: {what}"
    own = _own_level(code)
    return f"no {own} rule known for {who}; {law}: {what}"


def chain_of(code: str) -> list[dict[str, str]]:
    return [{"code": c, "name": regions.display_name(c), "kind": regions.kind(c)} for c in regions.chain(code)]


def with_place(document: dict[str, Any]) -> dict[str, Any]:
    """The status document with `region.kind`, `region.chain` and `note` added (additive keys only)."""
    code = document["region"]["code"]
    region = {**document["region"], "kind": regions.kind(code), "chain": chain_of(code)}
    return {**document, "region": region, "note": note(document)}
