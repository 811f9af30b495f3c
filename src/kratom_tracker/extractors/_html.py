"""HTML to normalised text lines: the helpers that HTML-reading extractors share.

Text lines are what a person reads: one line per block element, whitespace folded, markup dropped.
Comparing these lines (not the markup) is what makes markup-only and whitespace-only edits invisible."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from lxml import etree, html

from kratom_tracker import checks

BLOCK_TAGS = frozenset(
    ["address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details", "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "option", "legend"]
)
SKIP_TAGS = frozenset(["script", "style", "noscript", "template", "head", "svg", "math", "iframe", "object", "embed", "canvas", "select"])
_local = threading.local()


def parse_html(text: str) -> etree._Element | None:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = html.HTMLParser(encoding="utf-8", remove_comments=True, no_network=True)
    data = text.encode("utf-8", errors="replace")
    if not data.strip():
        return None
    try:
        return html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return None


def select(root: etree._Element, selector: str) -> list[etree._Element]:
    """Elements matching a CSS selector, outermost only (a match inside another adds nothing)."""
    cache = getattr(_local, "xpaths", None)
    if cache is None:
        cache = _local.xpaths = {}
    compiled = cache.get(selector)
    if compiled is None:
        from cssselect import HTMLTranslator

        compiled = cache[selector] = etree.XPath(HTMLTranslator().css_to_xpath(selector))
    matches = compiled(root)
    chosen = set(matches)
    return [el for el in matches if not any(a in chosen for a in el.iterancestors())]


def text_lines(elements: Iterable[etree._Element]) -> list[str]:
    """Readable lines of text: a line per block element, whitespace folded, empty lines dropped."""
    pieces: list[str] = []
    for root in elements:
        _collect_text(root, pieces)
        pieces.append("\n")
    return fold_lines("".join(pieces))


def fold_lines(text: str) -> list[str]:
    return [folded for line in text.split("\n") if (folded := " ".join(line.split()))]


def _collect_text(root: etree._Element, out: list[str]) -> None:
    """Block boundaries become line breaks; line breaks inside text are just whitespace (except in <pre>)."""
    skipping = 0
    in_pre = 0

    def add(text: str | None) -> None:
        if text:
            out.append(text if in_pre else text.replace("\r", " ").replace("\n", " "))

    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else None
        if event == "start":
            if tag in SKIP_TAGS:
                skipping += 1
            if tag is None or skipping:
                continue
            if tag == "pre":
                in_pre += 1
            if tag in BLOCK_TAGS:
                out.append("\n")
            elif tag in ("td", "th"):
                out.append(" ")
            add(el.text)
        else:
            if tag in SKIP_TAGS:
                skipping -= 1
            elif tag in BLOCK_TAGS and not skipping:
                out.append("\n")
            if tag == "pre" and not skipping:
                in_pre -= 1
            if el is not root and not skipping:
                add(el.tail)


def drop_ignored(lines: list[str], patterns: Iterable[str]) -> list[str]:
    compiled = [checks.pattern(p) for p in patterns]
    if not compiled:
        return lines
    return [line for line in lines if not any(p.search(line) for p in compiled)]


def looks_binary(body: bytes) -> bool:
    return b"\x00" in body[:4096]
