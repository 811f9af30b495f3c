"""One pass over the sources: fetch and extract in a thread pool (I/O-bound, polite per host), then
detect and store in the calling thread; a source's writes are atomic (a pass commits them in small
batches of sources, since a commit costs more than the writes of a 304).

`fetch_and_extract` then `commit` is the unit shared by `collect` and the scheduler daemon."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from kratom_tracker import extractors
from kratom_tracker.config.model import COMPARED_VERSIONS, Config, SourceConfig
from kratom_tracker.detect import cap_events, detect, mass_withdrawal
from kratom_tracker.extractors import run as extract
from kratom_tracker.fetch.client import Fetcher
from kratom_tracker.privacy import redact_values
from kratom_tracker.store import DatabaseFailure, SourceState, Store
from kratom_tracker.timefmt import utc_now
from kratom_tracker.values import EvidenceDocument, Extraction, Response, SourceResult, sha256_hex
from kratom_tracker.vocab import EventKind, Outcome

COMMIT_BATCH = 100  # sources written per transaction during a pass
COMMIT_WAIT = 0.5  # seconds a fetched result may wait for its batch


@dataclass
class Fetched:
    """What the worker thread learned about one source: the fetch outcome and, if new, the extraction."""

    source: SourceConfig
    started_at: str
    outcome: str | None
    http_status: int = 0
    error: str = ""
    bytes: int = 0
    duration_ms: int = 0
    body_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    extraction: Extraction | None = None
    # The extraction's snapshot text and its hash, made in the worker thread: the writer thread is the
    # one every source waits for.
    snapshot: str | None = None
    snapshot_hash: str | None = None
    # The fetched document of a source that asserts status, kept as the evidence of the status events it
    # may cause (a local file, such as our own baseline, is not evidence of anything: its rows cite theirs).
    document: EvidenceDocument | None = None
    unframed: bool = False  # the body's end was the connection closing (`Response.unframed`)
    final_url: str = ""  # after redirects, when other than the requested URL
    settings_sha: str | None = None  # the source's settings as read now (`Extractor.settings_sha`)


@dataclass
class PassSummary:
    results: list[SourceResult] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)

    @property
    def counts(self) -> Counter:
        return Counter(r.outcome for r in self.results)

    @property
    def failed(self) -> list[SourceResult]:
        return [r for r in self.results if r.failed]


def fetch_and_extract(source: SourceConfig, state: SourceState, fetcher: Fetcher,
                      extract_gate: threading.Lock | None = None) -> Fetched:
    """Fetch one source (or read its local document) and extract it, unless the bytes are unchanged.

    Threads that share an `extract_gate` extract one at a time: fetching waits on the network with the
    GIL released, but extraction is Python holding the GIL, and eight threads contending for it cost
    more in switches than they gain (a 1000-page first pass: 0.82 s with the gate, 0.92 s without)."""
    started_at = utc_now()
    started = time.monotonic()
    extractor = extractors.get(source.type)
    settings = extractor.settings_sha(source)
    response = extractor.local_document(source)
    fetched_remotely = response is None
    if response is None:
        # Validators only while the settings are those of the kept snapshot: after a change of selector a
        # 304 would leave the old reading in place, and the next real change would be taken for the switch.
        conditional = state.snapshot_id is not None and state.settings_sha == settings
        response = fetcher.fetch(extractor.request_url(source), timeout=source.timeout, max_bytes=source.max_bytes,
                                 etag=state.etag if conditional else None,
                                 last_modified=state.last_modified if conditional else None,
                                 headers=extractor.request_headers(source))
    secrets = extractor.secrets(source)
    fetched = Fetched(source=source, started_at=started_at, outcome=response.outcome, http_status=response.status,
                      error=redact_values(response.error, secrets), bytes=len(response.body),
                      final_url=response.final_url if response.final_url not in ("", response.url) else "",
                      settings_sha=settings)
    if response.outcome is None:
        fetched.unframed = response.unframed
        fetched.etag = response.headers.get("etag")
        fetched.last_modified = response.headers.get("last-modified")
        fetched.body_hash = sha256_hex(response.body + b"\0" + settings.encode())
        if fetched.body_hash == state.body_hash and state.snapshot_id is not None:
            fetched.outcome = Outcome.UNCHANGED  # byte-identical: no parse, no diff, no write
        else:
            with extract_gate or contextlib.nullcontext():
                _extract_into(fetched, response)
            fetched.error = redact_values(fetched.error, secrets)
            if fetched_remotely and fetched.extraction is not None and fetched.extraction.assertions is not None:
                # The whole Content-Type header: its charset is how the kept bytes are to be read.
                fetched.document = EvidenceDocument.of(response.body, response.headers.get("content-type", ""),
                                                       response.final_url or response.url)
    fetched.duration_ms = int((time.monotonic() - started) * 1000)
    return fetched


def _extract_into(fetched: Fetched, response: Response) -> None:
    fetched.extraction = extract(fetched.source, response)
    if fetched.extraction.outcome:
        fetched.outcome = fetched.extraction.outcome
        fetched.error = fetched.extraction.error
    else:
        fetched.snapshot = fetched.extraction.canonical()
        fetched.snapshot_hash = sha256_hex(fetched.snapshot)


def failed_fetch(source: SourceConfig, exc: BaseException, started_at: str | None = None) -> Fetched:
    """A source whose fetch or extraction raised (a bug its input found): its own failed outcome."""
    return Fetched(source=source, started_at=started_at or utc_now(), outcome=Outcome.INTERNAL_ERROR,
                   error=f"{type(exc).__name__}: {exc}"[:300])


def settle(fetched: Fetched, state: SourceState, previous_snapshot: str | None,
           recent: tuple[str, ...] | list[str] = (), unconfirmed: str | None = None) -> SourceResult:
    """Pure: turn a fetch and the last kept snapshot into what the store should write. `recent`: hashes
    of the source's last few versions (one of them again is a flip back, not a change); `unconfirmed`:
    the hash a previous fetch held for confirmation (this fetch showing it again confirms it)."""
    result = SourceResult(source_id=fetched.source.id, outcome=fetched.outcome or Outcome.UNCHANGED,
                          started_at=fetched.started_at, duration_ms=fetched.duration_ms,
                          http_status=fetched.http_status, error=fetched.error, bytes=fetched.bytes,
                          final_url=fetched.final_url)
    extraction = fetched.extraction
    if fetched.outcome == Outcome.UNCHANGED and fetched.body_hash is not None:
        # Byte-identical 200: the server may still have sent new validators (a "touch"). Keep them, or
        # every later request carries stale ones and gets a full 200 instead of a 304.
        _keep_validators(result, fetched)
    if fetched.outcome is not None or extraction is None:
        return result
    result.warnings = list(extraction.warnings)
    canonical = fetched.snapshot if fetched.snapshot is not None else extraction.canonical()
    snapshot_hash = fetched.snapshot_hash or sha256_hex(canonical)
    _keep_validators(result, fetched)
    result.settings_sha = fetched.settings_sha
    if previous_snapshot is None:
        result.outcome = Outcome.INITIAL
    elif fetched.settings_sha is not None and state.settings_sha != fetched.settings_sha:
        # Read with other settings than the kept snapshot (or, on a database from before settings were
        # kept, with unknown ones): the difference would be the settings', not the page's.
        result.outcome = Outcome.RECONFIGURED
        result.warnings.append("the source's settings changed since its last snapshot: a new starting point, "
                               "no event")
    elif snapshot_hash == state.snapshot_hash:
        result.outcome = Outcome.UNCHANGED  # new bytes, same meaning (markup, whitespace, ignored lines)
        return result
    elif snapshot_hash in recent:
        # Back to a version seen a moment ago (a page alternating between two versions): not a change.
        # The kept snapshot stays; the validators of this body are kept so it is skipped next time.
        result.outcome = Outcome.UNCHANGED
        result.warnings.append("the document is again one of its last versions; not a change")
        return result
    else:
        previous = Extraction.from_canonical(previous_snapshot)
        result.events = detect(fetched.source, previous, extraction)
        result.outcome = Outcome.CHANGED if result.events else Outcome.UNCHANGED
        doubt = mass_withdrawal(previous, result.events) if result.events else ""
        if not doubt and result.events and fetched.unframed:
            doubt = "the body had no length and ended with the connection; waiting for a later fetch to confirm"
        if doubt and snapshot_hash != unconfirmed:
            result.outcome, result.error, result.events = Outcome.UNCONFIRMED, doubt, []
            result.body_hash = result.etag = result.last_modified = None  # fetch it in full next time
            result.snapshot, result.snapshot_hash = canonical, snapshot_hash
            return result
        result.events = cap_events(fetched.source, result.events)
        if any(e.kind == EventKind.STATUS for e in result.events):
            result.evidence = fetched.document
    result.snapshot, result.snapshot_hash = canonical, snapshot_hash
    if extraction.assertions is not None:
        result.assertions = extraction.assertions
    return result


def _keep_validators(result: SourceResult, fetched: Fetched) -> None:
    """The body hash and validators of this 200 go to the store together: the next conditional GET and
    the byte-identical check must both describe the same response."""
    result.body_hash, result.etag, result.last_modified = fetched.body_hash, fetched.etag, fetched.last_modified


def commit(store: Store, fetched: Fetched, state: SourceState) -> tuple[SourceResult, list[int]]:
    """Settle and write in one transaction. The source's state is read again inside it: another process
    (a second collect, the scheduler) may have stored this very change since `state` was read, and
    settling against the older snapshot would write the change twice."""
    with store.batch():
        state = store.source_state(fetched.source.id) or state
        previous = store.snapshot_content(state.snapshot_id) if state.snapshot_id is not None else None
        recent, unconfirmed = (), None
        if previous is not None and fetched.snapshot_hash not in (None, state.snapshot_hash):
            recent = tuple(store.recent_versions(fetched.source.id, COMPARED_VERSIONS + 1))
            unconfirmed = store.unconfirmed_version(fetched.source.id)
        result = settle(fetched, state, previous, recent, unconfirmed)
        return result, store.save_result(fetched.source, result)


def commit_isolated(store: Store, fetched: Fetched, state: SourceState,
                    after_commit: AfterCommit | None = None) -> tuple[SourceResult, list[int]]:
    """`commit` (and the after-commit hook) for one source inside a savepoint: if either raises on this
    source's data, its writes are undone and an INTERNAL_ERROR outcome is recorded instead, and the other
    sources of the batch go on. A storage failure (disk full, a database gone) is not one source's: it
    stops the pass, with nothing half-written."""
    try:
        with store.savepoint():
            result, event_ids = commit(store, fetched, state)
            if after_commit is not None:
                after_commit(store, fetched.source, result, event_ids)
            return result, event_ids
    except DatabaseFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - one source's bug must not stop the pass
        failed = failed_fetch(fetched.source, exc, fetched.started_at)
        result = settle(failed, state, None)
        return result, store.save_result(fetched.source, result)


def select_sources(config: Config, only: Iterable[str] | None = None) -> list[SourceConfig]:
    if only:
        wanted = list(dict.fromkeys(only))
        known = {s.id for s in config.sources}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise KeyError(", ".join(unknown))
        return [s for s in config.sources if s.id in wanted]
    return [s for s in config.sources if s.enabled]


def _interleave_by_host(sources: list[SourceConfig]) -> list[SourceConfig]:
    """Round-robin across hosts so one slow or rate-limited host never holds every worker."""
    queues: dict[str, deque[SourceConfig]] = defaultdict(deque)
    for source in sources:
        queues[urlsplit(source.url or "").netloc].append(source)
    ordered: list[SourceConfig] = []
    while queues:
        for host in list(queues):
            ordered.append(queues[host].popleft())
            if not queues[host]:
                del queues[host]
    return ordered


_DONE = object()


class _Workers:
    """Fetch threads that take sources from a shared deque and hand back `Fetched` values on a bounded
    queue (so memory stays flat however many sources there are). Cheaper per source than one Future
    per source, which mattered in a pass of 304s."""

    def __init__(self, count: int, sources: deque[SourceConfig], states: dict[str, SourceState],
                 fetcher: Fetcher, max_waiting: int):
        self.sources, self.states, self.fetcher = sources, states, fetcher
        self.results: queue.Queue[Fetched | BaseException | object] = queue.Queue(maxsize=max_waiting)
        self.stopping = threading.Event()
        self.extract_gate = threading.Lock()
        self.running = count
        self.threads = [threading.Thread(target=self._work, name=f"fetch-{n}", daemon=True) for n in range(count)]

    def __enter__(self) -> _Workers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        while any(t.is_alive() for t in self.threads):  # unblock workers waiting on a full queue
            with contextlib.suppress(queue.Empty):
                self.results.get(timeout=0.05)
        for thread in self.threads:
            thread.join()

    def _work(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    source = self.sources.popleft()  # atomic: no two workers take the same source
                except IndexError:
                    break
                try:
                    fetched = fetch_and_extract(source, self.states.get(source.id, SourceState()), self.fetcher,
                                                self.extract_gate)
                except Exception as exc:  # noqa: BLE001 - this source's outcome; the others go on
                    fetched = failed_fetch(source, exc)
                self._put(fetched)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which re-raises it
            self._put(exc)
        finally:
            self._put(_DONE)

    def _put(self, item: object) -> None:
        while not self.stopping.is_set():
            try:
                self.results.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def next(self, patience: float | None) -> Fetched | object | None:
        """The next result; None if none came within `patience` seconds; `_DONE` when all are done."""
        while self.running:
            try:
                item = self.results.get(timeout=patience)
            except queue.Empty:
                return None
            if item is _DONE:
                self.running -= 1
                continue
            if isinstance(item, BaseException):
                raise item
            return item
        return _DONE


AfterCommit = Callable[[Store, SourceConfig, SourceResult, list[int]], object]


def run_pass(config: Config, store: Store, sources: list[SourceConfig], fetcher: Fetcher | None = None,
             on_result: Callable[[SourceResult], None] | None = None,
             after_commit: AfterCommit | None = None) -> PassSummary:
    """One pass: fetch and extract in worker threads, commit here in small batches; `after_commit` runs
    inside each source's transaction (notifications queued there are atomic with the events)."""
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher.from_config(config)
    states = store.source_states()
    summary = PassSummary()
    pending_sources = deque(_interleave_by_host(sources))
    max_in_flight = config.fetch.workers * 4  # bounded: memory stays flat however many sources there are
    to_commit: list[Fetched] = []
    first_waiting = 0.0

    def flush() -> None:
        with store.batch():
            for fetched in to_commit:
                result, event_ids = commit_isolated(store, fetched, states.get(fetched.source.id, SourceState()),
                                                    after_commit)
                result.snapshot, result.assertions, result.evidence = None, None, None  # written: keep it small
                summary.results.append(result)
                summary.event_ids.extend(event_ids)
                if on_result:
                    on_result(result)
        to_commit.clear()

    try:
        with _Workers(config.fetch.workers, pending_sources, states, fetcher, max_in_flight) as finished:
            while (item := finished.next(patience=max(0.0, first_waiting + COMMIT_WAIT - time.monotonic())
                                         if to_commit else None)) is not _DONE:
                if item is None:  # nothing new within the patience: write what waits
                    flush()
                    continue
                if not to_commit:
                    first_waiting = time.monotonic()
                to_commit.append(item)
                # Commit in small batches: a transaction per source costs more than a 304's own writes,
                # and a batch never waits long, so readers and the summary stay current.
                if len(to_commit) >= COMMIT_BATCH or time.monotonic() - first_waiting > COMMIT_WAIT:
                    flush()
            if to_commit:
                flush()
    finally:
        if own_fetcher:
            fetcher.close()
    return summary
