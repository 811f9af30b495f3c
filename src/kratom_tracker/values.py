"""Values that cross module boundaries: what fetch hands to extract, what extract hands to detect,
what detect hands to store. Plain frozen dataclasses so every stage can be tested on its own."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any

from kratom_tracker.charset import decode_text, normalize_text
from kratom_tracker.vocab import Act, Outcome, Status, Substance


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


# -- the terms of a law: conditions, instrument, dates ------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """A number above which a ban or cap applies: `2`, `%`, `of total alkaloids`."""

    value: float
    unit: str  # a ThresholdUnit
    basis: str = ""

    def text(self) -> str:
        number = f"{self.value:g}"
        return " ".join(part for part in (number, self.unit, self.basis) if part)

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "basis": self.basis}


@dataclass(frozen=True)
class Conditions:
    """What a machine can compare and a person can read: the age limit, the thresholds above which the
    substance is banned, the acts the law prohibits. Empty for a plain "legal" or "banned"."""

    min_age: int | None = None
    thresholds: tuple[Threshold, ...] = ()
    prohibited: tuple[str, ...] = ()  # Act values, in the order the law lists them

    def merged(self, other: Conditions) -> Conditions:
        """Two laws in force together: the higher age, every threshold and every prohibited act."""
        ages = [a for a in (self.min_age, other.min_age) if a is not None]
        return Conditions(min_age=max(ages) if ages else None,
                          thresholds=tuple(dict.fromkeys(self.thresholds + other.thresholds)),
                          prohibited=tuple(dict.fromkeys(self.prohibited + other.prohibited)))

    def text(self, substance: str, status: str) -> str:
        """`21+; 7-OH above 2 % of total alkaloids banned` (empty when there is nothing to say)."""
        parts = [f"{self.min_age}+"] if self.min_age else []
        subject = "products" if substance in (Substance.LEAF, Substance.ALL) else substance
        parts += [f"{subject} above {t.text()} banned" for t in self.thresholds]
        acts = [a for a in self.prohibited if not (a == Act.SALE_TO_MINORS and self.min_age)]
        if acts == [Act.SALE_TO_MINORS]:
            parts.append("no sale to minors")
        elif acts and status == Status.BANNED and not self.thresholds:
            parts.append(", ".join(a.replace("-", " ") for a in acts) + " prohibited")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"min_age": self.min_age, "thresholds": [t.as_dict() for t in self.thresholds],
                "prohibited": list(self.prohibited)}


class LawTerms:
    """The terms Assertion and StoredAssertion share beyond the claim itself (their fields of the same
    names): when the law applies, what it is, and its conditions."""

    status: str
    substance: str
    effective_date: str | None
    expiry_date: str | None
    threshold_value: float | None
    threshold_unit: str
    threshold_basis: str
    min_age: int | None
    prohibited: tuple[str, ...]

    @property
    def conditions(self) -> Conditions:
        thresholds = () if self.threshold_value is None else (
            Threshold(self.threshold_value, self.threshold_unit, self.threshold_basis),)
        return Conditions(min_age=self.min_age, thresholds=thresholds, prohibited=tuple(self.prohibited))

    def in_window(self, day: str) -> bool:
        """Effective on `day`: effective ≤ day < expiry (an undated start means since always)."""
        return (self.effective_date or "") <= day and not (self.expiry_date and self.expiry_date <= day)


def _tuple_of_text(value: Any) -> tuple[str, ...]:
    """`prohibited` as a tuple, whether it comes as a tuple, a list (from JSON) or `a|b` text (a CSV)."""
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split("|") if part.strip())
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class Assertion(LawTerms):
    """A claim about the law of one jurisdiction for one substance, with its evidence and its terms
    (status model v2: instrument and citation, expiry, stage of a pending measure, conditions)."""

    jurisdiction: str
    substance: str
    status: str
    effective_date: str | None = None
    evidence_url: str = ""
    quote: str = ""
    detail: str = ""
    evidence_kind: str = ""  # primary (government, statute) or secondary
    verified_on: str = ""  # when a person last checked the evidence
    expiry_date: str | None = None  # the first day it no longer applies (a lapse, a sunset, a repeal)
    instrument: str = ""  # an Instrument value
    citation: str = ""  # the instrument's formal citation: `Fla. Stat. 500.92`, `FR 2026-17429`
    stage: str = ""  # a Stage value, for a pending measure
    bill_id: str = ""  # bill or docket id: `SB 432 (2026)`, `DEA-1570`
    threshold_value: float | None = None
    threshold_unit: str = ""
    threshold_basis: str = ""
    min_age: int | None = None
    prohibited: tuple[str, ...] = ()
    preempts_local: bool | None = None  # None: not known

    def __post_init__(self) -> None:
        # Read back from a JSON snapshot `prohibited` is a list; a tuple keeps the value hashable.
        object.__setattr__(self, "prohibited", _tuple_of_text(self.prohibited))

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
    evidence: EvidenceDocument | None = None  # the fetched document, kept when it caused status events
    final_url: str = ""  # where the fetch ended after redirects, when that is not the source's URL
    settings_sha: str | None = None  # the settings the snapshot was read with (kept with it)

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
    evidence_sha256: str | None = None  # the fetched document kept for a status event (`evidence` command)

    @classmethod
    def from_row(cls, row: tuple) -> Event:
        """From the columns of `events` in declaration order, `data` as stored JSON text."""
        event_id, kind, source_id, jurisdiction, detected_at, title, summary, diff, url, data, evidence = row
        return cls(id=event_id, kind=kind, source_id=source_id, jurisdiction=jurisdiction,
                   detected_at=detected_at, title=title or "", summary=summary or "", diff=diff or "",
                   url=url or "", data=json.loads(data) if data else {}, evidence_sha256=evidence or None)

    def as_dict(self) -> dict[str, Any]:
        """The `changes --json` contract: the columns of `events`, `data` as an object."""
        return asdict(self)


EVENT_COLUMNS = tuple(f.name for f in fields(Event))


@dataclass(frozen=True)
class StoredAssertion(LawTerms):
    """A current assertion as the store keeps it: the claim, its evidence, its terms, and where it came
    from."""

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
    expiry_date: str | None = None
    instrument: str = ""
    citation: str = ""
    stage: str = ""
    bill_id: str = ""
    threshold_value: float | None = None
    threshold_unit: str = ""
    threshold_basis: str = ""
    min_age: int | None = None
    prohibited: tuple[str, ...] = ()
    preempts_local: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "prohibited", _tuple_of_text(self.prohibited))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EvidenceDocument:
    """The fetched document behind a status event, kept so the evidence survives the page changing."""

    sha256: str  # of `body`, uncompressed: the key that deduplicates it
    body: bytes
    content_type: str = ""
    url: str = ""
    first_seen: str = ""

    @classmethod
    def of(cls, body: bytes, content_type: str = "", url: str = "") -> EvidenceDocument:
        return cls(sha256=sha256_hex(body), body=body, content_type=content_type, url=url)


@dataclass(frozen=True)
class SnapshotInfo:
    """One stored version of a source's extraction, without its content (`history` lists these)."""

    id: int
    source_id: str
    hash: str
    created_at: str
    reason: str
    size: int = 0  # characters of canonical content
    events: int = 0  # events that cite this snapshot

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GcReport:
    """What `gc` removed (or would remove, on a dry run) and what it kept because something needs it."""

    fetches_deleted: int = 0
    snapshots_deleted: int = 0
    snapshots_kept_in_use: int = 0  # old enough to go, but an event, an assertion or a source points at it
    dry_run: bool = False

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
class WatchedArticle:
    """A watched article's last reading: its text's SHA-256, the claim fingerprints of its last versions
    (newest first; a claim found in none of them is one the latest edit brought), when it was last read,
    when its text last changed, and why the last reading failed (None when it did not)."""

    id: str
    location: str
    title: str | None = None
    sha256: str | None = None
    claims: tuple[tuple[str, ...], ...] = ()
    checked_at: str | None = None
    changed_at: str | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    title: str
    body: str
