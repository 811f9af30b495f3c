"""The one place where event text becomes HTML (feeds, dashboard) or plain text (notifications).

Everything in an event came from a scraped page at some point, so it is treated as hostile: every piece
of text is escaped before it is put inside our own markup, and the result is passed through nh3 with a
short allow-list (no scripts, no event handlers, no styles, links only to http/https)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import nh3

from kratom_tracker.values import Event

MAX_DIFF_LINES = 400  # a feed entry or a dashboard card never carries a whole rewritten page
MAX_QUOTE_CHARS = 1000
_TAG_LIKE = re.compile(r"[<>]")

_ALLOWED_TAGS = {"div", "p", "pre", "code", "span", "ins", "del", "a", "blockquote", "strong", "em", "br",
                 "ul", "li", "small"}
_ALLOWED_CLASSES = {
    "div": {"kt-event", "kt-evidence"},
    "pre": {"kt-diff"},
    "span": {"kt-ctx", "kt-hunk", "kt-file"},
    "ins": {"kt-add"},
    "del": {"kt-del"},
}
_CLEANER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags={"script", "style", "textarea", "title", "noscript", "iframe", "object", "template"},
    attributes={"a": {"href"}},
    allowed_classes=_ALLOWED_CLASSES,
    url_schemes={"http", "https"},
    link_rel="nofollow noopener noreferrer",
    strip_comments=True,
)


def sanitize(fragment: str) -> str:
    """The final gate for any HTML we hand out: the allow-list above, nothing else survives."""
    return _CLEANER.clean(fragment)


def safe_url(url: Any) -> str | None:
    """The URL if it is an absolute http(s) link, else None (javascript:, data:, relative, junk)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if any(ord(ch) < 0x20 or ch.isspace() for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def plain_title(text: str) -> str:
    """A one-line title with no markup at all, safe in feed readers that treat RSS titles as HTML."""
    text = html.unescape(nh3.clean(text or "", tags=set(), clean_content_tags={"script", "style"}))
    text = _TAG_LIKE.sub(lambda m: "‹" if m.group() == "<" else "›", text)
    return " ".join(text.split())[:300]


def event_title(event: Event) -> str:
    """Region, substance or source, and what happened. Status titles from detect already lead with the
    jurisdiction ("US-TN leaf: regulated → banned, effective 2026-07-01"); others get it prefixed."""
    title = plain_title(event.title or "")
    jurisdiction = event.jurisdiction or ""
    if jurisdiction and not title.startswith(jurisdiction + " "):
        title = f"{jurisdiction}: {title}"
    return title


def diff_html(diff: str) -> str:
    """A unified diff as <pre>, one line each, added lines in <ins> and removed lines in <del>."""
    lines = (diff or "").splitlines()
    shown, hidden = lines[:MAX_DIFF_LINES], max(0, len(lines) - MAX_DIFF_LINES)
    out = []
    for line in shown:
        text = html.escape(line, quote=True)
        if line.startswith(("+++", "---")):
            out.append(f'<span class="kt-file">{text}</span>')
        elif line.startswith("@@"):
            out.append(f'<span class="kt-hunk">{text}</span>')
        elif line.startswith("+"):
            out.append(f'<ins class="kt-add">{text}</ins>')
        elif line.startswith("-"):
            out.append(f'<del class="kt-del">{text}</del>')
        else:
            out.append(f'<span class="kt-ctx">{text}</span>')
    if hidden:
        out.append(f'<span class="kt-ctx">… {hidden} more lines</span>')
    return '<pre class="kt-diff">' + "\n".join(out) + "</pre>" if out else ""


@dataclass(frozen=True)
class Citation:
    """One piece of evidence as a reader sees it: the link, the quote, and how far it can be trusted."""

    url: str | None
    quote: str
    kind: str = ""  # primary | secondary | "" (not known)

    @property
    def label(self) -> str:
        return f"Evidence ({self.kind})" if self.kind in ("primary", "secondary") else "Evidence"


def evidence_items(event: Event) -> list[Citation]:
    """For a status change the new assertions' citations (the old ones when none is left), else the
    event's url with its summary."""
    data = event.data or {}
    items: list[Citation] = []
    if event.kind == "status":
        for assertion in (data.get("new") or data.get("old") or [])[:5]:
            if isinstance(assertion, dict):
                items.append(Citation(safe_url(assertion.get("evidence_url")), str(assertion.get("quote") or ""),
                                      str(assertion.get("evidence_kind") or "")))
    if not items:
        items.append(Citation(safe_url(event.url), str(event.summary or "")))
    return [Citation(c.url, c.quote[:MAX_QUOTE_CHARS], c.kind) for c in items if c.url or c.quote]


def evidence_html(event: Event, base_url: str = "") -> str:
    parts = []
    for item in evidence_items(event):
        block = ""
        if item.quote:
            block += f"<blockquote>{html.escape(item.quote, quote=True)}</blockquote>"
        if item.url:
            label = html.escape(item.url, quote=True)
            block += (f'<p><small>{html.escape(item.label)}: <a href="{html.escape(item.url, quote=True)}">{label}'
                      "</a></small></p>")
        parts.append(block)
    kept = document_link(event, base_url)
    if kept:
        parts.append(f'<p><small>The document as fetched: <a href="{html.escape(kept, quote=True)}">'
                     f"{html.escape(kept)}</a></small></p>")
    return '<div class="kt-evidence">' + "".join(parts) + "</div>" if parts else ""


def document_link(event: Event, base_url: str = "") -> str | None:
    """Where the kept document of a status event is served (`/api/evidence/{id}`), if it has one."""
    if not event.evidence_sha256:
        return None
    return f"{base_url}/api/evidence/{event.id}"


def event_html(event: Event, base_url: str = "") -> str:
    """The entry content of a feed and the body of a dashboard card: the diff, then the evidence (with
    its quality, and a link to the kept document when there is one; `base_url` makes it absolute)."""
    meta = (f"<p><small>{html.escape(str(event.kind or ''))} change detected "
            f"{html.escape(str(event.detected_at or ''))} by source "
            f"<code>{html.escape(str(event.source_id or ''))}</code></small></p>")
    body = ('<div class="kt-event">' + meta + diff_html(event.diff or "") + evidence_html(event, base_url)
            + "</div>")
    return sanitize(body)


def event_text(event: Event, link: str | None = None, max_diff_lines: int = 40) -> str:
    """Plain text for notifications: title, what changed, evidence. Never markup."""
    lines = [event_title(event), ""]
    diff = (event.diff or "").splitlines()
    lines += diff[:max_diff_lines]
    if len(diff) > max_diff_lines:
        lines.append(f"… {len(diff) - max_diff_lines} more lines")
    for item in evidence_items(event):
        if item.quote:
            lines += ["", f"“{' '.join(item.quote.split())}”"]
        if item.url:
            lines.append(f"{item.label}: {item.url}")
    if link:
        lines += ["", f"Feed: {link}"]
    return strip_markup("\n".join(lines))


def strip_markup(text: str) -> str:
    """Text with any tag-like sequence neutralised, so a notifier that renders HTML shows it as text."""
    return _TAG_LIKE.sub(lambda m: "‹" if m.group() == "<" else "›", text)
