"""One pass over the sources: fetch and extract in a thread pool (I/O-bound, polite per host), then
detect and store in the calling thread, one transaction per source.

`run_source` is the unit shared by `collect` and the scheduler daemon."""

from __future__ import annotations

import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import extractors, models
from .config import Config, SourceConfig
from .detect import detect
from .extract import extract
from .fetch import Fetcher
from .models import Extraction, SourceResult, sha256_hex
from .store import SourceState, Store, utc_now


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


def fetch_and_extract(source: SourceConfig, state: SourceState, fetcher: Fetcher) -> Fetched:
    """Fetch one source (or read its local document) and extract it, unless the bytes are unchanged."""
    started_at = utc_now()
    started = time.monotonic()
    extractor = extractors.get(source.type)
    response = extractor.local_document(source)
    if response is None:
        response = fetcher.fetch(extractor.request_url(source), timeout=source.timeout, max_bytes=source.max_bytes,
                                 etag=state.etag if state.snapshot_id else None,
                                 last_modified=state.last_modified if state.snapshot_id else None)
    fetched = Fetched(source=source, started_at=started_at, outcome=response.outcome, http_status=response.status,
                      error=response.error, bytes=len(response.body))
    if response.outcome is None:
        fetched.etag = response.headers.get("etag")
        fetched.last_modified = response.headers.get("last-modified")
        fetched.body_hash = sha256_hex(response.body + b"\0" + extractor.settings_fingerprint(source).encode())
        if fetched.body_hash == state.body_hash and state.snapshot_id is not None:
            fetched.outcome = models.UNCHANGED  # byte-identical: no parse, no diff, no write
        else:
            fetched.extraction = extract(source, response)
            if fetched.extraction.outcome:
                fetched.outcome = fetched.extraction.outcome
                fetched.error = fetched.extraction.error
    fetched.duration_ms = int((time.monotonic() - started) * 1000)
    return fetched


def settle(fetched: Fetched, state: SourceState, previous_snapshot: str | None) -> SourceResult:
    """Pure: turn a fetch and the last kept snapshot into what the store should write."""
    result = SourceResult(source_id=fetched.source.id, outcome=fetched.outcome or models.UNCHANGED,
                          started_at=fetched.started_at, duration_ms=fetched.duration_ms,
                          http_status=fetched.http_status, error=fetched.error, bytes=fetched.bytes)
    extraction = fetched.extraction
    if fetched.outcome is not None or extraction is None:
        return result
    result.warnings = list(extraction.warnings)
    canonical = extraction.canonical()
    snapshot_hash = sha256_hex(canonical)
    result.body_hash, result.etag, result.last_modified = fetched.body_hash, fetched.etag, fetched.last_modified
    if previous_snapshot is None:
        result.outcome = models.INITIAL
    elif snapshot_hash == state.snapshot_hash:
        result.outcome = models.UNCHANGED  # new bytes, same meaning (markup, whitespace, ignored lines)
        return result
    else:
        result.events = detect(fetched.source, Extraction.from_canonical(previous_snapshot), extraction)
        result.outcome = models.CHANGED if result.events else models.UNCHANGED
    result.snapshot, result.snapshot_hash = canonical, snapshot_hash
    if extraction.assertions is not None:
        result.assertions = extraction.assertions
    return result


def commit(store: Store, fetched: Fetched, state: SourceState) -> tuple[SourceResult, list[int]]:
    previous = store.snapshot_content(state.snapshot_id) if state.snapshot_id is not None else None
    result = settle(fetched, state, previous)
    return result, store.save_result(fetched.source, result)


def run_source(source: SourceConfig, store: Store, fetcher: Fetcher) -> tuple[SourceResult, list[int]]:
    """Fetch, extract, detect and store one source (the scheduler's job body)."""
    state = store.source_states().get(source.id, SourceState())
    return commit(store, fetch_and_extract(source, state, fetcher), state)


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


def run_pass(config: Config, store: Store, sources: list[SourceConfig], fetcher: Fetcher | None = None,
             on_result: Callable[[SourceResult], None] | None = None) -> PassSummary:
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher.from_config(config)
    states = store.source_states()
    summary = PassSummary()
    pending_sources = deque(_interleave_by_host(sources))
    max_in_flight = config.fetch.workers * 4  # bounded: memory stays flat however many sources there are
    try:
        with ThreadPoolExecutor(max_workers=config.fetch.workers, thread_name_prefix="fetch") as pool:
            in_flight: set[Future[Fetched]] = set()
            while pending_sources or in_flight:
                while pending_sources and len(in_flight) < max_in_flight:
                    source = pending_sources.popleft()
                    in_flight.add(pool.submit(fetch_and_extract, source, states.get(source.id, SourceState()),
                                              fetcher))
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    fetched = future.result()
                    result, event_ids = commit(store, fetched, states.get(fetched.source.id, SourceState()))
                    result.snapshot, result.assertions = None, None  # written; keep the summary small
                    summary.results.append(result)
                    summary.event_ids.extend(event_ids)
                    if on_result:
                        on_result(result)
    finally:
        if own_fetcher:
            fetcher.close()
    return summary
