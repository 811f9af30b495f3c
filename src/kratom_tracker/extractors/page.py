"""`page`: one HTML page; the part picked by `select` becomes text lines, `ignore` drops lines."""

from __future__ import annotations

from dataclasses import dataclass

from kratom_tracker import checks
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors import Extractor, option
from kratom_tracker.extractors._html import drop_ignored, looks_binary, parse_html, select, text_lines
from kratom_tracker.values import Extraction, Response
from kratom_tracker.vocab import Outcome


class PageExtractor(Extractor):
    type_name = "page"
    help = "one HTML page; `select` (CSS) picks the part that matters; emits content events (a text diff)"
    @dataclass(frozen=True)
    class Options:
        select: str = option("body", check=checks.css_selector, help="CSS selector of the part that matters")
        ignore: tuple[str, ...] = option((), check=checks.ignore_regex_list, help="regexes; matching lines never count")

    def extract(self, source: SourceConfig, response: Response) -> Extraction:
        if not response.body.strip():
            return Extraction(outcome=Outcome.EMPTY, error="the page body is empty")
        if looks_binary(response.body):
            return Extraction(outcome=Outcome.PARSE_ERROR, error=f"binary content ({response.content_type or 'no type'})")
        root = parse_html(response.text)
        if root is None:
            return Extraction(outcome=Outcome.PARSE_ERROR, error="not parseable as HTML")
        selector = source.options.select
        matches = select(root, selector)
        if not matches:
            return Extraction(outcome=Outcome.SELECTOR_MISSING, error=f"selector {selector!r} matched nothing")
        lines = drop_ignored(text_lines(matches), source.options.ignore)
        if not lines:
            return Extraction(outcome=Outcome.EMPTY, error=f"selector {selector!r} matched only empty text")
        return Extraction(lines=lines)
