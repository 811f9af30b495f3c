"""`pdf`: a PDF document (a rule text, a bill as filed, an agency order). Its text, read page by page with
pypdf, becomes text lines, each prefixed with its page number (`[p. 3] ...`), so a diff says where in the
document a change is. The price: text pushed onto the next page shows as moved lines (removed from
one page, added on the next); for the rules and bills watched (amended in place, rarely reflowed) the
page number is worth it.

The same guards as `page`: a redirect to another path is `moved`, and the text must match `require`
(default kratom, mitragyn or 7-OH) or the outcome is `off-topic`. A PDF without a text layer (a scan)
gives no text: `empty`, with a hint that it needs OCR."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass

from kratom_tracker import checks
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors import Extractor, _guards, option
from kratom_tracker.extractors._html import drop_ignored, fold_lines
from kratom_tracker.values import Extraction, Response
from kratom_tracker.vocab import Outcome

PAGE_PREFIX = re.compile(r"^\[p\. \d+\] ")


def _positive_int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError("expected a whole number of pages, at least 1")
    return value


def page_lines(body: bytes, max_pages: int) -> tuple[list[str], int]:
    """Text lines of each page, prefixed with the page number, and the number of pages in the file."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings on damaged files are noise here
    reader = PdfReader(io.BytesIO(body), strict=False)
    if reader.is_encrypted and reader.decrypt("") == 0:  # an owner password alone still opens with ""
        raise ValueError("the PDF is encrypted")
    lines: list[str] = []
    for number, page in enumerate(reader.pages, start=1):
        if number > max_pages:
            break
        lines.extend(f"[p. {number}] {line}" for line in fold_lines(page.extract_text() or ""))
    return lines, len(reader.pages)


class PdfExtractor(Extractor):
    type_name = "pdf"
    help = "a PDF document; its text (pypdf) as lines prefixed with page numbers; emits content events"

    @dataclass(frozen=True)
    class Options:
        ignore: tuple[str, ...] = option((), check=checks.regex_list,
                                         help="regexes over a line's text (without its page prefix); matching "
                                              "lines never count")
        require: str = option(_guards.DEFAULT_REQUIRE, check=_guards.require_pattern,
                              help="regex the text must match, else the outcome is off-topic (empty: no check)")
        max_pages: int = option(400, check=_positive_int, help="pages read at most (the rest is ignored)")

    def extract(self, source: SourceConfig, response: Response) -> Extraction:
        if (refused := _guards.moved(response)) is not None:
            return refused
        body = response.body
        if not body.strip():
            return Extraction(outcome=Outcome.EMPTY, error="the body is empty")
        if b"%PDF-" not in body[:1024]:
            return Extraction(outcome=Outcome.PARSE_ERROR,
                              error=f"not a PDF ({response.content_type or 'no content type'})")
        try:
            lines, pages = page_lines(body, source.options.max_pages)
        except Exception as exc:  # pypdf raises many types on damaged files; all mean "cannot read it"
            return Extraction(outcome=Outcome.PARSE_ERROR, error=f"unreadable PDF: {type(exc).__name__}: {exc}"[:300])
        if not lines:
            return Extraction(outcome=Outcome.EMPTY, error=f"no text in {pages} page(s): a scan without a text "
                              "layer needs OCR")
        if not _guards.topic_found(lines, source.options.require):
            return _guards.off_topic(source.options.require, "the PDF's text")
        ignore = source.options.ignore
        if ignore:
            kept = drop_ignored([PAGE_PREFIX.sub("", line) for line in lines], ignore)
            kept_set = set(kept)
            lines = [line for line in lines if PAGE_PREFIX.sub("", line) in kept_set]
        if not lines:
            return Extraction(outcome=Outcome.EMPTY, error="every line is ignored")
        warnings = [f"only the first {source.options.max_pages} of {pages} pages were read"] \
            if pages > source.options.max_pages else []
        return Extraction(lines=lines, warnings=warnings)
