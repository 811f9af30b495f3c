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
    LEAF = "leaf"
    SEVEN_OH = "7-OH"
    ALL = "all"  # an assertion about every substance

    @classmethod
    def answered(cls) -> tuple[Substance, ...]:
        """The substances a status answer has one entry for (`all` applies to each of them)."""
        return tuple(s for s in cls if s is not cls.ALL)


class Outcome(StrEnum):
    """What one run of one source came to. Only CHANGED ever produces an event; INITIAL sets a source's
    starting point; every failed outcome is recorded for operators and never reaches a subscriber."""

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

    @property
    def failed(self) -> bool:
        return self not in (Outcome.INITIAL, Outcome.CHANGED, Outcome.UNCHANGED, Outcome.NOT_MODIFIED)


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
    PRIMARY = "primary"  # government, legislature, register, court: the publisher of the rule
    SECONDARY = "secondary"  # news, NGO, vendor, encyclopedia
