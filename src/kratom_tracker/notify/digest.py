"""Digests: for a notify target with `digest: daily` or `digest: weekly`, one message per period (a UTC day,
or an ISO week from Monday) listing every change that applies in its regions — the levels above them and
everything below them, as a region's feed — instead of one message per change. Meant for Apprise's e-mail
targets (`mailto://`, `mailtos://`); any Apprise URL works.

A period's digest is queued in the outbox once it is over (on the first `collect` or daemon tick after it),
so the outbox's retries and its UNIQUE(target, event_id, kind) make it arrive once: `event_id` holds the
period's number (20260630 for a day, 202627 for ISO week 27), `kind` says `digest-daily` or `digest-weekly`.
A target's first digest is for the period in which it was first seen, and each period is looked at once
(two `meta` rows per target: first seen, and the end of the last period done), so adding a target never
mails more than that one period of the past, and a period without changes sends nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kratom_tracker import render
from kratom_tracker.config.model import Config, NotifyTarget
from kratom_tracker.store import Store
from kratom_tracker.timefmt import format_timestamp
from kratom_tracker.values import Event

MAX_PERIODS = 7  # a tracker stopped for longer sends the last week of daily digests, not a month of them
MAX_EVENTS = 200  # per digest; the feed has the rest
DIFF_LINES = 6  # of each change, in the digest; the feed entry has all of it


@dataclass(frozen=True)
class Period:
    kind: str  # daily | weekly
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive

    @property
    def number(self) -> int:
        """20260630 for a day, 202627 for ISO week 27 of 2026: the outbox's key for this digest."""
        if self.kind == "daily":
            return int(self.start.strftime("%Y%m%d"))
        year, week, _ = self.start.isocalendar()
        return year * 100 + week

    @property
    def outbox_kind(self) -> str:
        return f"digest-{self.kind}"

    @property
    def label(self) -> str:
        """`Tuesday 30 June 2026` or `week 27 of 2026 (29 June – 5 July)`."""
        if self.kind == "daily":
            return f"{self.start:%A} {self.start.day} {self.start:%B %Y}"
        last = self.end - timedelta(days=1)
        year, week, _ = self.start.isocalendar()
        return f"week {week} of {year} ({self.start.day} {self.start:%B} – {last.day} {last:%B})"


def period_containing(kind: str, moment: datetime) -> Period:
    day = moment.astimezone(UTC).date()
    if kind == "weekly":
        day -= timedelta(days=day.weekday())
        length = timedelta(days=7)
    else:
        length = timedelta(days=1)
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    return Period(kind, start, start + length)


def periods_due(kind: str, now: datetime, since: datetime) -> list[Period]:
    """The periods that are over by `now` and began at or after `since`, oldest first (at most MAX_PERIODS)."""
    current = period_containing(kind, now)
    out: list[Period] = []
    period = period_containing(kind, current.start - timedelta(seconds=1))
    while period.start >= since and len(out) < MAX_PERIODS:
        out.append(period)
        period = period_containing(kind, period.start - timedelta(seconds=1))
    return list(reversed(out))


def _parse(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def _done_key(target_key: str) -> str:
    return f"digest-done:{target_key}"


def _now() -> datetime:
    return datetime.now(UTC)


def _start(kind: str, seen: datetime | None, done: datetime | None) -> datetime | None:
    """Where the next digest may start: the period the target was first seen in, or after the last one done."""
    if seen is None:
        return None
    first = period_containing(kind, seen).start
    return max(first, done) if done else first


def start_of_next(store: Store, kind: str, target_key: str, now: datetime) -> datetime:
    seen = _parse(store.set_meta_default(f"digest-since:{target_key}", format_timestamp(now))) or now
    return _start(kind, seen, _parse(store.meta(_done_key(target_key)))) or now


def digest_events(store: Store, target: NotifyTarget, period: Period) -> list[Event]:
    """The changes of `period` that apply in the target's regions (everywhere without `regions:`), of its
    `kinds`, newest first."""
    since, until = format_timestamp(period.start), format_timestamp(period.end)
    found: dict[int, Event] = {}
    for region in target.regions or (None,):
        for event in store.events(region=region, since=since, until=until, with_above=region is not None,
                                  limit=MAX_EVENTS):
            found.setdefault(event.id, event)
    events = sorted(found.values(), key=lambda e: -e.id)
    return [e for e in events if not target.kinds or e.kind in target.kinds][:MAX_EVENTS]


def _where(target: NotifyTarget) -> str:
    return ", ".join(render.place_words(code) for code in target.regions) if target.regions else "every region"


def digest_message(config: Config, target: NotifyTarget, period: Period, events: list[Event]) -> tuple[str, str]:
    """Title and plain-text body: one numbered block per change, then the feeds to follow."""
    count = f"{len(events)} change{'s' if len(events) != 1 else ''}"
    title = render.plain_title(f"kratom-tracker {period.kind} digest — {_where(target)}: {count}, {period.label}")
    lines = [f"{count} recorded {'on' if period.kind == 'daily' else 'in'} {period.label} (UTC) that apply in "
             f"{_where(target)}, newest first.", ""]
    for number, event in enumerate(events, 1):
        lines += [f"{number}. {render.event_title(event)}",
                  f"   detected {event.detected_at.replace('T', ' ').rstrip('Z')} UTC by {event.source_id}"]
        lines += [f"   {line}" for line in render.diff_text(event.diff, DIFF_LINES)]
        for citation in render.evidence_items(event)[:1]:
            if citation.quote:
                lines.append(f"   “{' '.join(citation.quote.split())[:300]}”")
            if citation.url:
                lines.append(f"   {citation.label}: {citation.url}")
        lines.append("")
    base = config.publish.base_url
    for code in target.regions:
        stem = code.replace("/", "_")
        lines.append(f"Feed for {render.place_words(code)}: {base}/feeds/region/{stem}.atom")
        lines.append(f"What applies there now: {base}/?q={code}")
    if not target.regions:
        lines.append(f"Feed of every change: {base}/feeds/all.atom")
    return title, render.strip_markup("\n".join(lines))


def queue_digests(config: Config, store: Store, key_of, now: datetime | None = None) -> int:
    """Queue every digest that is due and not queued yet; returns how many were queued. `key_of` names a
    target in the outbox (notify.target_key)."""
    now = now or _now()
    added = 0
    for target in config.notify:
        if not target.digest:
            continue
        key = key_of(target)
        with store.transaction():  # the message and the "done" mark land together, or neither
            for period in periods_due(target.digest, now, start_of_next(store, target.digest, key, now)):
                events = digest_events(store, target, period)
                if events:
                    title, body = digest_message(config, target, period, events)
                    added += store.outbox_add(key, period.number, period.outbox_kind, title, body,
                                              format_timestamp(now))
                store.set_meta(_done_key(key), format_timestamp(period.end))
    return added


def digests_due(config: Config, store: Store, key_of, now: datetime | None = None) -> bool:
    """Whether some target has a period over and not yet done (a cheap check for the daemon's tick)."""
    now = now or _now()
    for target in config.notify:
        if target.digest:
            key = key_of(target)
            start = _start(target.digest, _parse(store.meta(f"digest-since:{key}")),
                           _parse(store.meta(_done_key(key))))
            if start is None or periods_due(target.digest, now, start):
                return True  # never seen (the first call records it), or a period is over
    return False
