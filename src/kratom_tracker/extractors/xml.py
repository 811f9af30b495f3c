"""`xml`: an XML document (a bill status file, a register's index, a docket listing). `items` (an XPath)
picks the entries, each an Item whose fields are XPaths relative to it (`key`, `title`, `link`, `summary`,
`published`); detect writes a `notice` per new, changed or withdrawn entry. For a bill's history
(`items: //actions/item`, Congress's BILLSTATUS files), each action is one entry, so each new action is
one notice. Or `lines` (an XPath) picks elements or strings that become text lines, diffed like a page.

Parsing is lxml's with entities left unresolved, no network and no DTD loading (an XML document from
a server we do not control must not read files or URLs through entities). Namespaces: `namespaces`
maps prefixes to URIs for the XPaths."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lxml import etree

from kratom_tracker import checks
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors import Extractor, option
from kratom_tracker.extractors._html import fold_lines, looks_binary
from kratom_tracker.values import Extraction, Item, Response, sha256_hex
from kratom_tracker.vocab import Outcome

MAX_SUMMARY = 600


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_comments=True, remove_pis=True)


@lru_cache(maxsize=512)
def _xpath(expression: str, namespaces: tuple[tuple[str, str], ...] = ()) -> etree.XPath:
    return etree.XPath(expression, namespaces=dict(namespaces) or None, smart_strings=False)


def xpath(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected an XPath expression, e.g. //item")
    try:
        etree.XPath(value)
    except etree.XPathSyntaxError as exc:
        raise ValueError(f"invalid XPath {value!r}: {exc}") from None
    return value


def optional_xpath(value: Any) -> str | None:
    return None if value is None else xpath(value)


def namespace_map(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError("expected a mapping of prefix: namespace URI")
    return tuple(sorted(value.items()))


def node_text(node: Any) -> str:
    """An XPath result as folded text: an element's whole text, a string or number as is."""
    if isinstance(node, etree._Element):
        return " ".join("".join(node.itertext()).split())
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, float) and node.is_integer():
        return str(int(node))
    return " ".join(str(node).split())


class XmlExtractor(Extractor):
    type_name = "xml"
    help = ("an XML document; `items` (XPath) → notice events per entry (one per action for a bill history), "
            "or `lines` (XPath) → a text diff")

    @dataclass(frozen=True)
    class Options:
        items: str | None = option(None, check=optional_xpath, help="XPath of the entries, e.g. //actions/item")
        lines: str | None = option(None, check=optional_xpath, help="XPath of elements kept as text lines")
        key: str | None = option(None, check=optional_xpath,
                                 help="XPath (relative to an entry) of its stable id; default: a hash of the "
                                      "entry's date and title")
        title: str = option("string(title)", check=xpath, help="XPath of an entry's title")
        link: str | None = option(None, check=optional_xpath, help="XPath of an entry's link")
        summary: str | None = option(None, check=optional_xpath, help="XPath of an entry's summary")
        published: str | None = option(None, check=optional_xpath, help="XPath of an entry's date")
        match: str | None = option(None, check=checks.regex, help="regex over entry title and summary")
        namespaces: tuple[tuple[str, str], ...] = option((), check=namespace_map,
                                                         help="prefix: URI for the XPaths")

    def extract(self, source: SourceConfig, response: Response) -> Extraction:
        options = source.options
        body = response.body.lstrip(b"\xef\xbb\xbf")
        if not body.strip():
            return Extraction(outcome=Outcome.EMPTY, error="the body is empty")
        if looks_binary(body):
            return Extraction(outcome=Outcome.PARSE_ERROR, error="binary content, not XML")
        try:
            root = etree.fromstring(body, parser=_parser())
        except etree.XMLSyntaxError as exc:
            return Extraction(outcome=Outcome.PARSE_ERROR, error=f"not well-formed XML: {exc}"[:200])
        if root is None:
            return Extraction(outcome=Outcome.PARSE_ERROR, error="no root element")
        ns = options.namespaces
        if options.items is None:
            if options.lines is None:
                return Extraction(outcome=Outcome.PARSE_ERROR, error="the source sets neither `items` nor `lines`")
            found = _as_list(_xpath(options.lines, ns)(root))
            lines = [line for node in found for line in _node_lines(node)]
            if not lines:
                return Extraction(outcome=Outcome.SELECTOR_MISSING, error=f"XPath {options.lines!r} matched nothing")
            return Extraction(lines=lines)
        entries = [e for e in _as_list(_xpath(options.items, ns)(root)) if isinstance(e, etree._Element)]
        if not entries:
            return Extraction(outcome=Outcome.SELECTOR_MISSING, error=f"XPath {options.items!r} matched nothing")
        items = xml_items(entries, options)
        if options.match:
            rx = re.compile(options.match)
            items = [i for i in items if rx.search(i.title) or rx.search(i.summary)]
        return Extraction(items=items)


def _as_list(result: Any) -> list[Any]:
    return result if isinstance(result, list) else [result]


def _node_lines(node: Any) -> list[str]:
    if isinstance(node, etree._Element):
        return fold_lines("\n".join(t for t in node.itertext()))
    return fold_lines(node_text(node))


def _field(expression: str | None, entry: etree._Element, ns: tuple[tuple[str, str], ...]) -> str:
    if not expression:
        return ""
    found = _as_list(_xpath(expression, ns)(entry))
    return node_text(found[0]) if found else ""


def xml_items(entries: list[etree._Element], options: Any) -> list[Item]:
    """Items in document order; two identical entries (the same action recorded twice) count once."""
    ns = options.namespaces
    items: list[Item] = []
    seen: set[str] = set()
    for entry in entries:
        title = _field(options.title, entry, ns)
        published = _field(options.published, entry, ns)
        key = _field(options.key, entry, ns) or "h:" + sha256_hex(f"{published}\n{title}")[:24]
        if key in seen:
            continue
        seen.add(key)
        summary = _field(options.summary, entry, ns)
        if len(summary) > MAX_SUMMARY:
            summary = summary[: MAX_SUMMARY - 1] + "…"
        items.append(Item(key=key, title=title or "(untitled)", url=_field(options.link, entry, ns),
                          summary=summary, published=published))
    return items
