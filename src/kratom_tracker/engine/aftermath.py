"""What happens after a source's result is committed, and after a pass: one path for `collect` and the
daemon, so both queue notifications for new events, raise `source-failing` / `source-recovered` notices,
deliver the outbox and republish the feeds.

Before this module the daemon alone raised failure notices, so an operator running `collect` from cron
never heard that a source had broken.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from kratom_tracker.config.model import Config, SourceConfig
from kratom_tracker.engine import calendar
from kratom_tracker.engine.watch import article_events, articles_due
from kratom_tracker.notify import deliver_pending, enqueue_events, enqueue_system_notice, queue_digests
from kratom_tracker.publish import publish, publish_embeds
from kratom_tracker.store import Store
from kratom_tracker.values import SourceResult
from kratom_tracker.vocab import NoticeKind

log = logging.getLogger("kratom_tracker.engine")


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    title: str
    body: str


def failure_notice(source: SourceConfig, failed: bool, failures: int, notified: bool, threshold: int,
                   last_outcome: str | None, last_error: str | None) -> Notice | None:
    """Pure: the notice due after a run, once per change of state: `source-failing` after `threshold`
    failures in a row, `source-recovered` after the first success that follows it."""
    where = source.url or source.type
    if failed and failures >= threshold and not notified:
        detail = f"last outcome: {last_outcome}" + (f" ({last_error})" if last_error else "")
        return Notice(NoticeKind.SOURCE_FAILING, f"Source {source.id} is failing",
                      f"{source.name} ({where}) failed {failures} times in a row; {detail}.")
    if not failed and notified:
        return Notice(NoticeKind.SOURCE_RECOVERED, f"Source {source.id} recovered",
                      f"{source.name} ({where}) was fetched successfully again.")
    return None


class Aftermath:
    """`config` is read through a callable: the daemon swaps its configuration on SIGHUP.

    `after_commit` runs in the writer (inside a source's commit, so it only queues); `after_pass` runs
    after the pass (`collect`) or in the publisher thread (the daemon) and does the slow work: reading
    the watched articles, publishing, delivering. `only_due_articles`: the daemon reads an article again
    when its interval has passed or a status change touches it; `collect` reads every article each run."""

    def __init__(self, config: Callable[[], Config], only_due_articles: bool = False):
        self._config = config
        self._only_due = only_due_articles
        self._lock = threading.Lock()
        self._status_events: list[int] = []  # written since the last after_pass: their articles are read then

    def after_commit(self, store: Store, source: SourceConfig, result: SourceResult, event_ids: list[int]) -> bool:
        """Queue notifications for the new events and the failure notice due, if any. Returns whether
        something happened that readers should see (so the caller schedules `after_pass`)."""
        config = self._config()
        self.queue_events(store, event_ids)
        return bool(event_ids) or self._failure_transition(store, config, source, result.failed)

    def queue_events(self, store: Store, event_ids: list[int]) -> None:
        """Queue notifications for events already written (a run's, or the calendar tick's); remember them
        for the watched articles, read in `after_pass`."""
        config = self._config()
        if event_ids and config.articles:
            with self._lock:
                self._status_events.extend(event_ids)
        self._enqueue(config, store, event_ids)

    def _enqueue(self, config: Config, store: Store, event_ids: list[int]) -> None:
        if event_ids and config.notify:
            try:
                enqueue_events(config, store, event_ids)
            except Exception:  # the events are stored and reach the feeds; a notifier problem is logged
                log.exception("queueing notifications failed; the events are stored and in the feeds")

    def articles_due(self, store: Store) -> bool:
        """Whether `after_pass` has articles to read (a status change since, or an interval passed)."""
        config = self._config()
        with self._lock:
            pending = bool(self._status_events)
        return bool(config.articles) and (pending or articles_due(config, store, datetime.now(UTC)))

    def check_articles(self, store: Store) -> list[int]:
        """Read the watched articles due and write their `article` events (then queued for notification)."""
        config = self._config()
        with self._lock:
            pending, self._status_events = self._status_events, []
        if not config.articles:
            return []
        try:
            events = store.events_by_id(pending) if pending else []
            written = article_events(config, store, events, only_due=self._only_due)
        except Exception:  # the status events are stored; a watched article that cannot be read is logged
            log.exception("checking the watched articles failed; the status events are stored")
            return []
        if written:
            log.info("articles: %d article events", len(written))
        self._enqueue(config, store, written)
        return written

    def calendar_tick(self, store: Store, today: date | None = None) -> list[int]:
        """The daily check for answers that changed because a date passed (engine/calendar.py); its
        events are notified like any others. A failure is logged: it must not stop a pass or the daemon,
        and the next tick catches the days up."""
        try:
            event_ids = calendar.tick(store, today)
        except Exception:
            log.exception("the calendar tick failed; the next one catches up")
            return []
        if event_ids:
            log.info("calendar: %d status events for dates that passed", len(event_ids))
        self.queue_events(store, event_ids)
        return event_ids

    def _failure_transition(self, store: Store, config: Config, source: SourceConfig, failed: bool) -> bool:
        state = store.failure_state(source.id)
        if state is None:
            return False
        notice = failure_notice(source, failed, state.consecutive_failures, state.failing_notified,
                                config.scheduler.failure_threshold, state.last_outcome, state.last_error)
        if notice is None:
            return False
        log.warning("source %s: %s", source.id, notice.kind.value)
        if config.notify:
            try:
                enqueue_system_notice(config, store, notice.kind, notice.title, notice.body,
                                      jurisdiction=source.jurisdiction)
            except Exception:
                log.exception("queueing the %s notice failed", notice.kind)
        store.set_failing_notified(source.id, notice.kind is NoticeKind.SOURCE_FAILING)
        return True

    def after_pass(self, store: Store, feeds_dir: Path | None, embeds_dir: Path | None = None) -> list[int]:
        """Read the watched articles due, republish the feeds and the embeds (when a folder is given), queue
        the digests that are due and deliver the outbox. Returns the `article` events written."""
        config = self._config()
        started = time.monotonic()
        written = self.check_articles(store)
        files = len(publish(store, feeds_dir, config.publish).paths) if feeds_dir is not None else 0
        if embeds_dir is not None:
            try:
                files += len(publish_embeds(store, embeds_dir, config.publish).changed)
            except Exception:  # the feeds are out; an embed problem is logged and the next pass tries again
                log.exception("publishing the embeds failed")
        sent = ""
        if any(target.digest for target in config.notify):
            try:
                queue_digests(config, store)
            except Exception:  # a digest problem must not stop the feeds or the other messages
                log.exception("queueing the digests failed; they are tried again after the next pass")
        if config.notify:
            report = deliver_pending(config, store)
            sent = f" notifications sent={report.sent} failed={report.failed} pending={report.pending}"
        if files or sent:
            log.info("published %d feed files in %dms%s", files, (time.monotonic() - started) * 1000, sent)
        return written
