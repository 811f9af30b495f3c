"""The article check: every claim an article makes (articles/claims.py) compared with the status in force
(`rules.status_document`, the one implementation of the `status --json` contract), each with a verdict and
the citation behind it.

Verdicts (vocab.Verdict), first rule that fits:
- unknown: the tracker holds no evidence for that place and substance (it never guesses);
- consistent: the claim says what the law in force says. "Legal" agrees with `regulated` (it is on sale,
  under conditions, which the explanation names) and with `pending` (a proposal binds nobody yet);
- stale: the claim says what applied the day before the status in force took effect: it was true, and the
  verdict says what changed and since when;
- contradicted: anything else;
- vague: generic advice ("check your local laws", "legality varies by region"): true and useless; the verdict
  suggests the status of the regions its readers come from and an embed that stays current.
Entries are read with `.get` beyond the contract's keys, so conditions (threshold, minimum age, expiry)
are shown as soon as the status document carries them."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from kratom_tracker import regions, rules
from kratom_tracker.articles.claims import Article, Claim, find_claims, find_places, read_article
from kratom_tracker.charset import decode_text
from kratom_tracker.publish.embed import conditions_text, embed_snippet, map_snippet, primary_citation
from kratom_tracker.publish.statusmap import CachedReader
from kratom_tracker.regions import Region
from kratom_tracker.vocab import ClaimKind, Status, Substance, Verdict

MAX_HISTORY_DATES = 40  # change dates looked back through for a stale count ("banned in six states")
_AGE_IN_TEXT = re.compile(r"\b(18|19|21)\s*(?:\+|or older|and older|and over)|\bunder (18|19|21)\b|\bage (?:of )?(18|19|21)\b")
_FDA_EVIDENCE = re.compile(r"\bFDA\b|Food and Drug Administration", re.IGNORECASE)
_VERBS = {"banned": "bans", "regulated": "regulates", "legal": "allows", "pending": "has a pending measure on",
          "unknown": "has no known law on"}


class ArticleError(Exception):
    """The article could not be read (a failed fetch, a missing file)."""


# -- reading ----------------------------------------------------------------------------------------


def load_article(source: str, fetcher: Any = None, timeout: float = 30.0, max_bytes: int = 5_000_000) -> Article:
    """A file path, or an http(s) URL fetched with the project's Fetcher (polite: robots, per-host delay)."""
    if re.match(r"^https?://", source, re.IGNORECASE):
        if fetcher is None:
            raise ArticleError("a URL needs a fetcher")
        response = fetcher.fetch(source, timeout=timeout, max_bytes=max_bytes)
        if response.outcome is not None:
            raise ArticleError(f"{source}: {response.outcome} {response.error}".strip())
        return read_article(response.text, response.final_url or source, response.content_type)
    path = Path(source)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"{source}: {exc.strerror or exc}") from None
    content_type = "text/html" if path.suffix.lower() in (".html", ".htm", ".xhtml") else ""
    return read_article(decode_text(raw, content_type), str(path), content_type)


# -- the check -----------------------------------------------------------------------------------------


def check_article(article: Article, store: rules.StoreReader | None, as_of: date | None = None,
                  readers_regions: Iterable[Region] = (), base_url: str = "") -> dict[str, Any]:
    """The check-article document: the article, the places it names, every claim with its verdict."""
    as_of = as_of or date.today()
    reader = store if isinstance(store, CachedReader) else CachedReader(store)
    places = find_places(article.title + ". " + article.text)
    audience = list(dict.fromkeys([*readers_regions]))
    context = Context(reader, as_of, audience or [p for p in places if p.code != "US"], base_url)
    results = [result for claim in find_claims(article) for result in judge(claim, context)]
    return {
        "article": {"source": article.source, "title": article.title, "sentences": len(article.sentences)},
        "as_of": as_of.isoformat(),
        "regions": [_ref(r) for r in audience],
        "places": [_ref(p) for p in places],
        "claims": results,
        "summary": dict(sorted(Counter(r["verdict"] for r in results).items())),
    }


class Context:
    def __init__(self, reader: CachedReader, as_of: date, audience: list[Region], base_url: str):
        self.reader = reader
        self.as_of = as_of
        self.audience = audience
        self.base_url = base_url.rstrip("/")
        self._docs: dict[tuple[str, date], dict[str, Any]] = {}

    def doc(self, code: str, day: date | None = None) -> dict[str, Any]:
        day = day or self.as_of
        key = (code, day)
        if key not in self._docs:
            self._docs[key] = rules.status_document(regions.lookup(code), self.reader, day)
        return self._docs[key]

    def entry(self, code: str, substance: str, day: date | None = None) -> dict[str, Any]:
        return self.doc(code, day)["applicable"].get(substance) or rules.unknown_answer()


def judge(claim: Claim, context: Context) -> list[dict[str, Any]]:
    """One result per claim and place (a claim about three states is three verdicts)."""
    if claim.kind is ClaimKind.VAGUE:
        return [_vague(claim, context)]
    if claim.kind is ClaimKind.COUNT:
        return [_count(claim, context)]
    if claim.kind is ClaimKind.FDA:
        return [_fda(claim, context)]
    if claim.kind is ClaimKind.AGE:
        places = claim.regions or tuple(r.code for r in context.audience)
        if not places:
            return [_result(claim, None, Verdict.VAGUE, f"an age limit ({claim.min_age}) without a place: age limits "
                            "differ by state; name the place or embed its status", suggestion=_suggestion(context))]
        return [_age(claim, code, context) for code in places]
    return [_status(claim, code, context) for code in claim.regions]


def _status(claim: Claim, code: str, context: Context) -> dict[str, Any]:
    region = regions.lookup(code)
    entry = context.entry(code, claim.substance)
    actual = Status.parse(entry.get("status"))
    said = _said(claim, region)
    if actual is Status.UNKNOWN:
        return _result(claim, region, Verdict.UNKNOWN, f"{said}; the tracker holds no evidence on "
                       f"{claim.substance} in {region.name}")
    citation = primary_citation(entry)
    now = describe(entry, region, claim.substance)
    if agrees(claim.claimed, actual):
        note = _agreement_note(claim.claimed, actual, entry)
        return _result(claim, region, Verdict.CONSISTENT, f"{said}; {now}{note}", citation=citation)
    effective = entry.get("effective_date")
    before = _day_before(effective)
    if before is not None:
        earlier = context.entry(code, claim.substance, before)
        if Status.parse(earlier.get("status")) is not Status.UNKNOWN and agrees(claim.claimed, Status.parse(earlier.get("status"))):
            return _result(claim, region, Verdict.STALE, f"{said}; since {effective} {now}", citation=citation,
                           since=effective, changed=f"{earlier.get('status')} → {actual.value}")
    return _result(claim, region, Verdict.CONTRADICTED, f"{said}; {now}", citation=citation)


def agrees(claimed: str, actual: Status) -> bool:
    """Does a claimed status match the status in force? `legal` agrees with `regulated` (on sale, under
    conditions) and `pending` (a proposal binds nobody yet)."""
    said = Status.parse(claimed)
    if said is actual:
        return True
    return said is Status.LEGAL and actual in (Status.REGULATED, Status.PENDING)


def _agreement_note(claimed: str, actual: Status, entry: dict[str, Any]) -> str:
    if Status.parse(claimed) is Status.LEGAL and actual is Status.REGULATED:
        return " — legal under conditions the page could name" + (f" ({entry.get('detail')})" if entry.get("detail") else "")
    if actual is Status.PENDING:
        return " — a measure is pending: the page may soon be out of date"
    return " — disputed between sources" if entry.get("disputed") else ""


def _count(claim: Claim, context: Context) -> dict[str, Any]:
    states = us_states()
    claimed = Status.parse(claim.claimed)

    def matching(day: date) -> list[str]:
        return [code for code in states
                if Status.parse(context.entry(code, claim.substance, day).get("status")) is claimed]

    now = matching(context.as_of)
    citations = [{**(primary_citation(context.entry(code, claim.substance)) or {}), "jurisdiction": code}
                 for code in now]
    names = ", ".join(regions.display_name(c) for c in now) or "none"
    said = f"the page says {substance_name(claim.substance)} is {claimed.value} in {claim.count} states"
    found = f"the tracker has {len(now)} states where it is {claimed.value} ({names})"
    base = {"states": now, "citations": citations}
    us = regions.lookup("US")
    if len(now) == claim.count:
        return _result(claim, us, Verdict.CONSISTENT, f"{said}; {found}", citation=citations[0] if citations else None,
                       **base)
    for changed_on in context.reader.change_dates(context.as_of)[:MAX_HISTORY_DATES]:
        before = matching(changed_on - timedelta(days=1))
        if len(before) == claim.count:
            return _result(claim, us, Verdict.STALE, f"{said}; that was so until {changed_on}; now {found}",
                           citation=citations[0] if citations else None, since=changed_on.isoformat(),
                           changed=f"{len(before)} → {len(now)} states", **base)
    return _result(claim, us, Verdict.CONTRADICTED, f"{said}; {found}",
                   citation=citations[0] if citations else None, **base)


def _fda(claim: Claim, context: Context) -> dict[str, Any]:
    us = regions.lookup("US")
    document = context.doc("US")
    support = [a for a in document["assertions"] if _FDA_EVIDENCE.search(f"{a.get('detail') or ''} {a.get('quote') or ''}")]
    said = "the page says kratom is " + ("not " if claim.claimed == "not-approved" else "") + "FDA-approved"
    if not support:
        return _result(claim, us, Verdict.UNKNOWN, f"{said}; the tracker holds no FDA evidence")
    first = support[0]
    citation = {"source_id": first.get("source_id"), "url": first.get("evidence_url"), "quote": first.get("quote"),
                "observed_at": first.get("observed_at"), "jurisdiction": first.get("jurisdiction")}
    verdict = Verdict.CONSISTENT if claim.claimed == "not-approved" else Verdict.CONTRADICTED
    return _result(claim, us, verdict, f"{said}; federal evidence: FDA has approved no kratom product "
                   f"({first.get('detail') or 'see the citation'})", citation=citation)


def _age(claim: Claim, code: str, context: Context) -> dict[str, Any]:
    region = regions.lookup(code)
    entry = context.entry(code, claim.substance)
    actual = Status.parse(entry.get("status"))
    said = f"the page says you must be {claim.min_age} to buy {substance_name(claim.substance)} in {region.name}"
    citation = primary_citation(entry)
    if actual is Status.UNKNOWN:
        return _result(claim, region, Verdict.UNKNOWN, f"{said}; the tracker holds no evidence there")
    if actual is Status.BANNED:
        return _result(claim, region, Verdict.CONTRADICTED, f"{said}; {describe(entry, region, claim.substance)}: "
                       "no age buys it", citation=citation)
    age = minimum_age(entry)
    if age is None:
        return _result(claim, region, Verdict.UNKNOWN, f"{said}; {describe(entry, region, claim.substance)}, with "
                       "no age limit on file", citation=citation)
    verdict = Verdict.CONSISTENT if age == claim.min_age else Verdict.CONTRADICTED
    return _result(claim, region, verdict, f"{said}; the age limit on file is {age}", citation=citation)


def minimum_age(entry: dict[str, Any]) -> int | None:
    """The entry's minimum age: a `min_age` key (status model v2) if any, else "21+" in its detail or quotes."""
    for source in (entry, entry.get("conditions") or {}):
        value = source.get("min_age") if isinstance(source, dict) else None
        if isinstance(value, int):
            return value
    texts = [entry.get("detail") or ""] + [f"{e.get('detail') or ''} {e.get('quote') or ''}" for e in entry.get("evidence") or []
                                           if e.get("status") == entry.get("status")]
    for text in texts:
        match = _AGE_IN_TEXT.search(text)
        if match:
            return int(next(g for g in match.groups() if g))
    return None


def _vague(claim: Claim, context: Context) -> dict[str, Any]:
    return _result(claim, None, Verdict.VAGUE, "generic legality advice: true everywhere, useful nowhere; name the "
                   "places your readers are in, or embed a status that stays current", suggestion=_suggestion(context))


def _suggestion(context: Context) -> dict[str, Any]:
    """The regions the article's readers come from (given, else the places it names), each with its status and
    an embed to paste; without any, the US map."""
    base = context.base_url
    out: dict[str, Any] = {"regions": [], "map": map_snippet(base, Substance.LEAF.value)}
    for region in context.audience:
        statuses = {s: context.entry(region.code, s) for s in (x.value for x in Substance.answered())}
        out["regions"].append({
            **_ref(region),
            "status": {s: {"status": e.get("status"), "detail": e.get("detail") or "",
                           "conditions": conditions_text(e)} for s, e in statuses.items()},
            "embed": embed_snippet(base, region),
        })
    if not out["regions"]:
        out["hint"] = "pass --regions (the places your readers are in) for a status and an embed per region"
    return out


# -- wording ---------------------------------------------------------------------------------------------


def describe(entry: dict[str, Any], region: Region, substance: str) -> str:
    """"Florida bans 7-OH (emergency rule, effective 2025-08-15)": the status in force, in words."""
    status = str(entry.get("status") or "unknown")
    where = region.name
    source = entry.get("jurisdiction")
    if source and source != region.code:
        where += f" (through {regions.display_name(source)})"
    extras = [x for x in (entry.get("detail") or "", conditions_text(entry)) if x]
    if entry.get("effective_date"):
        extras.append(f"effective {entry['effective_date']}")
    return f"{where} {_VERBS.get(status, status)} {substance_name(substance)}" + (f" ({'; '.join(extras)})" if extras else "")


def _said(claim: Claim, region: Region) -> str:
    return f"the page says {substance_name(claim.substance)} is {claim.claimed} in {region.name}"


def substance_name(substance: str) -> str:
    return {"leaf": "kratom", "all": "kratom and 7-OH"}.get(substance, substance)


def _day_before(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10]) - timedelta(days=1)
    except ValueError:
        return None


def _ref(region: Region) -> dict[str, str]:
    return {"code": region.code, "name": region.name}


def _result(claim: Claim, region: Region | None, verdict: Verdict, explanation: str, citation: dict | None = None,
            since: str | None = None, changed: str | None = None, suggestion: dict | None = None,
            **extra: Any) -> dict[str, Any]:
    return {**claim.as_dict(), "region": _ref(region) if region else None, "verdict": verdict.value,
            "explanation": explanation, "since": since, "changed": changed, "citation": citation,
            "suggestion": suggestion, **extra}


def us_states() -> list[str]:
    """The fifty states (not DC or the territories): what "banned in six states" counts."""
    import pycountry

    return sorted(s.code for s in pycountry.subdivisions.get(country_code="US") or [] if s.type == "State")
