"""`page`: one HTML page; the part picked by `select` becomes text lines, `ignore` drops lines.

Guards (extractors/_guards.py): a redirect to another path is `moved`; the selected text must match
`require` (default: kratom, mitragyn or 7-OH) or the outcome is `off-topic`; when the selector or the topic
check fails on a document that is a JavaScript shell, the outcome is `needs-browser`. None writes an event."""

from __future__ import annotations

from dataclasses import dataclass

from kratom_tracker import checks
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors import Extractor, _guards, option
from kratom_tracker.extractors._html import drop_ignored, looks_binary, parse_html, select, text_lines
from kratom_tracker.values import Extraction, Response
from kratom_tracker.vocab import Outcome


class PageExtractor(Extractor):
    type_name = "page"
    help = "one HTML page; `select` (CSS) picks the part that matters; emits content events (a text diff)"
    @dataclass(frozen=True)
    class Options:
        select: str = option("body", check=checks.css_selector, help="CSS selector of the part that matters")
        ignore: tuple[str, ...] = option((), check=checks.ignore_regex_list,
                                         help="regexes; matching lines never count")
        require: str = option(_guards.DEFAULT_REQUIRE, check=_guards.require_pattern,
                              help="regex the selected text must match, else the outcome is off-topic "
                                   "(empty: no topic check)")

    def extract(self, source: SourceConfig, response: Response) -> Extraction:
        if (refused := _guards.moved(response)) is not None:
            return refused
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
            return _guards.needs_browser(root) or Extraction(
                outcome=Outcome.SELECTOR_MISSING, error=f"selector {selector!r} matched nothing")
        selected = text_lines(matches)
        if not selected:
            return _guards.needs_browser(root) or Extraction(
                outcome=Outcome.EMPTY, error=f"selector {selector!r} matched only empty text")
        if not _guards.topic_found(selected, source.options.require):
            return _guards.needs_browser(root) or _guards.off_topic(source.options.require,
                                                                     f"the text selected by {selector!r}")
        lines = drop_ignored(selected, source.options.ignore)
        if not lines:
            return Extraction(outcome=Outcome.EMPTY, error=f"selector {selector!r} matched only empty text")
        return Extraction(lines=lines)
