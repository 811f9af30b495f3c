"""Values that cross module boundaries: what fetch hands to extract, what extract hands to detect,
what detect hands to store. Plain frozen dataclasses so every stage can be tested on its own."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any

from kratom_tracker.charset import decode_text, normalize_text
from kratom_tracker.vocab import Outcome


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Response:
    """One HTTP answer (or the reason there was none). `body` is already decompressed and capped."""

    url: str
    outcome: Outcome | None = None  # set when the fetch itself failed (timeout, http-error, ...)
    status: int = 0
    final_url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""
    elapsed_ms: int = 0
    # A 200 with neither Content-Length nor chunked framing: its end was the connection closing, which
    # a cut connection looks just like. A change it shows is confirmed by a later fetch first.
    unframed: bool = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @cached_property
    def text(self) -> str:
        """The body decoded with the charset from the header, then the document, then detection."""
        return decode_text(self.body, self.headers.get("content-type", ""))


@dataclass(frozen=True)
class Item:
    """One entry of a feed or an API answer, keyed by a stable identity."""

    key: str
    title: str
    url: str = ""
    summary: str = ""
    published: str = ""  # ISO date or datetime, when the source gives one
    data: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        return sha256_hex(json.dumps([self.title, self.url, self.summary, self.data], sort_keys=True))


@dataclass(frozen=True)
class Assertion:
    """A claim about the law of one jurisdiction for one substance, with its evidence."""

    jurisdiction: str
    substance: str
    status: str
    effective_date: str | None = None
    evidence_url: str = ""
    quote: str = ""
    detail: str = ""
    evidence_kind: str = ""  # primary (government, statute) or secondary
    verified_on: str = ""  # when a person last checked the evidence

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Extraction:
    """What an extractor found in one document. A page gives `lines`; a feed or API gives `items`;
    a status table, the baseline or a scheduling order gives `assertions`. Any mix is allowed."""

    lines: list[str] | None = None
    items: list[Item] | None = None
    assertions: list[Assertion] | None = None
    outcome: Outcome | None = None  # an extractor may refuse a document: EMPTY, SELECTOR_MISSING, PARSE_ERROR
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    # Context added to the events this extraction causes (e.g. a wiki revision id). Not part of the
    # snapshot, so it can never make a change on its own.
    event_data: dict[str, Any] = field(default_factory=dict)

    def canonical(self) -> str:
        """Stable text form: stored as the snapshot and hashed to tell content apart."""
        doc: dict[str, Any] = {}
        if self.lines is not None:
            doc["lines"] = self.lines
        if self.items is not None:
            doc["items"] = [asdict(i) for i in self.items]
        if self.assertions is not None:
            doc["assertions"] = sorted((a.as_dict() for a in self.assertions), key=_assertion_sort_key)
        return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @staticmethod
    def from_canonical(text: str) -> Extraction:
        doc = json.loads(text)
        return Extraction(
            lines=doc.get("lines"),
            items=[Item(**i) for i in doc["items"]] if "items" in doc else None,
            assertions=[Assertion(**a) for a in doc["assertions"]] if "assertions" in doc else None,
        )


def normalized(extraction: Extraction) -> Extraction:
    """The extraction with its text normalised for comparison (`charset.normalize_text`): lines, item
    titles and summaries, assertion quotes. Lines left empty are dropped. Applied to what an extractor
    returns and to the stored snapshot it is compared with (older snapshots were stored as they came)."""
    if extraction.outcome is not None:
        return extraction
    lines = None
    if extraction.lines is not None:
        lines = [text for line in extraction.lines if (text := normalize_text(line))]
    items = None
    if extraction.items is not None:
        items = [Item(key=i.key.strip(), title=normalize_text(i.title), url=i.url.strip(),
                      summary=normalize_text(i.summary), published=i.published, data=i.data)
                 for i in extraction.items]
    assertions = None
    if extraction.assertions is not None:
        assertions = [Assertion(**{**a.as_dict(), "quote": normalize_text(a.quote)}) for a in extraction.assertions]
    return Extraction(lines=lines, items=items, assertions=assertions, warnings=extraction.warnings,
                      event_data=extraction.event_data)


def _assertion_sort_key(a: dict[str, Any]) -> tuple:
    return (a["jurisdiction"], a["substance"], a["evidence_url"], a["effective_date"] or "", a["status"])


@dataclass(frozen=True)
class EventDraft:
    """A change detect found, before the store gives it an id."""

    kind: str
    jurisdiction: str
    title: str
    summary: str = ""
    diff: str = ""
    url: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class SourceResult:
    """Everything one run of one source produced; the store writes it in one transaction."""

    source_id: str
    outcome: Outcome
    started_at: str
    duration_ms: int = 0
    http_status: int = 0
    error: str = ""
    bytes: int = 0
    snapshot: str | None = None  # canonical extraction text, when there is a new one to keep
    snapshot_hash: str | None = None
    body_hash: str | None = None  # hash of the raw body and extraction settings, to skip unchanged bodies
    etag: str | None = None
    last_modified: str | None = None
    events: list[EventDraft] = field(default_factory=list)
    assertions: list[Assertion] | None = None  # the source's full current set, when it asserts
    warnings: list[str] = field(default_factory=list)
    final_url: str = ""  # where the fetch ended after redirects, when that is not the source's URL

    @property
    def failed(self) -> bool:
        return Outcome(self.outcome).failed


# -- what the store gives back (reads cross boundaries typed, like writes) ------------------------------


@dataclass(frozen=True)
class Event:
    """One stored change: a row of `events` (the diff feed is the list of these)."""

    id: int
    kind: str
    source_id: str
    jurisdiction: str
    detected_at: str
    title: str
    summary: str = ""
    diff: str = ""
    url: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: tuple) -> Event:
        """From the columns of `events` in declaration order, `data` as stored JSON text."""
        event_id, kind, source_id, jurisdiction, detected_at, title, summary, diff, url, data = row
        return cls(id=event_id, kind=kind, source_id=source_id, jurisdiction=jurisdiction,
                   detected_at=detected_at, title=title or "", summary=summary or "", diff=diff or "",
                   url=url or "", data=json.loads(data) if data else {})

    def as_dict(self) -> dict[str, Any]:
        """The `changes --json` contract: the columns of `events`, `data` as an object."""
        return asdict(self)


EVENT_COLUMNS = tuple(f.name for f in fields(Event))


@dataclass(frozen=True)
class StoredAssertion:
    """A current assertion as the store keeps it: the claim, its evidence, and where it came from."""

    jurisdiction: str
    substance: str
    status: str
    detail: str = ""
    effective_date: str | None = None
    source_id: str = ""
    evidence_url: str = ""
    quote: str = ""
    observed_at: str = ""
    evidence_kind: str = ""
    verified_on: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SourceHealth:
    """What the store knows of one source's runs (the health view joins it with the configuration)."""

    id: str
    type: str
    name: str
    url: str | None
    jurisdiction: str
    last_fetch_at: str | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    last_http_status: int | None = None
    last_success_at: str | None = None
    last_change_at: str | None = None
    consecutive_failures: int = 0


@dataclass(frozen=True)
class FailureState:
    """A source's failure streak and whether its `source-failing` notice was sent."""

    consecutive_failures: int
    failing_notified: bool
    last_outcome: str | None
    last_error: str | None


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    title: str
    body: str
