"""Values that cross module boundaries: what fetch hands to extract, what extract hands to detect,
what detect hands to store. Plain frozen dataclasses so every stage can be tested on its own."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from .fetch.charset import decode_text

SUBSTANCES = ("leaf", "7-OH", "all")
STATUSES = ("legal", "regulated", "banned", "pending", "unknown")
EVENT_KINDS = ("content", "notice", "status")

# Fetch outcomes. Only CHANGED ever produces an event; INITIAL sets a source's starting point.
INITIAL = "initial"
CHANGED = "changed"
UNCHANGED = "unchanged"
NOT_MODIFIED = "not-modified"
HTTP_ERROR = "http-error"
TIMEOUT = "timeout"
CONNECTION_ERROR = "connection-error"
ROBOTS_DENIED = "robots-denied"
TOO_LARGE = "too-large"
EMPTY = "empty"
SELECTOR_MISSING = "selector-missing"
PARSE_ERROR = "parse-error"
OK_OUTCOMES = frozenset({INITIAL, CHANGED, UNCHANGED, NOT_MODIFIED})
FAILED_OUTCOMES = frozenset(
    {HTTP_ERROR, TIMEOUT, CONNECTION_ERROR, ROBOTS_DENIED, TOO_LARGE, EMPTY, SELECTOR_MISSING, PARSE_ERROR}
)


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Response:
    """One HTTP answer (or the reason there was none). `body` is already decompressed and capped."""

    url: str
    outcome: str | None = None  # set when the fetch itself failed (timeout, http-error, ...)
    status: int = 0
    final_url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""
    elapsed_ms: int = 0

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

    def key(self) -> tuple[str, str, str]:
        return (self.jurisdiction, self.substance, self.evidence_url)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Extraction:
    """What an extractor found in one document. A page gives `lines`; a feed or API gives `items`;
    a status table, the baseline or a scheduling order gives `assertions`. Any mix is allowed."""

    lines: list[str] | None = None
    items: list[Item] | None = None
    assertions: list[Assertion] | None = None
    outcome: str | None = None  # an extractor may refuse a document: EMPTY, SELECTOR_MISSING, PARSE_ERROR
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
    outcome: str
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

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES
