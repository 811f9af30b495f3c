"""`wikipedia`: one section of a MediaWiki article, read from its wikitext, as text lines.

Why wikitext and not the rendered page: the rendered HTML renumbers every footnote marker when a
reference is added anywhere above the section, and re-renders when a template or citation style
changes elsewhere; both would show up as a diff of the legal-status text that says nothing new.
The wikitext of the section, with references, maintenance tags and markup removed, changes only when
someone edits the words of that section.

One fetch per run. `via: raw` (the default) asks for `/wiki/<Title>?action=raw`, the plain wikitext,
because Wikimedia's robots.txt disallows `/w/` and `/api/` for general agents. `via: api` asks the
MediaWiki Action API (`action=parse`, wikitext and revision id; redirects followed) for wikis whose
robots.txt allows it; the revision id then goes into the event data. Either way the section is cut
from the whole wikitext by its heading, so no second request is needed to find its number."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from kratom_tracker import checks
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors import Extractor, option
from kratom_tracker.extractors._html import fold_lines, looks_binary
from kratom_tracker.values import Extraction, Response
from kratom_tracker.vocab import Outcome

_HEADING = re.compile(r"^(={2,6})\s*(.+?)\s*\1\s*$", re.MULTILINE)
_REDIRECT = re.compile(r"^\s*#REDIRECT\s*\[\[([^\]|#]+)", re.IGNORECASE)
# Links into these namespaces are images or page categories, not words of the text.
_NON_TEXT_LINKS = ("file:", "image:", "category:", "media:")
# Deeper nesting than any article has; past it the parser's backtracking gets slow.
MAX_NESTING = 40
# Templates that carry words of the sentence; every other template (citation needed, update section,
# main article hatnotes, infoboxes) is dropped, since their churn is not a change of the text.
_TEXT_TEMPLATES = {"lang", "langx", "transl", "nowrap", "nobr", "vanchor", "em", "strong", "small"}


def _section_names(value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise ValueError("expected a section heading (text) or a list of headings, e.g. [Legal status, Legality]")
    return tuple(n.strip() for n in names)


@dataclass(frozen=True)
class Wikitext:
    text: str
    title: str
    revid: int | None = None


class WikipediaExtractor(Extractor):
    type_name = "wikipedia"
    help = ("one section of a MediaWiki article (url: https://<wiki>/wiki/<Title>), read from its wikitext "
            "with references and markup removed; emits content events with the revision")
    @dataclass(frozen=True)
    class Options:
        section: tuple[str, ...] = option(check=_section_names,
                                          help="heading of the section to watch, or a list of alternative headings")
        via: str = option("raw", check=checks.one_of("raw", "api"),
                          help="raw: /wiki/Title?action=raw (robots-allowed on Wikimedia); api: /w/api.php parse")
        ignore: tuple[str, ...] = option((), check=checks.ignore_regex_list, help="regexes; matching lines never count")

    def request_url(self, source: SourceConfig) -> str:
        assert source.url is not None
        parts = urlsplit(source.url)
        title = article_title(source.url)
        if source.options.via == "api":
            query = urlencode({"action": "parse", "page": title, "prop": "wikitext|revid", "redirects": "1",
                               "format": "json", "formatversion": "2"}, safe="|")
            return f"{parts.scheme}://{parts.netloc}/w/api.php?{query}"
        return f"{parts.scheme}://{parts.netloc}/wiki/{quote(title.replace(' ', '_'), safe=':/()_,')}?action=raw"

    def extract(self, source: SourceConfig, response: Response) -> Extraction:
        if not response.body.strip():
            return Extraction(outcome=Outcome.EMPTY, error="the answer is empty")
        if looks_binary(response.body):
            return Extraction(outcome=Outcome.PARSE_ERROR, error=f"binary content ({response.content_type or 'no type'})")
        try:
            page = _read_answer(response, fallback_title=article_title(source.url or ""))
        except _Refused as refused:
            return Extraction(outcome=refused.outcome, error=refused.reason)
        redirect = _REDIRECT.match(page.text)
        if redirect:
            return Extraction(outcome=Outcome.SELECTOR_MISSING,
                              error=f"{page.title!r} is now a redirect to {redirect.group(1).strip()!r}; "
                                    "point the source's url at that article")
        names = source.options.section
        found = cut_section(page.text, names)
        if found is None:
            return Extraction(outcome=Outcome.SELECTOR_MISSING,
                              error=f"no section headed {' or '.join(repr(n) for n in names)} in {page.title!r}")
        heading, body = found
        too_deep = check_nesting(body)
        if too_deep:
            return Extraction(outcome=Outcome.PARSE_ERROR, error=f"section {heading!r}: {too_deep}")
        patterns = [checks.pattern(p) for p in source.options.ignore]
        lines = [line for line in [heading, *wikitext_lines(body)] if not any(p.search(line) for p in patterns)]
        if len(lines) <= 1:
            return Extraction(outcome=Outcome.EMPTY, error=f"section {heading!r} has no text")
        event_data: dict[str, Any] = {"article": page.title, "section": heading}
        if page.revid:
            event_data["revid"] = page.revid
            parts = urlsplit(source.url or "")
            event_data["revision_url"] = f"{parts.scheme}://{parts.netloc}/w/index.php?oldid={page.revid}"
        if response.headers.get("last-modified"):
            event_data["page_last_modified"] = response.headers["last-modified"]
        return Extraction(lines=lines, event_data=event_data)


class _Refused(Exception):
    def __init__(self, outcome: str, reason: str):
        super().__init__(reason)
        self.outcome, self.reason = outcome, reason


def article_title(url: str) -> str:
    """`https://en.wikipedia.org/wiki/Mitragyna_speciosa` -> `Mitragyna speciosa`."""
    path = urlsplit(url).path
    _, marker, rest = path.partition("/wiki/")
    return unquote(rest if marker else path.rsplit("/", 1)[-1]).replace("_", " ").strip()


def _read_answer(response: Response, fallback_title: str) -> Wikitext:
    """Plain wikitext (action=raw), or an Action API parse answer in either JSON format version."""
    text = response.text
    looks_json = response.content_type.endswith("json") or text.lstrip().startswith("{")
    if not looks_json:
        return Wikitext(text=text, title=fallback_title)
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise _Refused(Outcome.PARSE_ERROR, f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise _Refused(Outcome.PARSE_ERROR, "the API answer is not a JSON object")
    error = doc.get("error")
    if isinstance(error, dict):
        code, info = str(error.get("code", "")), str(error.get("info", ""))[:200]
        if code in ("missingtitle", "invalidtitle", "nosuchpageid"):
            raise _Refused(Outcome.SELECTOR_MISSING, f"the article does not exist ({code}: {info})")
        raise _Refused(Outcome.PARSE_ERROR, f"MediaWiki API error {code}: {info}")
    parse = doc.get("parse")
    if not isinstance(parse, dict):
        raise _Refused(Outcome.PARSE_ERROR, "the API answer has no `parse` object")
    wikitext = parse.get("wikitext")
    if isinstance(wikitext, dict):  # formatversion=1 nests the text under "*"
        wikitext = wikitext.get("*")
    if not isinstance(wikitext, str):
        raise _Refused(Outcome.PARSE_ERROR, "the API answer has no wikitext (ask for prop=wikitext)")
    revid = parse.get("revid")
    return Wikitext(text=wikitext, title=str(parse.get("title") or fallback_title),
                    revid=revid if isinstance(revid, int) and not isinstance(revid, bool) else None)


def cut_section(wikitext: str, names: tuple[str, ...]) -> tuple[str, str] | None:
    """The first section whose heading reads as one of `names` (case and markup aside), with its
    subsections: everything up to the next heading of the same or a higher level."""
    headings = [(m, len(m.group(1)), _plain_heading(m.group(2))) for m in _HEADING.finditer(wikitext)]
    wanted = [n.casefold() for n in names]
    for name in wanted:
        for index, (match, level, heading) in enumerate(headings):
            if heading.casefold() != name:
                continue
            end = len(wikitext)
            for later, later_level, _ in headings[index + 1:]:
                if later_level <= level:
                    end = later.start()
                    break
            return heading, wikitext[match.end():end]
    return None


def _plain_heading(markup: str) -> str:
    lines = wikitext_lines(markup)
    return " ".join(lines) if lines else markup.strip()


def wikitext_lines(wikitext: str) -> list[str]:
    """Readable lines: references, comments, maintenance templates, images and categories removed;
    links reduced to their text; subsection headings and table rows kept as lines of their own."""
    import mwparserfromhell

    code = mwparserfromhell.parse(re.sub(r"^\|\+\s*", "", wikitext, flags=re.MULTILINE))  # table captions
    text = re.sub(r"^[*#:;]+\s*", "", _plain(code), flags=re.MULTILINE)  # list markers left in the text
    return [joined for line in fold_lines(text) if (joined := _join_cells(line))]


def check_nesting(wikitext: str, limit: int = MAX_NESTING) -> str | None:
    """Why the text is refused, if it nests brackets or tags deeper than any article does. The
    parser backtracks on deep unclosed nesting (seconds per kilobyte); a vandalised page must not
    stall a run."""
    for opening, closing in (("{{", "}}"), ("[[", "]]"), ("[", "]"), ("<ref", "</ref")):
        depth = 0
        for token in re.finditer(re.escape(opening) + "|" + re.escape(closing), wikitext):
            depth = depth + 1 if token.group() == opening else max(depth - 1, 0)
            if depth > limit:
                return f"markup nests {opening!r} more than {limit} deep"
    return None


# Ends a table cell until the text is folded into lines: a private-use character, which str.split()
# (unlike \x1f) does not take for whitespace.
_CELL_END = "\ue000"


def _plain(code: Any) -> str:
    """The words of a parsed wikitext, in one walk over its nodes (no per-node tree search)."""
    from mwparserfromhell import nodes

    out: list[str] = []
    for node in code.nodes:
        if isinstance(node, nodes.Text):
            out.append(node.value)
        elif isinstance(node, nodes.Tag):
            out.append(_tag_text(node))
        elif isinstance(node, nodes.Wikilink):
            if not str(node.title).strip().lower().startswith(_NON_TEXT_LINKS):
                out.append(_plain(node.text) if node.text is not None else str(node.title).strip())
        elif isinstance(node, nodes.ExternalLink):
            out.append(_plain(node.title) if node.title is not None else "")
        elif isinstance(node, nodes.Template):
            out.append(_template_text(node))
        elif isinstance(node, nodes.Heading):
            out.append("\n" + _plain(node.title).strip() + "\n")
        elif isinstance(node, nodes.HTMLEntity):
            out.append(node.normalize())
        # comments, template arguments and anything else carry no words of the text
    return "".join(out)


def _tag_text(node: Any) -> str:
    tag = str(node.tag).strip().lower()
    if tag == "br":
        return "\n"
    if tag in ("ref", "references") or node.contents is None:
        return ""
    inner = _plain(node.contents)
    if tag in ("td", "th"):
        starts_row = not str(node).startswith(("!!", "||"))  # a cell that opens a line opens a row
        return ("\n" if starts_row else " ") + inner.strip() + _CELL_END
    if tag == "tr":  # a table row becomes one line, cells joined by ` | `
        return "\n" + " ".join(inner.split("\n")).strip() + "\n"
    return inner


def _template_text(node: Any) -> str:
    name = str(node.name).strip().lower()
    if name in _TEXT_TEMPLATES and node.params:
        return _plain(node.params[-1].value)
    if name in ("as of", "asof"):
        return "As of " + " ".join(str(p.value).strip() for p in node.params[:3] if not p.showkey)
    return ""


def _join_cells(line: str) -> str:
    cells = [cell.strip() for cell in line.split(_CELL_END)]
    return " | ".join(cell for cell in cells if cell)
