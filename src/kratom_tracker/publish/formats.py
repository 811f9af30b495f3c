"""Feed formats: one class each, registered by declaring it. A new format is one subclass of
`FeedFormat` with its `extension`, `content_type`, `title` and `render`; `publish`, `serve`, the
feed-name check and the dashboard's links all read the registry."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from feedgen.feed import FeedGenerator

from kratom_tracker.config.model import PublishSettings
from kratom_tracker.publish.feeds import Entry, FeedSpec, feed_id, rfc3339, when

FORMATS: dict[str, FeedFormat] = {}


class FeedFormat:
    extension: ClassVar[str] = ""
    content_type: ClassVar[str] = ""
    title: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.extension:
            FORMATS[cls.extension] = cls()

    def render(self, spec: FeedSpec, entries: list[Entry], instance_id: str, settings: PublishSettings,
               self_link: str) -> bytes:
        raise NotImplementedError


def _site_link(spec: FeedSpec, settings: PublishSettings) -> str:
    return f"{settings.base_url}/" + (f"?q={spec.region}" if spec.region else "")


def _description(spec: FeedSpec) -> str:
    return f"Changes recorded by kratom-tracker{' for ' + spec.region if spec.region else ''}, newest first."


def _feedgen(spec: FeedSpec, entries: list[Entry], instance_id: str, settings: PublishSettings,
             self_link: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(feed_id(instance_id, spec.stem))
    fg.title(spec.title)
    fg.author({"name": "kratom-tracker"})
    # Self first: feedgen writes the last link added as the RSS channel <link>, which RSS means to be the
    # site (the dashboard), not the feed; the feed's own URL still goes out as atom:link rel=self.
    fg.link(href=self_link, rel="self")
    fg.link(href=_site_link(spec, settings), rel="alternate")
    fg.description(_description(spec))
    fg.language("en")
    newest = when(entries[0].updated if entries else None)
    fg.updated(newest)
    fg.lastBuildDate(newest)  # feedgen would otherwise stamp the current time
    for item in entries:
        fe = fg.add_entry(order="append")
        fe.id(item.id)
        fe.guid(item.id, permalink=False)
        fe.title(item.title)
        fe.link(href=item.link)
        fe.updated(when(item.updated))
        fe.published(when(item.updated))
        fe.content(item.content_html, type="html")
        fe.summary(item.summary or item.title)  # Atom summary and RSS description; content stays the HTML
        # Atom category term/scheme/label, RSS category with domain: the same vocabularies as the JSON tags.
        fe.category([{"term": c.term, "scheme": c.scheme_uri, **({"label": c.label} if c.label else {})}
                     for c in item.categories] or [{"term": item.kind}])
    return fg


class Atom(FeedFormat):
    extension, content_type, title = "atom", "application/atom+xml", "Atom"

    def render(self, spec, entries, instance_id, settings, self_link) -> bytes:
        return _feedgen(spec, entries, instance_id, settings, self_link).atom_str(pretty=True)


class Rss(FeedFormat):
    extension, content_type, title = "rss", "application/rss+xml", "RSS"

    def render(self, spec, entries, instance_id, settings, self_link) -> bytes:
        return _feedgen(spec, entries, instance_id, settings, self_link).rss_str(pretty=True)


class JsonFeed(FeedFormat):
    extension, content_type, title = "json", "application/feed+json", "JSON Feed"

    def render(self, spec, entries, instance_id, settings, self_link) -> bytes:
        doc = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": spec.title,
            "home_page_url": _site_link(spec, settings),
            "feed_url": self_link,
            "description": _description(spec),
            "language": "en",
            "authors": [{"name": "kratom-tracker"}],
            "items": [
                {
                    "id": item.id, "url": item.link, "title": item.title, "content_html": item.content_html,
                    "summary": item.summary, "date_published": rfc3339(item.updated),
                    # the kind first, as before; then `scheme:term` for each category (region:US-FL, ...)
                    "tags": [item.kind] + [c.tag for c in item.categories],
                    "_kratom_tracker": {"event_id": item.event_id, "kind": item.kind,
                                        "jurisdiction": item.jurisdiction, "source_id": item.source_id},
                }
                for item in entries
            ],
        }
        return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def feed_name_pattern() -> re.Pattern[str]:
    """What a feed's file name may be: `all` or `region/<CODE>` and a registered extension."""
    extensions = "|".join(re.escape(ext) for ext in FORMATS)
    return re.compile(rf"^(?:all|region/[A-Za-z0-9_-]{{1,120}})\.(?:{extensions})$")


def render_feed(spec: FeedSpec, entries: list[Entry], instance_id: str, settings: PublishSettings) -> dict[str, bytes]:
    """Every registered format of one feed, as bytes keyed by extension."""
    return {ext: fmt.render(spec, entries, instance_id, settings, f"{settings.base_url}/feeds/{spec.stem}.{ext}")
            for ext, fmt in FORMATS.items()}
