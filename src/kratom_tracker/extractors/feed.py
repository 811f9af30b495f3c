"""`feed`: an RSS or Atom feed; `match` keeps the relevant items; emits notice events per item."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kratom_tracker import checks, timefmt
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors import Extractor, option
from kratom_tracker.extractors._html import fold_lines, looks_binary, parse_html, text_lines
from kratom_tracker.values import Extraction, Item, Response, sha256_hex
from kratom_tracker.vocab import Outcome


class FeedExtractor(Extractor):
    type_name = "feed"
    help = "an RSS or Atom feed; `match` (regex over title and summary) keeps relevant items; emits notice events"
    @dataclass(frozen=True)
    class Options:
        match: str | None = option(None, check=checks.regex, help="regex over item title and summary")
        ignore: tuple[str, ...] = option((), check=checks.ignore_regex_list,
                                         help="regexes; items whose title matches are skipped")

    def extract(self, source: SourceConfig, response: Response) -> Extraction:
        import feedparser

        if not response.body.strip():
            return Extraction(outcome=Outcome.EMPTY, error="the feed body is empty")
        if looks_binary(response.body.lstrip(b"\xef\xbb\xbf")):
            return Extraction(outcome=Outcome.PARSE_ERROR, error="binary content, not a feed")
        parsed = feedparser.parse(response.body, response_headers={"content-type": response.headers.get(
            "content-type", "application/xml")})
        entries = parsed.get("entries") or []
        if entries and parsed.get("bozo") and _cut_short(response.body):
            # feedparser reads what arrived of a cut-off feed; its last item would look changed
            return Extraction(outcome=Outcome.PARSE_ERROR, error="the feed is cut short (its root element "
                              "never closes)")
        if not entries:
            if parsed.get("bozo") or not parsed.get("feed"):
                reason = str(parsed.get("bozo_exception", "no feed found"))[:200]
                return Extraction(outcome=Outcome.PARSE_ERROR, error=f"not a readable RSS/Atom feed: {reason}")
            return Extraction(outcome=Outcome.EMPTY, error="the feed has no items")
        items = feed_items(entries)
        pattern = source.options.match
        ignore = [checks.pattern(p) for p in source.options.ignore]
        if pattern:
            rx = checks.pattern(pattern)
            items = [i for i in items if rx.search(i.title) or rx.search(i.summary)]
        items = [i for i in items if not any(p.search(i.title) for p in ignore)]
        return Extraction(items=items)


_FEED_END = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|rdf)\s*>(?:\s|<!--.*?-->)*\Z", re.IGNORECASE | re.DOTALL)


def _cut_short(body: bytes) -> bool:
    return _FEED_END.search(body[-4096:].rstrip(b"\x00")) is None


def feed_items(entries: list[Any]) -> list[Item]:
    """Items in feed order with a stable identity: the guid/id when every item has its own, else a hash
    of link, title and date (some government feeds repeat one guid for every item). Exact repeats are
    counted once."""
    ids = [str(e.get("id") or "").strip() for e in entries]
    ids_usable = all(ids) and len(set(ids)) == len(ids)
    items: list[Item] = []
    seen: set[str] = set()
    for entry, entry_id in zip(entries, ids, strict=True):
        title = " ".join(str(entry.get("title") or "").split())
        link = str(entry.get("link") or "").strip()
        published = _entry_date(entry)
        key = entry_id if ids_usable else "h:" + sha256_hex("\n".join((link, title, published)))[:24]
        if key in seen:
            continue
        seen.add(key)
        items.append(Item(key=key, title=title or "(untitled)", url=link, summary=_plain(entry.get("summary")),
                          published=published))
    return items


def _entry_date(entry: Any) -> str:
    for field in ("published_parsed", "updated_parsed"):
        value = entry.get(field)
        if value:
            return timefmt.format_struct_time(value)
    return str(entry.get("published") or entry.get("updated") or "").strip()


def _plain(markup: Any) -> str:
    """Summary as plain text: item summaries are HTML from a server we do not control."""
    if not markup:
        return ""
    markup = str(markup)
    if "<" not in markup:
        return " ".join(markup.split())
    root = parse_html(f"<div>{markup}</div>")
    if root is None:
        return " ".join(fold_lines(markup))
    return " ".join(text_lines([root]))
