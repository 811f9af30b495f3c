"""The scheduler daemon: every enabled source runs on its own interval, unattended, until stopped.

APScheduler (3.x) drives one interval job per source with jitter, `max_instances=1` and coalescing, so a
slow source never piles up runs and never holds the others back (a thread pool runs the jobs). A job is
the same unit `collect` uses: `pipeline.fetch_and_extract` (no database) and then `pipeline.commit` (one
transaction). One `Fetcher` serves every job, so the per-host limits hold for the daemon as a whole.

Runs that write events wake a coalescing publisher: feeds are republished and notifications sent at most
once per `scheduler.publish_delay`. A source failing `failure_threshold` times in a row raises one
`source-failing` notice and one `source-recovered` notice when it works again (the `failing_notified`
column of `sources` remembers which was sent, across restarts).

Operations: one scheduler per database (an flock on `<db>.lock`), SIGHUP reloads sources.yaml (a bad
file is refused and the old configuration keeps running), SIGTERM/SIGINT let in-flight runs finish their
transaction, publish what is pending and exit 0. One log line per run goes to stderr."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from kratom_tracker import timefmt
from kratom_tracker.config.model import DEFAULT_JITTER, Config, SourceConfig
from kratom_tracker.engine.aftermath import Aftermath
from kratom_tracker.engine.pipeline import Fetched, commit_isolated, failed_fetch, fetch_and_extract
from kratom_tracker.fetch.client import Fetcher
from kratom_tracker.notify import digests_due
from kratom_tracker.store import SourceState, Store, StoreError
from kratom_tracker.vocab import Outcome

log = logging.getLogger("kratom_tracker.scheduler")
STOP_GRACE = 5.0  # seconds a stop lets runs in flight finish before their fetches are cut

STARTUP_SPREAD = 60.0  # at most this many seconds to start every source that is due at start...
STARTUP_SPACING = 0.5  # ...and about this much between two of them, so a few sources start at once
RETRY_NOTIFY_EVERY = 300.0  # seconds between retries of notifications a notifier refused
RETRY_JOB_ID = "~retry-notifications"  # cannot clash with a source id ([a-z0-9-]+)
CALENDAR_JOB_ID = "~calendar"
# The calendar tick acts once a day (it keeps the last day it handled), but is checked hourly: a machine
# asleep or a daemon stopped at midnight still hears of the new day within the hour.
CALENDAR_CHECK_EVERY = 3600.0
# Watched articles are read by the publisher thread; this tick only asks whether one is due (its own
# `interval`, 12 h by default), so an article's edit is noticed within its interval plus this.
ARTICLES_JOB_ID = "~articles"
ARTICLES_CHECK_EVERY = 600.0


# -- when each source runs --------------------------------------------------------------------------


class SteadyIntervalTrigger(IntervalTrigger):
    """An interval trigger whose jitter does not accumulate.

    APScheduler 3's IntervalTrigger adds the interval to the previous *jittered* fire time, so every
    run drifts later by half the jitter on average. Here runs stay on the grid start + k × interval and
    each one is jittered on its own. The first run is `start_date` itself (planned by first_run_times)."""

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        if previous_fire_time is None:
            # The planned first run, even if the scheduler started a moment after it (the base class
            # would skip to the next interval, an hour or a day later).
            return self.start_date
        elapsed = (previous_fire_time - self.start_date).total_seconds()
        slot = math.floor(elapsed / self.interval_length) + 1
        next_fire_time = self.start_date + timedelta(seconds=slot * self.interval_length)
        if next_fire_time <= previous_fire_time:  # float rounding put a grid time just below itself
            next_fire_time += self.interval
        if self.jitter:
            next_fire_time = self._apply_jitter(next_fire_time, self.jitter, now)
        return next_fire_time


def jitter_seconds(source: SourceConfig, config: Config) -> float:
    fraction = config.scheduler.jitter if config.scheduler.jitter is not None else DEFAULT_JITTER
    return source.interval * fraction


def first_run_times(sources: list[SourceConfig], states: dict[str, SourceState],
                    now: datetime) -> dict[str, datetime]:
    """When each source should first run after a (re)start, from what the store last recorded.

    A source fetched recently waits out the rest of its interval, so a restart does not refetch
    everything at once; a source never fetched, or overdue, runs soon, the due ones spread evenly over
    at most STARTUP_SPREAD seconds (never more than their own interval)."""
    planned: dict[str, datetime] = {}
    due: list[SourceConfig] = []
    for source in sources:
        last = timefmt.parse_timestamp(states.get(source.id, SourceState()).last_fetch_at)
        if last is not None and last > now:
            last = None  # recorded in the future (the clock was set back since): due now, not in a year
        next_at = last + timedelta(seconds=source.interval) if last else None
        if next_at is None or next_at <= now:
            due.append(source)
        else:
            planned[source.id] = next_at
    for position, source in enumerate(due):
        spread = min(STARTUP_SPREAD, source.interval, STARTUP_SPACING * len(due))
        planned[source.id] = now + timedelta(seconds=spread * position / max(len(due), 1))
    return planned


# -- publishing after changes, coalesced ------------------------------------------------------------


class CoalescingPublisher:
    """Republishes the feeds and sends pending notifications at most once per `delay` seconds.

    `request()` is cheap and may be called by any job; the first request opens a window and every
    request inside it is served by the one publish at its end. It runs in its own thread with its own
    database connection, so a slow notifier never blocks a job's transaction."""

    def __init__(self, publish: Callable[[], None], delay: Callable[[], float]):
        self._publish = publish
        self._delay = delay
        self._cond = threading.Condition()
        self._due_at: float | None = None
        self._stopping = False
        self.publishes = 0
        self._thread = threading.Thread(target=self._loop, name="publisher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request(self) -> None:
        with self._cond:
            if self._due_at is None:
                self._due_at = time.monotonic() + self._delay()
                self._cond.notify()

    def stop(self) -> None:
        """Publish what is pending now, then end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (self._due_at is None or self._due_at > time.monotonic()):
                    self._cond.wait(None if self._due_at is None else self._due_at - time.monotonic())
                pending, self._due_at = self._due_at is not None, None
                stopping = self._stopping
            if pending:
                self._run_once()
            if stopping:
                return

    def _run_once(self) -> None:
        try:
            self._publish()
            self.publishes += 1
        except Exception:  # a broken feed folder or notifier must never stop the daemon
            log.exception("publishing after changes failed; will try again after the next change")


# -- the daemon --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """What one scheduled run did (kept for tests and for the log line)."""

    source_id: str
    outcome: str
    duration_ms: int
    events: int
    error: str = ""


class Daemon:
    """The scheduler without the process concerns (signals, lock, logging), so tests can drive it."""

    def __init__(self, config: Config, db: Path, feeds_dir: Path | None, embeds_dir: Path | None = None):
        self.config = config
        self.db = Path(db)
        self.feeds_dir = feeds_dir
        self.embeds_dir = embeds_dir
        self.store = Store(self.db)
        self._store_lock = threading.Lock()  # one connection shared by the job threads: one user at a time
        self.fetcher = Fetcher.from_config(config)
        # Fetchers replaced by a reload: runs in flight may still hold one, so they are closed at stop,
        # not at the swap (closing at the swap would cut those runs; never closing leaked their pools).
        self._retired: list[Fetcher] = []
        self._extract_gate = threading.Lock()  # see pipeline.fetch_and_extract
        self.aftermath = Aftermath(lambda: self.config, only_due_articles=True)
        self.publisher = CoalescingPublisher(self._publish, lambda: self.config.scheduler.publish_delay)
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=config.fetch.workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self._stopping = threading.Event()
        self.failure: str | None = None  # why the daemon must stop (its database is gone), if it must
        self._hosts_lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()  # runs in flight per host (`host_slots`)

    # lifecycle

    def start(self) -> None:
        sources = self._enabled(self.config)
        with self._store_lock:
            states = self.store.source_states()
            has_events = self.store.has_events()
        planned = first_run_times(sources, states, datetime.now(UTC))
        for source in sources:
            self._add_job(source, planned[source.id])
        self.scheduler.add_job(self._retry_pending_notifications, "interval", seconds=RETRY_NOTIFY_EVERY,
                               id=RETRY_JOB_ID)
        self.scheduler.add_job(self.calendar_tick, "interval", seconds=CALENDAR_CHECK_EVERY, id=CALENDAR_JOB_ID,
                               next_run_time=datetime.now(UTC))  # and once at start: catch up missed days
        self.scheduler.add_job(self._articles_tick, "interval", seconds=ARTICLES_CHECK_EVERY, id=ARTICLES_JOB_ID,
                               next_run_time=datetime.now(UTC))
        self.publisher.start()
        if has_events and self.feeds_dir is not None and not (self.feeds_dir / "all.atom").exists():
            self.publisher.request()  # feeds missing (first start, or a crash before publishing)
        self.scheduler.start()
        log.info("scheduler started: %d sources, database %s", len(sources), self.db)

    def stop(self) -> None:
        """Let running jobs finish their transaction, publish what is pending, close everything. Fetches
        in flight are cut at once (a hung host would otherwise hold the stop for its whole timeout);
        a run cut this way writes nothing and runs again after the restart."""
        self._stopping.set()
        cut = threading.Timer(STOP_GRACE, self._abort_fetches)
        cut.daemon = True
        cut.start()
        try:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)
        finally:
            cut.cancel()
        self.publisher.stop()
        for fetcher in [*self._retired, self.fetcher]:
            fetcher.close()
        self._retired.clear()
        with self._store_lock:
            self.store.close()
        log.info("scheduler stopped")

    def _abort_fetches(self) -> None:
        log.info("stop: cutting the fetches still in flight after %gs", STOP_GRACE)
        for fetcher in [*self._retired, self.fetcher]:
            fetcher.abort_in_flight()

    # configuration

    @staticmethod
    def _enabled(config: Config) -> list[SourceConfig]:
        return [s for s in config.sources if s.enabled]

    def reload(self, new_config: Config) -> None:
        """Apply an already validated configuration: add, drop and reschedule jobs as needed."""
        old_config = self.config
        old = {s.id: s for s in self._enabled(old_config)}
        new = {s.id: s for s in self._enabled(new_config)}
        if (new_config.politeness, new_config.user_agent, new_config.fetch) != (
                old_config.politeness, old_config.user_agent, old_config.fetch):
            # Runs in flight keep the fetcher they hold; new runs use the new limits (the per-host gates
            # start afresh, so for the length of one fetch both sets of limits apply).
            self._retired.append(self.fetcher)
            self.fetcher = Fetcher.from_config(new_config)
        self.config = new_config
        for source_id in old.keys() - new.keys():
            self.scheduler.remove_job(source_id)
        added = [new[i] for i in new.keys() - old.keys()]
        # A new interval (or jitter) restarts the source's timing from its last fetch, as after a restart.
        retimed = [new[i] for i in new.keys() & old.keys()
                   if (old[i].interval, jitter_seconds(old[i], old_config)) != (new[i].interval,
                                                                                jitter_seconds(new[i], new_config))]
        if added or retimed:
            with self._store_lock:
                states = self.store.source_states()
            planned = first_run_times(added + retimed, states, datetime.now(UTC))
            for source in added + retimed:
                self._add_job(source, planned[source.id])  # replaces the job of a retimed source
        log.info("configuration reloaded: %d sources (%d added, %d removed, %d retimed)", len(new), len(added),
                 len(old.keys() - new.keys()), len(retimed))

    def _trigger(self, source: SourceConfig, start: datetime) -> SteadyIntervalTrigger:
        return SteadyIntervalTrigger(seconds=source.interval, start_date=start,
                                     jitter=jitter_seconds(source, self.config) or None, timezone=UTC)

    def _add_job(self, source: SourceConfig, first_run: datetime) -> None:
        self.scheduler.add_job(self.run_once, trigger=self._trigger(source, first_run), args=[source.id],
                               id=source.id, name=source.id, replace_existing=True)

    # one run of one source

    def host_slots(self) -> int:
        """Runs one host may have in flight in this daemon: its politeness concurrency, and never so many
        that a few hung hosts hold every worker (two hung hosts once starved every other source)."""
        return max(1, min(self.config.politeness.per_host_concurrency, self.config.fetch.workers // 4))

    def run_once(self, source_id: str) -> RunRecord | None:
        if self._stopping.is_set():
            return None
        try:
            source = self.config.source(source_id)
        except KeyError:  # removed by a reload after this run was queued
            return None
        host = urlsplit(source.url or "").netloc
        with self._hosts_lock:
            if host and self._in_flight[host] >= self.host_slots():
                log.info("run source=%s skipped: %d runs already in flight on %s", source_id,
                         self._in_flight[host], host)
                return None  # its next run comes at its next interval, as a coalesced run would
            self._in_flight[host] += 1
        try:
            return self._run(source)
        finally:
            with self._hosts_lock:
                self._in_flight[host] -= 1

    def _run(self, source: SourceConfig) -> RunRecord | None:
        source_id = source.id
        fetcher = self.fetcher
        with self._store_lock:
            state = self.store.source_states().get(source_id, SourceState())
        try:
            fetched = fetch_and_extract(source, state, fetcher, self._extract_gate)
        except Exception as exc:  # an extractor bug must not kill the job; record it as a failed fetch
            log.exception("run %s: unexpected error", source_id)
            fetched = _failed_fetch(source, exc)
        if self._stopping.is_set() and fetched.outcome in (Outcome.TIMEOUT, Outcome.CONNECTION_ERROR):
            return None  # cut by the stop, not by the source: nothing to record, it runs after a restart
        with self._store_lock:
            if self.failure is not None:
                return None
            try:
                self.store.check_present()
            except StoreError as exc:  # deleted or replaced under us: writing on would lose every event
                self.failure = str(exc)
                log.error("%s; stopping", exc)
                return None
            # The commit always completes, even when a stop was requested meanwhile: the transaction is
            # short and leaves the source consistent.
            noted: list[object] = []
            result, event_ids = commit_isolated(
                self.store, fetched, state,
                lambda store, src, res, ids: noted.append(self.aftermath.after_commit(store, src, res, ids)))
            noteworthy = bool(noted and noted[0])
        record = RunRecord(source_id, result.outcome, result.duration_ms, len(event_ids), result.error)
        log.info("run source=%s outcome=%s duration=%dms events=%d%s", record.source_id, record.outcome,
                 record.duration_ms, record.events, f" error={record.error!r}" if record.error else "")
        if noteworthy:
            self.publisher.request()
        return record

    def calendar_tick(self, today: date | None = None) -> list[int]:
        """The daily tick (engine/calendar.py): status events for answers a passing date changed."""
        if self._stopping.is_set():
            return []
        with self._store_lock:
            event_ids = self.aftermath.calendar_tick(self.store, today)
        if event_ids:
            self.publisher.request()
        return event_ids

    def _articles_tick(self) -> None:
        """Ask the publisher to read the watched articles whose interval has passed (it reads them itself,
        off the writer's lock)."""
        if self._stopping.is_set() or not self.config.articles:
            return
        with self._store_lock:
            due = self.aftermath.articles_due(self.store)
        if due:
            self.publisher.request()

    def _retry_pending_notifications(self) -> None:
        """Messages a notifier refused stay in the outbox; without new changes nothing would retry them.
        The same tick sends a digest whose period is over (the publisher's pass queues it)."""
        if not self.config.notify:
            return
        with self._store_lock:
            pending = self.store.outbox_pending()
            due = any(t.digest for t in self.config.notify) and digests_due(self.config, self.store)
        if pending or due:
            self.publisher.request()

    # publishing (runs in the publisher thread, with its own connection)

    def _publish(self) -> None:
        with Store(self.db) as store:
            self.aftermath.after_pass(store, self.feeds_dir, self.embeds_dir)


def _failed_fetch(source: SourceConfig, exc: Exception) -> Fetched:
    return failed_fetch(source, exc)


# -- the process: lock, signals, logging -------------------------------------------------------------


