"""The one place where event text becomes HTML (feeds, dashboard) or plain text (notifications).

Everything in an event came from a scraped page at some point, so it is treated as hostile: every piece
of text is escaped before it is put inside our own markup, and the result is passed through nh3 with a
short allow-list (no scripts, no event handlers, no styles, links only to http/https).

What a person sees is meant to read at a glance in any feed reader, with no stylesheet: a title in words
("Florida — 7-OH: regulated → banned from 2026-07-01"), and the diff as paragraphs (which wrap, unlike
<pre>) where a changed line shows only its changed words in <del>/<ins> (diff-match-patch, word by word),
and each line says in words whether it was changed, added or removed."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import nh3

from kratom_tracker import regions
from kratom_tracker.values import Event

MAX_DIFF_LINES = 400  # a feed entry or a dashboard card never carries a whole rewritten page
MAX_QUOTE_CHARS = 1000
MAX_WORD_DIFF_CHARS = 5000  # longer line pairs are shown whole (removed, then added)
WORD_DIFF_SECONDS = 0.1  # diff-match-patch's own time limit per line pair (it then returns a coarser diff)
MIN_SHARED = 0.3  # below this share of unchanged text, a changed line reads better as removed + added
_TAG_LIKE = re.compile(r"[<>]")
_TOKENS = re.compile(r"\w+|\s+|[^\w\s]")

_ALLOWED_TAGS = {"div", "p", "pre", "code", "span", "ins", "del", "a", "blockquote", "strong", "em", "br",
                 "ul", "li", "small"}
_ALLOWED_CLASSES = {
    "div": {"kt-event", "kt-evidence", "kt-diff"},
    "p": {"kt-ctx", "kt-chg", "kt-add", "kt-del", "kt-gap", "kt-meta"},
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


SUBSTANCE_WORDS = {"leaf": "kratom leaf", "7-OH": "7-OH", "all": "kratom and 7-OH"}
STATUS_WORDS = {"none": "no rule"}  # detect's word for "nothing asserted before"


def place_words(code: str) -> str:
    """`Florida`, `Sarasota County, Florida`, `United States`; the code itself when it names nothing."""
    try:
        return regions.display_name(code) if code else ""
    except Exception:  # a stored code from an older or foreign database: show it as it is
        return code


def event_title(event: Event) -> str:
    """The place in words, then what happened: "Florida — 7-OH: regulated → banned from 2026-07-01" for a
    status change (from its data), "Sarasota County, Florida — Sarasota County ordinance: page changed"
    for the others. Plain text: no markup survives."""
    place = place_words(event.jurisdiction or "")
    data = event.data or {}
    if event.kind == "status" and data.get("substance") and data.get("new_status"):
        substance = SUBSTANCE_WORDS.get(str(data["substance"]), str(data["substance"]))
        old = str(data.get("old_status") or "none")
        new = str(data["new_status"])
        when = f" from {data['effective_date']}" if data.get("effective_date") else ""
        what = f"{substance}: {STATUS_WORDS.get(old, old)} → {STATUS_WORDS.get(new, new)}{when}"
    else:
        what = event.title or ""
    return plain_title(f"{place} — {what}" if place else what)


def diff_html(diff: str) -> str:
    """A unified diff for people, as paragraphs inside <div class="kt-diff">: a changed line with its
    changed words in <del>/<ins>, an added or removed line whole, unchanged context in <small>, and "…"
    between the parts of a long diff. File headers and hunk ranges mean nothing to a reader: dropped."""
    lines = (diff or "").splitlines()
    shown, hidden = lines[:MAX_DIFF_LINES], max(0, len(lines) - MAX_DIFF_LINES)
    out: list[str] = []
    removed: list[str] = []
    added: list[str] = []
    for index, line in enumerate(shown):
        if index < 2 and line.startswith(("--- ", "+++ ")) and not removed and not added:
            continue  # the `--- before` / `+++ after` header
        if line.startswith("@@"):
            out += _change(removed, added)
            if out:
                out.append('<p class="kt-gap">…</p>')
        elif line.startswith("-"):
            if added:  # a removal after additions starts a new change
                out += _change(removed, added)
            removed.append(line[1:])
        elif line.startswith("+"):
            added.append(line[1:])
        else:
            out += _change(removed, added)
            text = line[1:] if line.startswith(" ") else line
            out.append(f'<p class="kt-ctx"><small>{html.escape(text)}</small></p>')
    out += _change(removed, added)
    if hidden:
        out.append(f'<p class="kt-gap">… {hidden} more lines</p>')
    return '<div class="kt-diff">' + "".join(out) + "</div>" if out else ""


def _change(removed: list[str], added: list[str]) -> list[str]:
    """One run of removed and added lines: pairs shown word by word, the rest whole. Empties both lists."""
    out: list[str] = []
    pairs = min(len(removed), len(added))
    for old, new in zip(removed[:pairs], added[:pairs], strict=True):
        inline = word_diff_html(old, new)
        if inline is None:
            out += [_whole("del", old), _whole("ins", new)]
        else:
            out.append(f'<p class="kt-chg"><strong>Changed:</strong> {inline}</p>')
    out += [_whole("del", line) for line in removed[pairs:]] + [_whole("ins", line) for line in added[pairs:]]
    removed.clear()
    added.clear()
    return out


def _whole(tag: str, line: str) -> str:
    label, css = ("Removed", "kt-del") if tag == "del" else ("Added", "kt-add")
    return f'<p class="{css}"><strong>{label}:</strong> <{tag} class="{css}">{html.escape(line)}</{tag}></p>'


def _marked(op: int, text: str) -> str:
    escaped = html.escape(text)
    if op > 0:
        return f'<ins class="kt-add">{escaped}</ins>'
    if op < 0:
        return f'<del class="kt-del">{escaped}</del>'
    return escaped


def word_diff_html(old: str, new: str) -> str | None:
    """`old` → `new` as escaped text with the changed words in <del>/<ins>; None when the lines share too
    little (or are too long) for an inline diff to help."""
    if len(old) + len(new) > MAX_WORD_DIFF_CHARS:
        return None
    diffs = word_diff(old, new)
    shared = sum(len(text) for op, text in diffs if op == 0 and text.strip())
    if shared < MIN_SHARED * max(len(old.strip()), len(new.strip()), 1):
        return None
    return "".join(_marked(op, text) for op, text in diffs)


def word_diff(old: str, new: str) -> list[tuple[int, str]]:
    """diff-match-patch on words rather than characters: each distinct word (or run of spaces, or
    punctuation mark) becomes one character, the diff runs on those and is mapped back (the library's
    line mode, with words for lines). -1 removed, 0 kept, 1 added."""
    from diff_match_patch import diff_match_patch

    dmp = diff_match_patch()
    dmp.Diff_Timeout = WORD_DIFF_SECONDS
    tokens: list[str] = [""]  # index 0 unused, as in the library's own line mode
    seen: dict[str, int] = {}

    def encode(text: str) -> str:
        chars = []
        for token in _TOKENS.findall(text):
            if token not in seen:
                seen[token] = len(tokens)
                tokens.append(token)
            chars.append(chr(seen[token]))
        return "".join(chars)

    diffs = dmp.diff_main(encode(old), encode(new), False)
    dmp.diff_cleanupSemantic(diffs)  # on the encoded words, so a cleanup never splits a word
    dmp.diff_charsToLines(diffs, tokens)
    return [(op, text) for op, text in diffs if text]


def diff_text(diff: str, max_lines: int) -> list[str]:
    """A diff as plain text lines for people (digests): `Changed: Sale [-to minors-]{+of kratom+} …`
    (wdiff's marks), `Added: …`, `Removed: …`; context and headers left out."""
    out: list[str] = []
    removed: list[str] = []
    added: list[str] = []

    def flush() -> None:
        pairs = min(len(removed), len(added))
        for old, new in zip(removed[:pairs], added[:pairs], strict=True):
            marked = "".join(text if op == 0 else (f"{{+{text}+}}" if op > 0 else f"[-{text}-]")
                             for op, text in word_diff(old, new)) if len(old) + len(new) <= MAX_WORD_DIFF_CHARS else None
            out.extend([f"Changed: {marked}"] if marked else [f"Removed: {old}", f"Added: {new}"])
        out.extend([f"Removed: {line}" for line in removed[pairs:]] + [f"Added: {line}" for line in added[pairs:]])
        removed.clear()
        added.clear()

    for index, line in enumerate((diff or "").splitlines()[:MAX_DIFF_LINES]):
        if index < 2 and line.startswith(("--- ", "+++ ")):
            continue
        if line.startswith("-"):
            if added:
                flush()
            removed.append(line[1:])
        elif line.startswith("+"):
            added.append(line[1:])
        else:
            flush()
    flush()
    shown = [" ".join(line.split())[:400] for line in out[:max_lines]]
    return shown + ([f"… {len(out) - max_lines} more lines in the feed"] if len(out) > max_lines else [])


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
    meta = (f"<p class=\"kt-meta\"><small>{html.escape(str(event.kind or ''))} change detected "
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
