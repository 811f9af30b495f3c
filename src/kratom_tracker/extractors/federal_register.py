"""`federal-register`: the Federal Register API (documents.json, or public-inspection-documents.json for
documents filed before publication), searched for a `term`. One Item per document (keyed by its
document number) so detect writes one `notice` event per new or changed document; scheduling
documents about kratom alkaloids also become US status assertions.

Only document fields are kept: `count` (capped at 10000), `next_page_url` and the cache-busting query
of `public_inspection_pdf_url` change between polls without meaning, so they never reach the snapshot.
An empty answer from documents.json has no `results` key at all; it is a valid answer (no documents).
Only the newest page (100 documents) is read: a change is always among the newest documents.
The public-inspection list only holds documents awaiting publication: they give notices (never a
"withdrawn" one when they leave the list on publication) but no assertions.

From document to assertion (read from the title, which the API gives verbatim):
- a `Proposed Rule` placing a substance in a schedule (a notice of intent) → `pending` from its
  publication date;
- a `Rule` with `effective_on` placing a substance in a schedule (an order) → `banned` from that date;
- a withdrawal (`Withdrawal of ...`) retracts its docket's proposal (docket DEA-442W withdraws DEA-442):
  the region returns to the status it had before the proposal. "Withdrawn" is not a status; what FR knew
  before the proposal is what its other dockets say, so for a substance no other docket speaks of the
  withdrawal is kept as an `unknown` assertion from its date, citing the withdrawal (status.py lets an
  `unknown` claim override nothing, so the other sources' answer stands again);
- per docket only the newest document speaks, so a proposal followed by an order reads `banned`.
Substances: `kratom` or `mitragynine` → leaf (mitragynine is the leaf's main alkaloid; scheduling it
bans the leaf), `7-hydroxymitragynine` → 7-OH. `Mitragynine pseudoindoxyl`, MGM-15 and MGM-16 are
neither: the 2026 order 2026-17429 scheduled those and is not a leaf or 7-OH ban."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from kratom_tracker import checks
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors import Extractor, option
from kratom_tracker.values import Assertion, Extraction, Item, Response
from kratom_tracker.vocab import Outcome

DOCUMENTS_URL = "https://www.federalregister.gov/api/v1/documents.json"
PER_PAGE = 100
DOCUMENT_FIELDS = ("abstract", "action", "agencies", "citation", "docket_ids", "document_number", "effective_on",
                   "html_url", "pdf_url", "publication_date", "title", "type")
MAX_SUMMARY = 600

_FR_ENTITY = re.compile(r"\[([a-zA-Z]{2,8})\]")  # FR's own entity form: [uuml] for ü
_SCHEDULING = re.compile(r"(?i)\bplacement of\b.*\bschedule\s+[IV]+\b|\bschedules of controlled substances?\b")
_WITHDRAWAL = re.compile(r"(?i)^\s*withdrawal of\b")
_PSEUDOINDOXYL = re.compile(r"(?i)mitragynine\s+pseudoindoxyl")
_LEAF = re.compile(r"(?i)\bkratom\b|(?<![a-z-])mitragynine\b")
_SEVEN_OH = re.compile(r"(?i)\b7-?hydroxy-?mitragynine\b|\b7-OH\b")
_THRESHOLD = re.compile(r"(?i)\babove a (?:specified )?threshold\b")


class FederalRegisterExtractor(Extractor):
    type_name = "federal-register"
    needs_url = False
    help = ("the Federal Register API searched for a `term` (url: documents.json, the default, or "
            "public-inspection-documents.json); one notice event per new or changed document; DEA scheduling "
            "documents on kratom alkaloids become US status assertions")
    @dataclass(frozen=True)
    class Options:
        term: str = option(check=checks.text, help="full-text search term, e.g. kratom")
        match: str | None = option(None, check=checks.regex,
                                   help="regex over the document title; other documents are skipped")

    def request_url(self, source: SourceConfig) -> str:
        return search_url(source.url or DOCUMENTS_URL, source.options.term)

    def extract(self, source: SourceConfig, response: Response) -> Extraction:
        try:
            answer = json.loads(response.text)
        except ValueError:
            return Extraction(outcome=Outcome.PARSE_ERROR, error="the answer is not JSON")
        if not isinstance(answer, dict) or not isinstance(answer.get("results", []), list):
            return Extraction(outcome=Outcome.PARSE_ERROR, error="not a Federal Register search answer")
        if "results" not in answer and not isinstance(answer.get("count"), int):
            return Extraction(outcome=Outcome.PARSE_ERROR, error="no `results` and no `count`: not a search answer")
        pattern = checks.pattern(source.options.match) if source.options.match else None
        documents = [d for d in answer.get("results", []) if isinstance(d, dict) and d.get("document_number")]
        # Public-inspection documents leave that list when they are published: not a withdrawal.
        transient = _is_public_inspection(source.url or DOCUMENTS_URL)
        items = [document_item(d, transient) for d in documents]
        if pattern:
            items = [i for i in items if pattern.search(i.title)]
        # A filed document that is not yet published changes no status; once published, the
        # documents.json sources see it and write the assertion (which then stays).
        return Extraction(items=items, assertions=None if transient else scheduling_assertions(items))


def search_url(endpoint: str, term: str) -> str:
    """The search URL: newest first, one page of 100, and (for documents.json) only the fields used."""
    params: list[tuple[str, str]] = [("conditions[term]", term), ("per_page", str(PER_PAGE))]
    if not _is_public_inspection(endpoint):
        params.append(("order", "newest"))
        params += [("fields[]", name) for name in DOCUMENT_FIELDS]
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)


def _is_public_inspection(endpoint: str) -> bool:
    return urlsplit(endpoint).path.rstrip("/").endswith("public-inspection-documents.json")


def _text(value: Any) -> str:
    """Plain text: FR entities ([uuml]) and HTML entities decoded, whitespace folded."""
    if not isinstance(value, str):
        return ""
    value = _FR_ENTITY.sub(lambda m: html.unescape(f"&{m.group(1)};"), value)
    return " ".join(html.unescape(value).split())


def _dockets(document: dict[str, Any]) -> list[str]:
    raw = document.get("docket_ids") or document.get("docket_numbers") or []
    if isinstance(raw, str):
        raw = [raw]
    return [re.sub(r"(?i)^docket\s+(no\.?\s*)?", "", _text(d)) for d in raw if isinstance(d, str) and d.strip()]


def _agencies(document: dict[str, Any]) -> list[str]:
    names = []
    for agency in document.get("agencies") or []:
        name = _text(agency.get("name") or agency.get("raw_name")) if isinstance(agency, dict) else _text(agency)
        if name:
            names.append(name)
    return names


def document_item(document: dict[str, Any], transient: bool = False) -> Item:
    summary = _text(document.get("abstract"))
    if len(summary) > MAX_SUMMARY:
        summary = summary[: MAX_SUMMARY - 1] + "…"
    number = _text(document.get("document_number"))
    url = _text(document.get("html_url")) or f"https://www.federalregister.gov/d/{number}"
    data = {
        "document_number": number,
        "type": _text(document.get("type")),
        "publication_date": _text(document.get("publication_date")) or None,
        "effective_on": _text(document.get("effective_on")) or None,
        "docket_ids": _dockets(document),
        "agencies": _agencies(document),
        "citation": _text(document.get("citation")) or None,
        "jurisdiction": "US",
    }
    if document.get("filed_at"):
        data["filed_at"] = _text(document.get("filed_at"))
    if transient:
        data["_leaves_quietly"] = True
    return Item(key=number, title=_text(document.get("title")) or f"FR Doc. {number}", url=url, summary=summary,
                published=data["publication_date"] or "", data=data)


# -- scheduling documents to assertions ------------------------------------------------------------------


@dataclass(frozen=True)
class SchedulingAction:
    docket: str
    kind: str  # proposal | order | withdrawal
    substances: tuple[str, ...]
    item: Item

    @property
    def order_key(self) -> tuple[str, int]:
        rank = {"proposal": 0, "order": 1, "withdrawal": 2}[self.kind]
        return (self.item.published or "", rank)


def substances_named(title: str) -> tuple[str, ...]:
    """Which of our substances a title schedules; pseudoindoxyl and MGM analogues are neither."""
    cleaned = _PSEUDOINDOXYL.sub(" ", title)
    found = []
    if _LEAF.search(cleaned):
        found.append("leaf")
    if _SEVEN_OH.search(cleaned):
        found.append("7-OH")
    return tuple(found)


def classify(item: Item) -> SchedulingAction | None:
    title = item.title
    if not _SCHEDULING.search(title) and not _WITHDRAWAL.search(title):
        return None
    substances = substances_named(title)
    if not substances:
        return None
    doc_type = str(item.data.get("type") or "").lower()
    if _WITHDRAWAL.search(title):
        kind = "withdrawal"
    elif doc_type == "rule" and item.data.get("effective_on"):
        kind = "order"
    elif doc_type == "proposed rule":
        kind = "proposal"
    else:
        return None  # a Notice (e.g. an HHS request for information) or a rule without a date changes no status
    dockets = item.data.get("docket_ids") or []
    docket = _docket_family(dockets[0]) if dockets else "+".join(substances)
    return SchedulingAction(docket, kind, substances, item)


def _docket_family(docket: str) -> str:
    """DEA-442W (the withdrawal) belongs to DEA-442 (the notice it withdraws)."""
    return re.sub(r"(?<=\d)W$", "", docket.strip().upper())


def scheduling_assertions(items: list[Item]) -> list[Assertion]:
    """The status each scheduling docket gives now: its newest document speaks for it."""
    latest: dict[str, SchedulingAction] = {}
    for action in filter(None, (classify(i) for i in items)):
        current = latest.get(action.docket)
        if current is None or action.order_key > current.order_key:
            latest[action.docket] = action
    assertions: list[Assertion] = []
    for action in latest.values():
        if action.kind != "withdrawal":
            assertions.extend(_assertion(action, substance) for substance in action.substances)
    spoken_for = {a.substance for a in assertions}
    for action in latest.values():
        if action.kind == "withdrawal":
            assertions.extend(_withdrawal_assertion(action, substance) for substance in action.substances
                              if substance not in spoken_for)
    return assertions


def _withdrawal_assertion(action: SchedulingAction, substance: str) -> Assertion:
    """The withdrawal on file for a substance nothing else in FR speaks of: `unknown` (FR says nothing of
    it now, as before the proposal) from the withdrawal's date, so the status event that retires the
    proposal cites the withdrawal and the status reads what the other sources say."""
    item = action.item
    number = item.data.get("document_number") or item.key
    docket = (item.data.get("docket_ids") or [action.docket])[0]  # its own: DEA-442W, not DEA-442
    quote = item.title + (f". {item.summary}" if item.summary else "")
    return Assertion(jurisdiction="US", substance=substance, status="unknown",
                     effective_date=item.data.get("publication_date") or None, evidence_url=item.url,
                     quote=quote[:MAX_SUMMARY], evidence_kind="primary",
                     detail=f"proposal withdrawn (FR {number}, docket {docket}); not scheduled by it")


def _assertion(action: SchedulingAction, substance: str) -> Assertion:
    item = action.item
    number = item.data.get("document_number") or item.key
    threshold = " above a threshold" if _THRESHOLD.search(item.title) else ""
    if action.kind == "order":
        status, effective = "banned", item.data.get("effective_on")
        detail = f"Schedule I order{threshold} (FR {number}, docket {action.docket})"
    else:
        status, effective = "pending", item.data.get("publication_date")
        detail = f"notice of intent / proposed rule{threshold} (FR {number}, docket {action.docket})"
    quote = item.title + (f". {item.summary}" if item.summary else "")
    return Assertion(jurisdiction="US", substance=substance, status=status, effective_date=effective or None,
                     evidence_url=item.url, quote=quote[:MAX_SUMMARY], detail=detail, evidence_kind="primary")
