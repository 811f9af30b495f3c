"""Watched articles (`articles:` in sources.yaml): an `article` event goes to an article's maintainers, in
the feeds and through `notify:`, in two cases.

1. A status changes in a region the article names or is read in:

       Your page 'Kratom for back pain' says “7-OH is legal in Florida” about Florida; since 2026-07-01
       Florida bans 7-OH (Schedule I above 1 mg/g)

   One event per (article, status event, region): `data.key` makes it once-only, so a rerun writes nothing.
2. The article itself changes (or is read for the first time) and the new text makes a claim that the law
   in force contradicts or that is out of date:

       Your page 'Kratom for back pain' changed; it now says “Kratom is legal in Alabama.” about Alabama: …

   The store keeps each article's text hash (a changed hash is an edit; the same text is not checked
   again until a status changes) and the claims of its last three versions: only a claim none of them made
   is news, so an edit that leaves a wrong claim alone, a reverted edit or a flip-flopping page repeats
   nothing already said. A reading that fails or finds no text is an outcome (kept in `last_error`), never
   an event, and the last good version stays the reference.

Articles are read here, after the pass (the publisher's thread in the daemon), never while the writer
holds a source's transaction: a slow article server cannot hold up the sources."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from kratom_tracker import regions
from kratom_tracker.articles.check import ArticleError, check_article, describe, load_article
from kratom_tracker.articles.claims import Article
from kratom_tracker.charset import normalize_text
from kratom_tracker.config.model import ArticleConfig, Config
from kratom_tracker.publish.embed import embed_snippet
from kratom_tracker.publish.statusmap import CachedReader
from kratom_tracker.store import Store
from kratom_tracker.timefmt import utc_now
from kratom_tracker.values import Event, EventDraft, WatchedArticle, sha256_hex
from kratom_tracker.vocab import EventKind, Verdict

log = logging.getLogger("kratom_tracker.engine")

NEWS = (Verdict.STALE.value, Verdict.CONTRADICTED.value)
VERSIONS_KEPT = 3  # claims remembered from this many versions: an edit reverted within them repeats nothing
MAX_CLAIMS_KEPT = 2000  # fingerprints per version (an enormous page must not grow the row without bound)

Reader = Callable[[ArticleConfig], Article]


def source_id(article: ArticleConfig) -> str:
    return f"article:{article.id}"


def touches(changed: str, region: str) -> bool:
    """A change at `changed` matters to readers in `region` when it is the region, above it (a federal
    rule applies in Florida) or below it (a county ordinance is news to a Florida page)."""
    return regions.covers(changed, region) or regions.covers(region, changed)


def text_hash(article: Article) -> str:
    """The SHA-256 of what the article says: title and sentences, normalised as sources are compared
    (`charset.normalize_text`), so a re-rendered page (markup, spacing, a script) is not an edit."""
    return sha256_hex(normalize_text(article.title + " " + " ".join(article.sentences)))


def claim_print(claim: dict[str, Any]) -> str:
    """A claim's identity across versions: where, what substance, what kind and its words (normalised)."""
    region = (claim.get("region") or {}).get("code") or ""
    words = normalize_text(str(claim.get("text") or "")).casefold()
    return sha256_hex("\x1f".join([region, str(claim.get("substance") or ""), str(claim.get("kind") or ""),
                                    words]))[:16]


def due(watched: ArticleConfig, state: WatchedArticle | None, now: datetime) -> bool:
    """Whether the article's interval has passed since it was last read (never read: due)."""
    if state is None or not state.checked_at:
        return True
    try:
        checked = datetime.fromisoformat(state.checked_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    return now - checked >= timedelta(seconds=watched.interval)


def articles_due(config: Config, store: Store, now: datetime) -> bool:
    return any(due(w, store.watched_article(w.id), now) for w in config.articles)


def article_events(config: Config, store: Store, events: list[Event], read: Reader | None = None,
                   only_due: bool = False, now: datetime | None = None) -> list[int]:
    """Read the watched articles (all of them when a status event is among `events` or `only_due` is false;
    else those whose interval has passed), write the `article` events due, and return their ids."""
    if not config.articles:
        return []
    changes = [e for e in events if e.kind == EventKind.STATUS]
    moment = now or datetime.now(UTC)
    chosen = [w for w in config.articles
              if changes or not only_due or due(w, store.watched_article(w.id), moment)]
    if not chosen:
        return []
    read, close = (read, None) if read is not None else _reader(config)
    written: list[int] = []
    reader = CachedReader(store)
    try:
        for watched in chosen:
            written += _watch_one(config, store, reader, watched, read, changes)
    finally:
        if close is not None:
            close()
    return written


def _watch_one(config: Config, store: Store, reader: CachedReader, watched: ArticleConfig, read: Reader,
               changes: list[Event]) -> list[int]:
    now = utc_now()
    state = store.watched_article(watched.id)
    try:
        article = read(watched)
        if not article.sentences:
            raise ArticleError("no text found (an empty or script-only page is not a version of the article)")
    except ArticleError as exc:
        log.warning("article %s: %s", watched.id, exc)
        store.watched_article_failed(watched.id, watched.location, str(exc), now)
        return []
    digest = text_hash(article)
    edited = state is None or state.sha256 != digest
    if not edited and not changes:
        store.save_watched_article(_reading(watched, article, state, digest, state.claims if state else (), now))
        return []
    report = check_article(article, reader, None, [regions.lookup(c) for c in watched.regions],
                           config.publish.base_url)
    drafts = _status_drafts(config, store, watched, report, changes)
    versions = state.claims if state else ()
    if edited:
        drafts += _edit_drafts(store, watched, report, digest, versions, first=state is None or not state.sha256,
                               covered={d.jurisdiction for d in drafts})
        prints = tuple(dict.fromkeys(claim_print(c) for c in report["claims"]))[:MAX_CLAIMS_KEPT]
        versions = ((prints, *versions)[:VERSIONS_KEPT])
    with store.transaction():
        store.save_watched_article(_reading(watched, article, state, digest, versions, now))
        return store.add_events(source_id(watched), drafts, now) if drafts else []


def _reading(watched: ArticleConfig, article: Article, state: WatchedArticle | None, digest: str,
             versions: Iterable[tuple[str, ...]], now: str) -> WatchedArticle:
    changed = state.changed_at if state is not None and state.sha256 == digest else now
    return WatchedArticle(id=watched.id, location=watched.location, title=article.title or None, sha256=digest,
                          claims=tuple(versions), checked_at=now, changed_at=changed, last_error=None)


def _reader(config: Config) -> tuple[Reader, Callable[[], None]]:
    """One Fetcher for the whole round (per-host politeness holds across articles on one site)."""
    fetcher: Any = None

    def read(watched: ArticleConfig) -> Article:
        nonlocal fetcher
        if watched.url:
            if fetcher is None:
                from kratom_tracker.fetch.client import Fetcher

                fetcher = Fetcher.from_config(config)
            return load_article(watched.url, fetcher)
        return load_article(watched.path or "")

    def close() -> None:
        if fetcher is not None:
            fetcher.close()

    return read, close


# -- case 1: a status change touches the article ------------------------------------------------------------


def _status_drafts(config: Config, store: Store, watched: ArticleConfig, report: dict[str, Any],
                   changes: list[Event]) -> list[EventDraft]:
    named = [p["code"] for p in report["places"]]
    places = list(dict.fromkeys([*watched.regions, *named]))
    drafts = []
    for change in changes:
        for code in (c for c in places if touches(change.jurisdiction, c)):
            key = f"{watched.id}:{change.id}:{code}"
            if store.has_event_key(source_id(watched), key):
                continue
            draft = _status_draft(config, watched, report, change, code, key, code in watched.regions)
            if draft is not None:
                drafts.append(draft)
    return drafts


def _status_draft(config: Config, watched: ArticleConfig, report: dict[str, Any], change: Event, code: str,
                  key: str, read_there: bool) -> EventDraft | None:
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
    return _article_draft(watched, code, f"{page}: out of date on {region.name}", summary, lines, wrong,
                          {"key": key, "status_event": change.id})


def _now_text(change: Event, substance: str) -> str:
    """"since 2026-07-01 Florida bans 7-OH (…)": the status now in force, from the change's new assertions."""
    new = [a for a in (change.data.get("new") or []) if isinstance(a, dict)]
    first = new[0] if new else {}
    entry = {"status": first.get("status") or "unknown", "jurisdiction": change.jurisdiction,
             "detail": first.get("detail") or "", "effective_date": first.get("effective_date")}
    since = f"since {first['effective_date']} " if first.get("effective_date") else ""
    return since + describe({**entry, "effective_date": None}, regions.lookup(change.jurisdiction), substance)


# -- case 2: the article changed ------------------------------------------------------------------------------


def _edit_drafts(store: Store, watched: ArticleConfig, report: dict[str, Any], digest: str,
                 versions: tuple[tuple[str, ...], ...], first: bool, covered: set[str]) -> list[EventDraft]:
    """One event per region for the wrong claims this version brought (none of the kept versions made them);
    a region a status-change event of this same round already told about is skipped."""
    known = {p for version in versions for p in version}
    fresh: dict[str, list[dict[str, Any]]] = {}
    for claim in report["claims"]:
        code = (claim.get("region") or {}).get("code")
        if claim["verdict"] in NEWS and code and code not in covered and claim_print(claim) not in known:
            fresh.setdefault(code, []).append(claim)
    page = f"Your page '{watched.name}'"
    verb = "says" if first else "changed; it now says"
    drafts = []
    for code, wrong in fresh.items():
        key = f"{watched.id}:version:{digest[:16]}:{code}"
        if store.has_event_key(source_id(watched), key):
            continue
        region = regions.lookup(code)
        claim = wrong[0]
        summary = f"{page} {verb} “{claim['text']}” about {region.name}: {claim['verdict']}; {claim['explanation']}"
        lines = [summary, ""] + [f"Also: “{c['text']}” — {c['verdict']}: {c['explanation']}" for c in wrong[1:5]]
        title = f"{page}: {'a claim' if len(wrong) == 1 else f'{len(wrong)} claims'} out of date on {region.name}"
        drafts.append(_article_draft(watched, code, title, summary, lines, wrong,
                                     {"key": key, "version": digest, "first_reading": first}))
    return drafts


def _article_draft(watched: ArticleConfig, code: str, title: str, summary: str, lines: list[str],
                   wrong: list[dict[str, Any]], extra: dict[str, Any]) -> EventDraft:
    citation = (wrong[0].get("citation") if wrong else None) or {}
    return EventDraft(
        kind=EventKind.ARTICLE.value, jurisdiction=code, title=title, summary=summary, diff="\n".join(lines),
        url=watched.url or "",
        data={**extra, "article": watched.id, "name": watched.name, "location": watched.location,
              "maintainers": list(watched.notify),
              "verdicts": [{k: c.get(k) for k in ("text", "verdict", "explanation", "since")} for c in wrong],
              "citation": citation},
    )
