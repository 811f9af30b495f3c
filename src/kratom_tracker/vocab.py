"""The project's vocabulary: every word that is stored, sent or compared, as one enum each.

A new status, outcome or event kind is one member here (plus, for a status, its badge rule in
static/style.css, which tests/test_vocab.py checks). Members are `StrEnum`s, so they compare equal to and
serialise as their plain strings: the database, the JSON contracts and the feeds are unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """The legal status of a substance in a jurisdiction, as the status model names it (DESIGN.md)."""

    UNKNOWN = "unknown"
    LEGAL = "legal"
    PENDING = "pending"
    REGULATED = "regulated"
    BANNED = "banned"

    @property
    def rank(self) -> int:
        """How restrictive: along a chain of jurisdictions the highest rank wins."""
        return _STATUS_RANK[self]

    @property
    def in_force(self) -> bool:
        """Whether the status describes law in force (a pending measure or no knowledge does not)."""
        return self in (Status.LEGAL, Status.REGULATED, Status.BANNED)

    @classmethod
    def parse(cls, text: str | None) -> Status:
        """The member for `text`; anything not a status is UNKNOWN (stored rows are never guessed up)."""
        try:
            return cls(text or "")
        except ValueError:
            return cls.UNKNOWN


_STATUS_RANK = {Status.UNKNOWN: 0, Status.LEGAL: 1, Status.PENDING: 2, Status.REGULATED: 3, Status.BANNED: 4}


class Substance(StrEnum):
    """What a law is about. The semi-synthetic alkaloids are told apart from the leaf and from 7-OH
    because the law treats them apart (the 2026 federal temporary order schedules only those three)."""

    LEAF = "leaf"  # natural kratom leaf and its products (mitragynine is the leaf's main alkaloid)
    SEVEN_OH = "7-OH"  # 7-hydroxymitragynine products
    MITRAGYNINE_PSEUDOINDOXYL = "mitragynine-pseudoindoxyl"
    MGM_15 = "MGM-15"
    MGM_16 = "MGM-16"
    ALL = "all"  # an assertion about every substance

    @classmethod
    def answered(cls) -> tuple[Substance, ...]:
        """The substances a status answer has one entry for (`all` applies to each of them)."""
        return tuple(s for s in cls if s is not cls.ALL)


class Instrument(StrEnum):
    """The kind of legal text an assertion rests on. `bill` and `proposed-rule` are not law yet; `none` is
    a row saying that no law was found (its citation is the evidence of absence)."""

    STATUTE = "statute"
    SESSION_LAW = "session-law"
    REGULATION = "regulation"
    EMERGENCY_RULE = "emergency-rule"
    EXECUTIVE_ORDER = "executive-order"
    ORDINANCE = "ordinance"
    AGENCY_ACTION = "agency-action"
    BILL = "bill"
    PROPOSED_RULE = "proposed-rule"
    NONE = "none"


class Stage(StrEnum):
    """How far a pending measure has come; only `pending` assertions have one."""

    INTRODUCED = "introduced"
    PASSED_ONE_CHAMBER = "passed-one-chamber"
    PASSED_BOTH = "passed-both"
    SIGNED = "signed"  # signed, not yet effective
    PROPOSED_RULE = "proposed-rule"
    COMMENT_PERIOD = "comment-period"


class Act(StrEnum):
    """An act a law prohibits (the `prohibited` conditions of an assertion)."""

    SALE = "sale"
    POSSESSION = "possession"
    MANUFACTURE = "manufacture"
    DISTRIBUTION = "distribution"
    SALE_TO_MINORS = "sale-to-minors"


class ThresholdUnit(StrEnum):
    """Units of a threshold above which a ban or cap applies. Values in different units are never
    compared with each other; a threshold is read with its basis ("of total alkaloids")."""

    PERCENT = "%"
    MG_PER_G = "mg/g"
    MG_PER_ML = "mg/mL"
    PPM = "ppm"
    MG = "mg"
    RATIO = "ratio"
    MICRON = "micron"


class Outcome(StrEnum):
    """What one run of one source came to. Only CHANGED ever produces an event; INITIAL sets a source's
    starting point; every failed outcome is recorded for operators and never reaches a subscriber.
    UNCONFIRMED: the document would be a change that needs a second look (most items gone at once, a
    body whose end nothing vouches for); nothing is written until a later fetch shows the same."""

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
    # Wrong-page detection (extractors/_guards.py): the document arrived but is not the one watched.
    OFF_TOPIC = "off-topic"  # the kept text no longer matches the source's `require` pattern
    NEEDS_BROWSER = "needs-browser"  # a JavaScript shell: little text, mostly scripts
    MOVED = "moved"  # a redirect landed on another path (a home page, a search page, a new URL)
    MISSING_KEY = "missing-key"  # an API source whose key's environment variable is not set (nothing fetched)
    UNCONFIRMED = "unconfirmed"
    # The source's settings (type, URL, selector, filters, or the extractor's own version) changed since
    # its last snapshot: the same page read another way would show up as a change that never happened,
    # so this document is its new starting point and no event is written.
    RECONFIGURED = "reconfigured"
    INTERNAL_ERROR = "internal-error"  # a bug met by this source's input: recorded, the pass goes on

    @property
    def failed(self) -> bool:
        return self not in (Outcome.INITIAL, Outcome.CHANGED, Outcome.UNCHANGED, Outcome.NOT_MODIFIED,
                            Outcome.UNCONFIRMED, Outcome.RECONFIGURED)


class EventKind(StrEnum):
    """The kinds of change an event records (the `events.kind` column and the feeds)."""

    CONTENT = "content"
    NOTICE = "notice"
    STATUS = "status"
    ARTICLE = "article"  # a watched article's claim no longer matches the status in force (articles/)


class ClaimKind(StrEnum):
    """What an article's sentence says about the law (articles/claims.py finds them by rule)."""

    STATUS = "status"  # "kratom is legal in Florida"
    COUNT = "count"  # "banned in six states"
    FDA = "fda"  # "not FDA-approved"
    AGE = "age"  # "you must be 21"
    VAGUE = "vague"  # "check your local laws"


class Verdict(StrEnum):
    """How a claim compares with the status in force (articles/check.py)."""

    CONSISTENT = "consistent"
    STALE = "stale"  # true once; the law changed since (the verdict says what and when)
    CONTRADICTED = "contradicted"
    VAGUE = "vague"  # too generic to be useful: the verdict suggests the regions and an embed
    UNKNOWN = "unknown"  # the tracker holds no evidence either way


class NoticeKind(StrEnum):
    """Operator notices that are not changes of the law: sent to `notify:` targets, never written as events."""

    SOURCE_FAILING = "source-failing"
    SOURCE_RECOVERED = "source-recovered"


class EvidenceKind(StrEnum):
    """How far a citation can be trusted: shown beside every citation (status, API, feeds, dashboard)."""

    PRIMARY = "primary"  # government, legislature, register, court: the publisher of the rule
    SECONDARY = "secondary"  # news, NGO, vendor, encyclopedia
