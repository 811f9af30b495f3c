"""Source health for operators: last outcome, consecutive failures, last change, staleness.
Shared by `sources list`, the HTTP API and the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kratom_tracker import timefmt
from kratom_tracker.config.model import Config
from kratom_tracker.durations import format_duration


def source_health_rows(config: Config, db: Path, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per configured source, merged with what the store recorded (if the database exists)."""
    recorded: dict[str, dict[str, Any]] = {}
    if db.exists():
        from kratom_tracker.store import Store

        with Store(db, readonly=True) as store:
            recorded = {row["id"]: row for row in store.sources_health()}
    now = now or datetime.now(UTC)
    rows = []
    for source in config.sources:
        seen = recorded.get(source.id, {})
        row = {
            "id": source.id, "name": source.name, "type": source.type, "jurisdiction": source.jurisdiction,
            "url": source.url, "interval": format_duration(source.interval), "enabled": source.enabled,
            "last_fetch_at": seen.get("last_fetch_at"), "last_outcome": seen.get("last_outcome"),
            "last_error": seen.get("last_error"), "last_success_at": seen.get("last_success_at"),
            "last_change_at": seen.get("last_change_at"),
            "consecutive_failures": seen.get("consecutive_failures") or 0,
        }
        row["stale"] = is_stale(seen.get("last_success_at"), seen.get("last_fetch_at"),
                                source.interval * config.scheduler.stale_factor, now)
        rows.append(row)
    return rows


def is_stale(last_success_at: str | None, last_fetch_at: str | None, threshold_seconds: float,
             now: datetime) -> bool:
    """No successful fetch for longer than the threshold (a source never fetched is not stale yet)."""
    if last_fetch_at is None:
        return False
    if last_success_at is None:
        return True
    success = timefmt.parse_timestamp(last_success_at)
    return success is None or (now - success).total_seconds() > threshold_seconds
