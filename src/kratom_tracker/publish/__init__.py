"""Publishing: the recorded events as change feeds (the Feeds contract in DESIGN.md).

`all.atom`, `all.rss`, `all.json` (JSON Feed 1.1; one file per format in `formats.FORMATS`), for every
region with events at or below it and every region under `publish: regions:`, `region/<CODE>.atom|.rss|.json`
(a locality's slash is written as `_`: `region/US-FL_sarasota-county.atom`), and `feeds.opml` listing them.
A region's feed holds what applies there: its own events, those of the levels above it and of everything
below it. `serve` renders the same bytes on demand, for any known region (an empty feed is still a feed).
Every byte depends only on the database and the settings, never on the clock, so publishing twice
without new events rewrites nothing and feed readers see stable entry ids (`tag:` URIs from the event id)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from kratom_tracker.config.model import PublishSettings
from kratom_tracker.publish.feeds import EMPTY_FEED_DATE, Entry, FeedSpec, feed_specs, make_entry
from kratom_tracker.publish.formats import FORMATS, render_feed
from kratom_tracker.publish.opml import OPML_NAME, render_opml
from kratom_tracker.store import Store


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
        if path.suffix.lstrip(".") in FORMATS and path.is_file() and path not in keep:
            path.unlink()


@dataclass
class PublishReport:
    paths: list[Path]
    changed: list[Path]
    feeds: int
    events: int


@dataclass(frozen=True)
class FeedFile:
    """One rendered file and the date of its newest entry (its HTTP Last-Modified)."""

    data: bytes
    updated: str


def render_spec(store: Store, spec: FeedSpec, settings: PublishSettings,
                prepared: dict[int, Entry] | None = None) -> dict[str, FeedFile]:
    """Every format of one feed, keyed by file name. `prepared` shares entries between feeds."""
    instance_id = store.meta("instance_id") or "default"
    prepared = {} if prepared is None else prepared
    events = store.events(region=spec.region, limit=settings.max_entries, with_above=True)
    entries = [prepared.get(e.id) or prepared.setdefault(e.id, make_entry(e, instance_id, settings)) for e in events]
    updated = entries[0].updated if entries else EMPTY_FEED_DATE
    return {f"{spec.stem}.{ext}": FeedFile(data, updated)
            for ext, data in render_feed(spec, entries, instance_id, settings).items()}


def render_index(store: Store, settings: PublishSettings) -> FeedFile:
    """`feeds.opml`: the all-feed and every published region feed."""
    specs = feed_specs(store, settings.title, settings.regions)
    newest = store.newest_event_at()
    return FeedFile(render_opml(specs, settings, newest), newest or EMPTY_FEED_DATE)


def render_all(store: Store, settings: PublishSettings) -> dict[str, FeedFile]:
    """Every file `publish` writes, in memory, keyed by its name (`all.atom`, `region/US.rss`,
    `feeds.opml`)."""
    prepared: dict[int, Entry] = {}
    files: dict[str, FeedFile] = {}
    for spec in feed_specs(store, settings.title, settings.regions):
        files.update(render_spec(store, spec, settings, prepared))
    files[OPML_NAME] = render_index(store, settings)
    return files


def publish(store: Store, out_dir: Path, settings: PublishSettings) -> PublishReport:
    """Write every feed into `out_dir` (only the files whose bytes changed); drop feeds of regions that
    no longer have events and are not configured."""
    out_dir = Path(out_dir)
    files = render_all(store, settings)
    paths = [out_dir / name for name in files]
    changed = [path for path, file in zip(paths, files.values(), strict=True) if _write_if_changed(path, file.data)]
    _remove_stale(out_dir, set(paths))
    entries = {e.id for e in store.events(limit=settings.max_entries)}
    feeds = sum(1 for name in files if name != OPML_NAME) // len(FORMATS)
    return PublishReport(paths=paths, changed=changed, feeds=feeds, events=len(entries))


# -- embeds and maps (publish --embeds DIR): the same bytes `serve` answers at /embed/... and /map/... ------


def embed_files(reader: Any, code: str, settings: PublishSettings, as_of: date) -> dict[str, bytes]:
    """`embed/<CODE>.html` and `.json` for one region."""
    from kratom_tracker import regions, rules
    from kratom_tracker.publish.embed import embed_document, embed_html, embed_stem

    document = embed_document(rules.status_document(regions.lookup(code), reader, as_of), settings.base_url)
    stem = embed_stem(code)
    return {f"{stem}.html": embed_html(document),
            f"{stem}.json": (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()}


def map_files(reader: Any, settings: PublishSettings, as_of: date) -> dict[str, bytes]:
    """`map/us.svg` and `map/world.svg` (the leaf), and `map/us-7-OH.svg` and the like per substance."""
    from kratom_tracker.publish.statusmap import us_map, world_map
    from kratom_tracker.vocab import Substance

    files: dict[str, bytes] = {}
    for substance in (s.value for s in Substance.answered()):
        suffix = "" if substance == Substance.LEAF else f"-{substance}"
        files[f"map/us{suffix}.svg"] = us_map(reader, substance, as_of, settings.base_url)
        files[f"map/world{suffix}.svg"] = world_map(reader, substance, as_of, settings.base_url)
    return files


def render_embeds(store: Store, settings: PublishSettings, as_of: date | None = None) -> dict[str, bytes]:
    """Every embed (each US state, DC and every region with assertions) and every map. Unlike the feeds
    these depend on the day as well: the status in force changes on an effective date."""
    from kratom_tracker.publish.statusmap import US_TILES, CachedReader

    as_of = as_of or date.today()
    reader = CachedReader(store)
    codes = sorted({"US", *(f"US-{p}" for p in US_TILES), *(a.jurisdiction for a in reader.rows)})
    files: dict[str, bytes] = {}
    for code in codes:
        try:
            files.update(embed_files(reader, code, settings, as_of))
        except ValueError:  # an unknown code on file (UnknownRegion): nothing to embed for it
            continue
    files.update(map_files(reader, settings, as_of))
    return files


def publish_embeds(store: Store, out_dir: Path, settings: PublishSettings, as_of: date | None = None) -> PublishReport:
    out_dir = Path(out_dir)
    files = render_embeds(store, settings, as_of)
    paths = [out_dir / name for name in files]
    changed = [path for path, data in zip(paths, files.values(), strict=True) if _write_if_changed(path, data)]
    return PublishReport(paths=paths, changed=changed, feeds=0, events=0)
