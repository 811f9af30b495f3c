"""What a feed is made of, whatever its format: which events it covers (`FeedSpec`), each event prepared
once as an `Entry`, and the stable ids (`tag:` URIs) feed readers key on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from kratom_tracker import regions, render, timefmt
from kratom_tracker.config.model import PublishSettings
from kratom_tracker.store import Store
from kratom_tracker.values import Event

TAG_AUTHORITY = "tag:kratom-tracker,2024:"  # never change: entry ids built from it must stay stable forever


EMPTY_FEED_DATE = "1970-01-01T00:00:00Z"  # an empty feed's date, so even it is byte-stable


_SAFE_REGION = re.compile(r"^[A-Za-z0-9-]+(?:/[a-z0-9-]+)?$")


@dataclass(frozen=True)
class FeedSpec:
    """One feed: which events it covers and where it is written (relative to the output folder)."""

    stem: str  # "all" or "region/US-FL"
    title: str
    region: str | None = None


def region_file_stem(code: str) -> str:
    """`US-FL/sarasota-county` → `region/US-FL_sarasota-county` (no slash inside a file name)."""
    return "region/" + code.replace("/", "_")


def feed_specs(store: Store, title: str) -> list[FeedSpec]:
    """The all-feed and one feed per region that has events at or below it."""
    codes: set[str] = set()
    for jurisdiction in store.event_jurisdictions():
        if isinstance(jurisdiction, str) and _SAFE_REGION.match(jurisdiction):
            codes.update(regions.chain(jurisdiction))
    specs = [FeedSpec("all", title)]
    for code in sorted(codes):
        specs.append(FeedSpec(region_file_stem(code), f"{title} — {regions.display_name(code)} ({code})", code))
    return specs


def entry_id(instance_id: str, event_id: int) -> str:
    return f"{TAG_AUTHORITY}{instance_id}/event/{event_id}"


def feed_id(instance_id: str, stem: str) -> str:
    return f"{TAG_AUTHORITY}{instance_id}/feed/{stem}"


def when(timestamp: str | None) -> datetime:
    text = (timestamp or EMPTY_FEED_DATE).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def rfc3339(timestamp: str | None) -> str:
    return timefmt.format_timestamp(when(timestamp))


@dataclass(frozen=True)
class Entry:
    """An event prepared once and written into every feed format."""

    id: str
    title: str
    link: str
    updated: str
    content_html: str
    summary: str
    kind: str
    jurisdiction: str
    source_id: str
    event_id: int


def make_entry(event: Event, instance_id: str, settings: PublishSettings) -> Entry:
    link = render.safe_url(event.url) or f"{settings.base_url}/?event={event.id}"
    return Entry(
        id=entry_id(instance_id, event.id), title=render.event_title(event), link=link,
        updated=event.detected_at, content_html=render.event_html(event, settings.base_url),
        summary=render.strip_markup(" ".join(event.summary.split()))[:500],
        kind=event.kind, jurisdiction=event.jurisdiction, source_id=event.source_id, event_id=event.id,
    )
