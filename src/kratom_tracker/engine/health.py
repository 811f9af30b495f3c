"""Source health for operators: last outcome, consecutive failures, last change, staleness.
Shared by `sources list`, the HTTP API and the dashboard."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kratom_tracker import timefmt
from kratom_tracker.config.model import Config
from kratom_tracker.durations import format_duration
from kratom_tracker.store import Store
from kratom_tracker.values import SourceHealth


@dataclass(frozen=True)
class HealthRow:
    """One configured source with what the store recorded of it (the `/api/sources` and `sources list
    --json` shape)."""

    id: str
    name: str
    type: str
    jurisdiction: str
    url: str | None
    interval: str
    enabled: bool
    last_fetch_at: str | None
    last_outcome: str | None
    last_error: str | None
    last_success_at: str | None
    last_change_at: str | None
    consecutive_failures: int
    stale: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def source_health_rows(config: Config, store: Store | None, now: datetime | None = None) -> list[HealthRow]:
    """One row per configured source, merged with what the store recorded (none without a database)."""
    recorded = {row.id: row for row in store.sources_health()} if store is not None else {}
    now = now or datetime.now(UTC)
    rows = []
    for source in config.sources:
        seen = recorded.get(source.id) or SourceHealth(id=source.id, type=source.type, name=source.name,
                                                       url=source.url, jurisdiction=source.jurisdiction)
        rows.append(HealthRow(
            id=source.id, name=source.name, type=source.type, jurisdiction=source.jurisdiction, url=source.url,
            interval=format_duration(source.interval), enabled=source.enabled, last_fetch_at=seen.last_fetch_at,
            last_outcome=seen.last_outcome, last_error=seen.last_error, last_success_at=seen.last_success_at,
            last_change_at=seen.last_change_at, consecutive_failures=seen.consecutive_failures,
            stale=is_stale(seen.last_success_at, seen.last_fetch_at,
                           source.interval * config.scheduler.stale_factor, now)))
    return rows


CLOCK_SKEW = 300.0  # seconds a recorded time may lie ahead of this clock before it counts as wrong


def is_stale(last_success_at: str | None, last_fetch_at: str | None, threshold_seconds: float,
             now: datetime) -> bool:
    """No successful fetch for longer than the threshold (a source never fetched is not stale yet). A
    time in the future (the clock was corrected backwards since) says nothing about the source: stale."""
    if last_fetch_at is None:
        return False
    if last_success_at is None:
        return True
    success = timefmt.parse_timestamp(last_success_at)
    fetched = timefmt.parse_timestamp(last_fetch_at)
    if success is None or (fetched is not None and (fetched - now).total_seconds() > CLOCK_SKEW):
        return True
    age = (now - success).total_seconds()
    return age > threshold_seconds or -age > CLOCK_SKEW


def health_changed_at(config: Config, store: Store, now: datetime | None = None) -> datetime | None:
    """The latest moment (up to now) at which a source turned stale without anything being written: the
    health rows change then too, which an HTTP Last-Modified must not miss."""
    now = now or datetime.now(UTC)
    recorded = {row.id: row for row in store.sources_health()}
    moments = []
    for source in config.sources:
        seen = recorded.get(source.id)
        success = timefmt.parse_timestamp(seen.last_success_at) if seen and seen.last_success_at else None
        if success is not None:
            flip = success + timedelta(seconds=source.interval * config.scheduler.stale_factor)
            if flip <= now:
                moments.append(flip)
    return max(moments) if moments else None
