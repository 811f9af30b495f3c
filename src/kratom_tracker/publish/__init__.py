"""`kratom-tracker publish`: the recorded events as change feeds (the Feeds contract in DESIGN.md).

`all.atom`, `all.rss`, `all.json` (JSON Feed 1.1) and, for every region with events at or below it,
`region/<CODE>.atom|.rss|.json`; a locality's slash is written as `_` (`region/US-FL_sarasota-county.atom`).
Every byte depends only on the database and the settings, never on the clock, so publishing twice
without new events rewrites nothing and feed readers see stable entry ids (`tag:` URIs from the event id)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedgen.feed import FeedGenerator

from kratom_tracker import regions, timefmt
from kratom_tracker.config.loader import load
from kratom_tracker.config.model import PublishSettings, db_path, sources_path
from kratom_tracker.publish import render
from kratom_tracker.store import Store

FEED_FORMATS = ("atom", "rss", "json")
CONTENT_TYPES = {"atom": "application/atom+xml", "rss": "application/rss+xml", "json": "application/feed+json"}
TAG_AUTHORITY = "tag:kratom-tracker,2024:"  # never change: entry ids built from it must stay stable forever
EMPTY_FEED_DATE = "1970-01-01T00:00:00Z"  # an empty feed's date, so even it is byte-stable
_SAFE_REGION = re.compile(r"^[A-Za-z0-9-]+(?:/[a-z0-9-]+)?$")
FEED_NAME = re.compile(r"^(?:all|region/[A-Za-z0-9_-]+)\.(?:atom|rss|json)$")


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
    for (jurisdiction,) in store.db.execute("SELECT DISTINCT jurisdiction FROM events").fetchall():
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


def _when(timestamp: str | None) -> datetime:
    text = (timestamp or EMPTY_FEED_DATE).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _rfc3339(timestamp: str | None) -> str:
    return timefmt.format_timestamp(_when(timestamp))


@dataclass(frozen=True)
class _Entry:
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


def _entry(event: dict[str, Any], instance_id: str, settings: PublishSettings) -> _Entry:
    link = render.safe_url(event.get("url")) or f"{settings.base_url}/?event={event['id']}"
    return _Entry(
        id=entry_id(instance_id, event["id"]), title=render.event_title(event), link=link,
        updated=event["detected_at"], content_html=render.event_html(event),
        summary=render.strip_markup(" ".join(str(event.get("summary") or "").split()))[:500],
        kind=event["kind"], jurisdiction=event["jurisdiction"], source_id=event["source_id"], event_id=event["id"],
    )


def _feedgen(spec: FeedSpec, entries: list[_Entry], instance_id: str, settings: PublishSettings,
             self_link: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(feed_id(instance_id, spec.stem))
    fg.title(spec.title)
    fg.author({"name": "kratom-tracker"})
    # Self first: feedgen writes the last link added as the RSS channel <link>, which RSS means to be the
    # site (the dashboard), not the feed; the feed's own URL still goes out as atom:link rel=self.
    fg.link(href=self_link, rel="self")
    fg.link(href=f"{settings.base_url}/" + (f"?q={spec.region}" if spec.region else ""), rel="alternate")
    fg.description(f"Changes recorded by kratom-tracker{' for ' + spec.region if spec.region else ''}, newest first.")
    fg.language("en")
    newest = _when(entries[0].updated if entries else None)
    fg.updated(newest)
    fg.lastBuildDate(newest)  # feedgen would otherwise stamp the current time
    for item in entries:
        fe = fg.add_entry(order="append")
        fe.id(item.id)
        fe.guid(item.id, permalink=False)
        fe.title(item.title)
        fe.link(href=item.link)
        fe.updated(_when(item.updated))
        fe.published(_when(item.updated))
        fe.content(item.content_html, type="html")
        fe.summary(item.summary or item.title)  # Atom summary and RSS description; content stays the HTML
        fe.category(term=item.kind)
    return fg


def _json_feed(spec: FeedSpec, entries: list[_Entry], settings: PublishSettings, self_link: str) -> str:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": spec.title,
        "home_page_url": f"{settings.base_url}/" + (f"?q={spec.region}" if spec.region else ""),
        "feed_url": self_link,
        "description": f"Changes recorded by kratom-tracker{' for ' + spec.region if spec.region else ''}.",
        "language": "en",
        "authors": [{"name": "kratom-tracker"}],
        "items": [
            {
                "id": item.id, "url": item.link, "title": item.title, "content_html": item.content_html,
                "summary": item.summary, "date_published": _rfc3339(item.updated), "tags": [item.kind],
                "_kratom_tracker": {"event_id": item.event_id, "kind": item.kind,
                                    "jurisdiction": item.jurisdiction, "source_id": item.source_id},
            }
            for item in entries
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def render_feed(spec: FeedSpec, entries: list[_Entry], instance_id: str, settings: PublishSettings) -> dict[str, bytes]:
    """The three formats of one feed, as bytes keyed by extension."""
    links = {fmt: f"{settings.base_url}/feeds/{spec.stem}.{fmt}" for fmt in FEED_FORMATS}
    fg_atom = _feedgen(spec, entries, instance_id, settings, links["atom"])
    fg_rss = _feedgen(spec, entries, instance_id, settings, links["rss"])
    return {
        "atom": fg_atom.atom_str(pretty=True),
        "rss": fg_rss.rss_str(pretty=True),
        "json": _json_feed(spec, entries, settings, links["json"]).encode("utf-8"),
    }


def _write_if_changed(path: Path, data: bytes) -> bool:
    """Atomic replace, and only when the bytes differ (keeps mtimes, so HTTP caches stay valid)."""
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return True


def _remove_stale(out_dir: Path, keep: set[Path]) -> None:
    """Region feeds whose region no longer has events (e.g. after the demo resets its rows)."""
    region_dir = out_dir / "region"
    if not region_dir.is_dir():
        return
    for path in region_dir.iterdir():
        if path.suffix.lstrip(".") in FEED_FORMATS and path.is_file() and path not in keep:
            path.unlink()


@dataclass
class PublishReport:
    paths: list[Path]
    changed: list[Path]
    feeds: int
    events: int


def publish(store: Store, out_dir: Path, settings: PublishSettings) -> PublishReport:
    instance_id = store.meta("instance_id") or "default"
    out_dir = Path(out_dir)
    prepared: dict[int, _Entry] = {}
    paths: list[Path] = []
    changed: list[Path] = []
    specs = feed_specs(store, settings.title)
    for spec in specs:
        events = store.events(region=spec.region, limit=settings.max_entries)
        entries = [prepared.get(e["id"]) or prepared.setdefault(e["id"], _entry(e, instance_id, settings))
                   for e in events]
        for fmt, data in render_feed(spec, entries, instance_id, settings).items():
            path = out_dir / f"{spec.stem}.{fmt}"
            paths.append(path)
            if _write_if_changed(path, data):
                changed.append(path)
    _remove_stale(out_dir, set(paths))
    return PublishReport(paths=paths, changed=changed, feeds=len(specs), events=len(prepared))


def publish_feeds(store: Store, out_dir: Path, settings: PublishSettings) -> list[Path]:
    """Write every feed into `out_dir`; returns the paths of all feed files (changed or not)."""
    return publish(store, out_dir, settings).paths


def load_publish_settings(sources: str | None) -> PublishSettings:
    """The `publish:` settings of sources.yaml, or the defaults when there is no sources.yaml."""
    path = sources_path(sources)
    if not path.exists():
        return PublishSettings()
    return load(path).publish


def publish_command(args: argparse.Namespace) -> int:
    settings = load_publish_settings(getattr(args, "sources", None))
    out_dir = Path(args.out)
    with Store(db_path(args.db), readonly=True) as store:
        report = publish(store, out_dir, settings)
    print(f"published {report.feeds} feeds ({len(report.paths)} files, {len(report.changed)} changed, "
          f"{report.events} entries) to {out_dir}/")
    print(f"  {out_dir / 'all.atom'}", file=sys.stdout)
    return 0
