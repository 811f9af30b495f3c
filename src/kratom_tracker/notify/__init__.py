"""Notifications through Apprise, with an outbox so that a failing notifier never blocks collection and
never loses a message.

`enqueue_events` writes one outbox row per (target, event) that the target's region and kind filters
accept; UNIQUE(target, event_id, kind) makes that idempotent, so an event is notified once per target.
`deliver_pending` sends what is unsent and records the error of what failed; the rows stay and are
retried on the next run. Message text is plain text built by render.py, never markup.

A target's URL holds its secrets (bot tokens, keys, passwords). Only `display_name` (for a target
without `name:`) and `redact` (for error texts) let anything of it out: into logs, the outbox, the API."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kratom_tracker import regions, render
from kratom_tracker.config.model import Config, NotifyTarget
from kratom_tracker.privacy import asset, display_name, keep_apprise_logs_private, redact_url_parts
from kratom_tracker.store import Store
from kratom_tracker.timefmt import utc_now
from kratom_tracker.vocab import NoticeKind

log = logging.getLogger(__name__)

SYSTEM_KINDS = tuple(k.value for k in NoticeKind)
MAX_SENDS_PER_RUN = 200  # per target; the rest wait for the next run, so one run stays bounded
MAX_ERROR_CHARS = 500


def target_key(target: NotifyTarget) -> str:
    """How the outbox names a target: its display name plus a hash of the URL (which may hold secrets)."""
    return f"{target.name}#{_url_digest(target.url)}"


def _url_digest(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


# -- keeping the URL's secrets in -------------------------------------------------------------------------


def wants(target: NotifyTarget, kind: str, jurisdiction: str | None) -> bool:
    """Does this target subscribe to this kind of message about this jurisdiction?

    No `kinds` means every kind; no `regions` means everywhere. A region's subscription carries what
    applies there, as its feed does: the region, everything below it and the levels above it (a US-FL
    target hears of federal changes). A message with no jurisdiction (a system notice about the tracker
    itself) passes any region filter."""
    if target.kinds and kind not in target.kinds:
        return False
    if target.regions and jurisdiction is not None:
        return any(regions.covers(region, jurisdiction) or regions.covers(jurisdiction, region)
                   for region in target.regions)
    return True


def enqueue_events(config: Config, store: Store, event_ids: Iterable[int]) -> int:
    """Queue every new event for every target that wants it; returns the number of rows added."""
    if not config.notify:
        return 0
    events = store.events_by_id(event_ids)
    now = utc_now()
    added = 0
    with store.transaction():
        for event in events:
            link = f"{config.publish.base_url}/?q={event.jurisdiction}"
            title, body = render.event_title(event), render.event_text(event, link=link)
            maintainers = event.data.get("maintainers") or []  # an `article` event goes to its article's own
            for target in config.notify:
                if maintainers and target.name not in maintainers:
                    continue
                if not target.digest and wants(target, event.kind, event.jurisdiction):  # digests: digest.py
                    added += store.outbox_add(target_key(target), event.id, event.kind, title, body, now)
    return added


def enqueue_system_notice(config: Config, store: Store, kind: str, title: str, body: str,
                          jurisdiction: str | None = None) -> int:
    """Queue a notice about the tracker itself (`source-failing`, `source-recovered`) for the targets
    whose filters accept it; returns the number of rows added. The caller decides when it is due."""
    if kind not in SYSTEM_KINDS:
        raise ValueError(f"unknown notice kind {kind!r}; use {', '.join(SYSTEM_KINDS)}")
    if not config.notify:
        return 0
    title, body = render.plain_title(title), render.strip_markup(body)
    added = 0
    with store.transaction():
        for target in config.notify:
            # A digest target gets the tracker's own notices only when its `kinds` names them.
            if wants(target, kind, jurisdiction) and (not target.digest or kind in target.kinds):
                added += store.outbox_add(target_key(target), None, kind, title, body, utc_now())
    return added


def redact(text: str, target: NotifyTarget) -> str:
    """`text` without any part of the target's URL that its names do not already show."""
    return redact_url_parts(text, target.url, (target.name, display_name(target.url)))


@dataclass(frozen=True)
class SendOutcome:
    ok: bool
    error: str = ""


Sender = Callable[[NotifyTarget, str, str], SendOutcome]


def apprise_send(target: NotifyTarget, title: str, body: str) -> SendOutcome:
    """Send one plain-text message with Apprise; any failure comes back as an error text."""
    import apprise

    keep_apprise_logs_private()
    try:
        sender = apprise.Apprise(asset=asset())
        if not sender.add(target.url):
            return SendOutcome(False, "Apprise does not understand this URL")
        with apprise.LogCapture(level=logging.WARNING) as captured:
            ok = bool(sender.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT))
            messages = captured.getvalue()
    except Exception as exc:  # a notifier must never break a collect
        return SendOutcome(False, redact(f"{type(exc).__name__}: {exc}", target))
    if ok:
        return SendOutcome(True)
    # Redacted before it is cut: a token cut in half would no longer be recognised.
    text = redact(" ".join(messages.split()), target)[-MAX_ERROR_CHARS:]
    return SendOutcome(False, text or "the notifier reported a failure")


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    pending: int = 0


def deliver_pending(config: Config, store: Store, send: Sender | None = None) -> DeliveryReport:
    """Try every unsent outbox row of the configured targets, oldest first. A target that fails is not
    tried again in this run (its rows keep their place); rows of targets no longer configured stay."""
    send = send or apprise_send
    report = DeliveryReport()
    for target in config.notify:
        key = target_key(target)
        try:
            _adopt_legacy_rows(store, target, key)
            rows = store.outbox_unsent(key, MAX_SENDS_PER_RUN)
        except Exception as exc:  # e.g. a locked database: try again next run
            log.warning("notify: cannot read the outbox: %s", exc)
            return report
        for position, message in enumerate(rows):
            outcome = send(target, message.title, message.body)
            if outcome.ok:
                store.outbox_mark_sent(message.id, utc_now())
            else:
                outcome = SendOutcome(False, redact(outcome.error, target))
                store.outbox_mark_failed(message.id, outcome.error[:MAX_ERROR_CHARS])
            if outcome.ok:
                report.sent += 1
                continue
            report.failed += 1
            report.pending += len(rows) - position
            log.warning("notify: %s failed (%s); %d message(s) kept for the next run", target.name,
                        outcome.error, len(rows) - position)
            break
    return report


def _legacy_name(url: str) -> str:
    """The display name earlier versions gave a target without `name:`: the URL's host part, which for
    Telegram and others is the bot token itself."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('@')[-1].split('/')[0]}"


def _adopt_legacy_rows(store: Store, target: NotifyTarget, key: str) -> None:
    """Rename outbox rows an earlier version keyed by the leaky name, so they are still sent and the
    token leaves the database; their errors (written unredacted) go too."""
    legacy = f"{_legacy_name(target.url)}#{_url_digest(target.url)}"
    if legacy != key:
        store.outbox_rename_target(legacy, key)


def queue_digests(config: Config, store: Store, now=None) -> int:
    """Queue the digests that are due (notify/digest.py); delivered by `deliver_pending` like the rest."""
    from kratom_tracker.notify import digest

    return digest.queue_digests(config, store, target_key, now)


def digests_due(config: Config, store: Store, now=None) -> bool:
    from kratom_tracker.notify import digest

    return digest.digests_due(config, store, target_key, now)


def send_test(target: NotifyTarget, send: Sender | None = None) -> SendOutcome:
    """One test message to `target`, straight away (not through the outbox): `notify test TARGET`."""
    send = send or apprise_send
    title = "kratom-tracker test message"
    body = (f"This is a test message from kratom-tracker to the notify target {target.name!r}.\n"
            + (f"It receives a {target.digest} digest" if target.digest else "It receives one message per change")
            + (f" for {', '.join(target.regions)}." if target.regions else " for every region.")
            + "\nNothing has changed; no reply is needed.")
    outcome = send(target, title, body)
    return outcome if outcome.ok else SendOutcome(False, redact(outcome.error, target))
