"""Watched articles (`articles:` in sources.yaml): when a status changes in a region an article names or is
read in, an `article` event goes to that article's maintainers, in the feeds and through `notify:`:

    Your page 'Kratom for back pain' says “7-OH is legal in Florida” about Florida; since 2026-07-01
    Florida bans 7-OH (Schedule I above 1 mg/g)

The article is read again (file, or URL through the Fetcher) and checked (articles/check.py) each time a
status event touches it, so an article that changed is judged as it reads now. One event per (article,
status event, region): `data.key` makes it once-only, so a rerun writes nothing new."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kratom_tracker import regions
from kratom_tracker.articles.check import ArticleError, check_article, describe, load_article
from kratom_tracker.articles.claims import Article
from kratom_tracker.config.model import ArticleConfig, Config
from kratom_tracker.publish.embed import embed_snippet
from kratom_tracker.publish.statusmap import CachedReader
from kratom_tracker.store import Store
from kratom_tracker.timefmt import utc_now
from kratom_tracker.values import Event, EventDraft
from kratom_tracker.vocab import EventKind, Verdict

log = logging.getLogger("kratom_tracker.engine")

NEWS = (Verdict.STALE.value, Verdict.CONTRADICTED.value)


def source_id(article: ArticleConfig) -> str:
    return f"article:{article.id}"


def touches(changed: str, region: str) -> bool:
    """A change at `changed` matters to readers in `region` when it is the region, above it (a federal
    rule applies in Florida) or below it (a county ordinance is news to a Florida page)."""
    return regions.covers(changed, region) or regions.covers(region, changed)


def article_events(config: Config, store: Store, events: list[Event],
                   read: Callable[[ArticleConfig], Article] | None = None) -> list[int]:
    """Write the `article` events these status events cause; returns their ids."""
    changes = [e for e in events if e.kind == EventKind.STATUS]
    if not changes or not config.articles:
        return []
    read = read or _reader(config)
    written: list[int] = []
    reader = CachedReader(store)
    for watched in config.articles:
        try:
            article = read(watched)
        except ArticleError as exc:
            log.warning("article %s: %s", watched.id, exc)
            continue
        drafts = _drafts(config, store, reader, watched, article, changes)
        if drafts:
            written += store.add_events(source_id(watched), drafts, utc_now())
    return written


def _reader(config: Config) -> Callable[[ArticleConfig], Article]:
    def read(watched: ArticleConfig) -> Article:
        if watched.url:
            from kratom_tracker.fetch.client import Fetcher

            fetcher = Fetcher.from_config(config)
            try:
                return load_article(watched.url, fetcher)
            finally:
                fetcher.close()
        return load_article(watched.path or "")
    return read


def _drafts(config: Config, store: Store, reader: CachedReader, watched: ArticleConfig, article: Article,
            changes: list[Event]) -> list[EventDraft]:
    audience = [regions.lookup(code) for code in watched.regions]
    report = check_article(article, reader, None, audience, config.publish.base_url)
    named = [p["code"] for p in report["places"]]
    places = list(dict.fromkeys([*watched.regions, *named]))
    drafts = []
    for change in changes:
        for code in (c for c in places if touches(change.jurisdiction, c)):
            key = f"{watched.id}:{change.id}:{code}"
            if store.has_event_key(source_id(watched), key):
                continue
            draft = _draft(config, watched, report, change, code, key, code in watched.regions)
            if draft is not None:
                drafts.append(draft)
    return drafts


def _draft(config: Config, watched: ArticleConfig, report: dict[str, Any], change: Event, code: str, key: str,
           read_there: bool) -> EventDraft | None:
    region = regions.lookup(code)
    substance = str(change.data.get("substance") or "leaf")
    about = [c for c in report["claims"] if (c.get("region") or {}).get("code") == code]
    wrong = [c for c in about if c["verdict"] in NEWS]
    vague = [c for c in report["claims"] if c["verdict"] == Verdict.VAGUE]
    now = _now_text(change, substance)
    page = f"Your page '{watched.name}'"
    if wrong:
        claim = wrong[0]
        summary = f"{page} says “{claim['text']}” about {region.name}; {now}"
    elif read_there and not about:
        advice = f" (“{vague[0]['text']}”)" if vague else ""
        summary = (f"{page} is read in {region.name} and says nothing specific about its law{advice}; {now}. "
                   f"Embed the status that stays current: {embed_snippet(config.publish.base_url, region)}")
    else:
        return None
    lines = [summary, "", f"Status change: {change.title}"]
    for claim in wrong[1:5]:
        lines.append(f"Also: “{claim['text']}” — {claim['verdict']}: {claim['explanation']}")
    citation = (wrong[0].get("citation") if wrong else None) or {}
    return EventDraft(
        kind=EventKind.ARTICLE.value, jurisdiction=code, title=f"{page}: out of date on {region.name}",
        summary=summary, diff="\n".join(lines), url=watched.url or "",
        data={"key": key, "article": watched.id, "name": watched.name, "location": watched.location,
              "status_event": change.id, "maintainers": list(watched.notify),
              "verdicts": [{k: c.get(k) for k in ("text", "verdict", "explanation", "since")} for c in wrong],
              "citation": citation},
    )


def _now_text(change: Event, substance: str) -> str:
    """"since 2026-07-01 Florida bans 7-OH (…)": the status now in force, from the change's new assertions."""
    new = [a for a in (change.data.get("new") or []) if isinstance(a, dict)]
    first = new[0] if new else {}
    entry = {"status": first.get("status") or "unknown", "jurisdiction": change.jurisdiction,
             "detail": first.get("detail") or "", "effective_date": first.get("effective_date")}
    since = f"since {first['effective_date']} " if first.get("effective_date") else ""
    return since + describe({**entry, "effective_date": None}, regions.lookup(change.jurisdiction), substance)
