"""Topic guards and wrong-page detection, shared by the document types (`page`, `pdf`) and by
`sources doctor`.

A watched page can stop being the page we watch without any HTTP error: a redesign moves the text out
of the selected element, the publisher replaces the page by a JavaScript application that renders in the
browser, or the URL redirects to a home or search page. Each of these would otherwise be recorded as a
`content` event ("page changed": every line removed) and reach subscribers. The guards turn them into
failed outcomes instead (`off-topic`, `needs-browser`, `moved`): recorded for operators, no event.

- `require` (default `DEFAULT_REQUIRE`: kratom, mitragyn or 7-OH) must match the selected text;
- a JavaScript shell is a document whose visible text is short while its scripts are not (or which is
  an empty application mount point such as `<div id="root">`); it is only suspected when the selector or
  the topic check fails, so a real page that happens to carry big scripts is never refused;
- a redirect that ends on another path (not just http→https or another host spelling) is a move.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import etree

from kratom_tracker import checks
from kratom_tracker.charset import normalize_text
from kratom_tracker.extractors._html import SKIP_TAGS, text_lines
from kratom_tracker.values import Extraction, Response
from kratom_tracker.vocab import Outcome

DEFAULT_REQUIRE = r"(?i)kratom|mitragyn|\b7-?OH\b"
# A JavaScript shell: under this many characters of visible text (a real advisory or statute page has
# thousands; the shells seen on state sites carry a title and "please enable JavaScript", < 200)...
SHELL_MAX_TEXT = 400
# ...and at least this many times as many characters of inline script, or this many external scripts.
SHELL_SCRIPT_RATIO = 2.0
SHELL_EXTERNAL_SCRIPTS = 3
_MOUNT_IDS = frozenset(["root", "app", "__next", "__nuxt", "___gatsby", "svelte", "main-app"])


def require_pattern(value: Any) -> str:
    """A `require` value: a safe regex, or an empty text / null to switch the topic check off."""
    if value is None or value == "":
        return ""
    return checks.regex(value)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def topic_found(lines: Iterable[str], pattern: str) -> bool:
    """Whether any line matches `pattern` (an empty pattern: the check is off)."""
    if not pattern:
        return True
    rx = _compiled(pattern)
    # On the text as it is compared: "Kra\u200dtom" (a zero-width joiner inside) still names the topic.
    return any(rx.search(normalize_text(line)) for line in lines)


def off_topic(pattern: str, where: str) -> Extraction:
    return Extraction(outcome=Outcome.OFF_TOPIC,
                      error=f"{where} no longer mentions the topic (require {pattern!r}); not the page watched?")


# -- redirects -------------------------------------------------------------------------------------------


def _path(url: str) -> str:
    return unquote(urlsplit(url).path).rstrip("/") or "/"


def moved_to(response: Response) -> str | None:
    """The URL a redirect ended on when its path differs from the requested one, else None."""
    final = response.final_url
    if not final or final == response.url or not final.startswith(("http://", "https://")):
        return None  # no redirect, or a saved file read by `sources test` (file:), which is no redirect
    return final if _path(final) != _path(response.url) else None


def moved(response: Response) -> Extraction | None:
    target = moved_to(response)
    if target is None:
        return None
    return Extraction(outcome=Outcome.MOVED, error=f"redirected from {response.url} to {target}; update the "
                      "source's url if the page moved")


# -- JavaScript shells -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShellSigns:
    """What a document is made of: visible text against scripts."""

    text_chars: int
    inline_script_chars: int
    external_scripts: int
    empty_mount: bool

    @property
    def suspected(self) -> bool:
        if self.text_chars >= SHELL_MAX_TEXT:
            return False
        return (self.empty_mount or self.external_scripts >= SHELL_EXTERNAL_SCRIPTS
                or self.inline_script_chars >= max(1, self.text_chars) * SHELL_SCRIPT_RATIO)

    def describe(self) -> str:
        return (f"{self.text_chars} characters of text, {self.inline_script_chars} of inline script, "
                f"{self.external_scripts} external scripts" + (", an empty application mount point"
                                                                if self.empty_mount else ""))


def shell_signs(root: etree._Element) -> ShellSigns:
    body = root.find("body")
    text = sum(len(line) for line in text_lines([body if body is not None else root]))
    inline = external = 0
    for script in root.iter("script"):
        kind = (script.get("type") or "").lower()
        if kind in ("application/ld+json", "application/json", "text/template"):
            continue  # data, not code
        if script.get("src"):
            external += 1
        else:
            inline += len(script.text or "")
    empty_mount = any(el.get("id") in _MOUNT_IDS and not "".join(el.itertext()).strip()
                      for el in root.iter("div", "main", "app-root"))
    return ShellSigns(text, inline, external, empty_mount)


def needs_browser(root: etree._Element) -> Extraction | None:
    signs = shell_signs(root)
    if not signs.suspected:
        return None
    return Extraction(outcome=Outcome.NEEDS_BROWSER, error=f"a JavaScript shell ({signs.describe()}): the "
                      "content is rendered in the browser; find the site's API, feed or a static copy")


# -- the narrowest element holding the topic (for `sources doctor`) --------------------------------------


def topic_elements(root: etree._Element, pattern: str) -> list[etree._Element]:
    """The elements whose own text (or a child's tail) mentions the topic, in document order."""
    rx = _compiled(pattern or DEFAULT_REQUIRE)
    found: list[etree._Element] = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in SKIP_TAGS or any(a.tag in SKIP_TAGS for a in el.iterancestors()):
            continue
        own = (el.text or "") + "".join(child.tail or "" for child in el)
        if rx.search(own):
            found.append(el)
    return found


def narrowest_selector(root: etree._Element, pattern: str) -> str | None:
    """A CSS selector for the smallest element that holds every mention of the topic, or None."""
    mentions = topic_elements(root, pattern)
    if not mentions:
        return None
    common = _common_ancestor(mentions)
    while common.tag in ("p", "span", "a", "li", "td", "strong", "em", "b", "i") and common.getparent() is not None:
        common = common.getparent()  # a paragraph is too narrow to keep: its neighbours are the context
    return css_path(common)


def _common_ancestor(elements: list[etree._Element]) -> etree._Element:
    def chain(el: etree._Element) -> list[etree._Element]:
        return [*reversed(list(el.iterancestors())), el]

    common = chain(elements[0])
    for el in elements[1:]:
        other = chain(el)
        size = 0
        while size < min(len(common), len(other)) and common[size] is other[size]:
            size += 1
        common = common[:size]
    return common[-1]


_CSS_IDENT = re.compile(r"^-?[A-Za-z_][\w-]*$")


def css_path(el: etree._Element) -> str:
    """A short selector that picks `el` alone: `tag#id`, else a landmark (`main`, `article`) or
    `tag.class` when unique in the document, else a child path from the nearest ancestor that has one of those."""
    doc = el.getroottree().getroot()
    steps: list[str] = []
    current: etree._Element | None = el
    while current is not None:
        step = _unique_step(current, doc)
        if step:
            steps.append(step)
            break
        parent = current.getparent()
        if parent is None:
            steps.append(current.tag)
            break
        same = [c for c in parent if c.tag == current.tag]
        steps.append(current.tag if len(same) == 1 else f"{current.tag}:nth-of-type({same.index(current) + 1})")
        current = parent
    return " > ".join(reversed(steps))


def _unique_step(el: etree._Element, doc: etree._Element) -> str | None:
    tag = el.tag
    ident = el.get("id")
    if ident and _CSS_IDENT.match(ident):  # an id outlives a second <article> added to the page
        return f"{tag}#{ident}"
    if tag in ("body", "html", "main", "article") and sum(1 for _ in doc.iter(tag)) == 1:
        return tag
    classes = [c for c in (el.get("class") or "").split() if _CSS_IDENT.match(c)]
    for cls in classes:
        if sum(1 for other in doc.iter(tag) if cls in (other.get("class") or "").split()) == 1:
            return f"{tag}.{cls}"
    return None
