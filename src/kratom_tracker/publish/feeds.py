"""What a feed is made of, whatever its format: which events it covers (`FeedSpec`), each event prepared
once as an `Entry` (with the categories readers filter on), and the stable ids (`tag:` URIs) feed readers
key on.

A region's feed carries what applies there: the events of the region, of every level above it (federal,
state) and of everything below it (a state's counties and cities, a county's cities)."""

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


def region_of_stem(stem: str) -> str | None:
    """`region/US-FL_sarasota-county` → `US-FL/sarasota-county`; None for `all` or a malformed stem."""
    if not stem.startswith("region/"):
        return None
    code = stem[len("region/"):].replace("_", "/", 1)
    return code if _SAFE_REGION.match(code) else None


def region_spec(code: str, title: str) -> FeedSpec:
    return FeedSpec(region_file_stem(code), f"{title} — {regions.display_name(code)} ({code})", code)


def spec_for_stem(stem: str, title: str) -> FeedSpec | None:
    """The feed a file stem names, for any known region (served on demand, possibly empty)."""
    if stem == "all":
        return FeedSpec("all", title)
    code = region_of_stem(stem)
    return region_spec(code, title) if code and regions.is_known(code) else None


def published_regions(store: Store, configured: tuple[str, ...] = ()) -> list[str]:
    """The regions `publish` writes a feed for: every level of every jurisdiction with events (so a
    county's event gives its state and country a feed), and the regions configured under `publish:`."""
    codes: set[str] = set(configured)
    for jurisdiction in store.event_jurisdictions():
        if isinstance(jurisdiction, str) and _SAFE_REGION.match(jurisdiction):
            codes.update(regions.chain(jurisdiction))
    return sorted(codes)


def feed_specs(store: Store, title: str, configured: tuple[str, ...] = ()) -> list[FeedSpec]:
    """The all-feed and one feed per published region."""
    return [FeedSpec("all", title)] + [region_spec(code, title) for code in published_regions(store, configured)]


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


# The vocabularies of the entry categories (Atom `category scheme`, RSS `category domain`); JSON Feed gets
# the same as `scheme:term` tags. Never change them: readers' filters are built on them.
CATEGORY_SCHEMES = {name: f"{TAG_AUTHORITY}{name}" for name in ("kind", "region", "substance", "status")}


@dataclass(frozen=True)
class Category:
    scheme: str  # one of CATEGORY_SCHEMES' keys
    term: str  # US-FL, 7-OH, status, banned
    label: str = ""

    @property
    def scheme_uri(self) -> str:
        return CATEGORY_SCHEMES[self.scheme]

    @property
    def tag(self) -> str:
        return f"{self.scheme}:{self.term}"


def categories(event: Event) -> tuple[Category, ...]:
    """What a reader filters on: the kind, every level of the region (a Sarasota County entry is also
    tagged US-FL and US), and for a status change its substance and new status."""
    out = [Category("kind", event.kind)]
    jurisdiction = event.jurisdiction or ""
    if _SAFE_REGION.match(jurisdiction):
        out += [Category("region", code, render.place_words(code)) for code in regions.chain(jurisdiction)]
    data = event.data or {}
    if event.kind == "status":
        if data.get("substance"):
            out.append(Category("substance", str(data["substance"])))
        for status in str(data.get("new_status") or "").split(" / "):
            if status.strip():
                out.append(Category("status", status.strip()))
    return tuple(out)


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
    categories: tuple[Category, ...] = ()


def make_entry(event: Event, instance_id: str, settings: PublishSettings) -> Entry:
    link = render.safe_url(event.url) or f"{settings.base_url}/?event={event.id}"
    return Entry(
        id=entry_id(instance_id, event.id), title=render.event_title(event), link=link,
        updated=event.detected_at, content_html=render.event_html(event, settings.base_url),
        summary=render.strip_markup(" ".join(event.summary.split()))[:500],
        kind=event.kind, jurisdiction=event.jurisdiction, source_id=event.source_id, event_id=event.id,
        categories=categories(event),
    )
