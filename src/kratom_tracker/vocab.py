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
    UNCONFIRMED = "unconfirmed"
    INTERNAL_ERROR = "internal-error"  # a bug met by this source's input: recorded, the pass goes on

    @property
    def failed(self) -> bool:
        return self not in (Outcome.INITIAL, Outcome.CHANGED, Outcome.UNCHANGED, Outcome.NOT_MODIFIED,
                            Outcome.UNCONFIRMED)


class EventKind(StrEnum):
    """The kinds of change an event records (the `events.kind` column and the feeds)."""

    CONTENT = "content"
    NOTICE = "notice"
    STATUS = "status"


class NoticeKind(StrEnum):
    """Operator notices that are not changes of the law: sent to `notify:` targets, never written as events."""

    SOURCE_FAILING = "source-failing"
    SOURCE_RECOVERED = "source-recovered"


class EvidenceKind(StrEnum):
    PRIMARY = "primary"  # government, legislature, register, court: the publisher of the rule
    SECONDARY = "secondary"  # news, NGO, vendor, encyclopedia
