"""Property-based fuzzing (hypothesis, bounded to a few seconds): the config loader answers every input
with a Config or a ConfigError pointing at a line, never another exception; the extractors and the
charset decoder take any bytes without raising; and markup-only edits never change the extracted text.
Set KRATOM_TRACKER_FUZZ_EXAMPLES to fuzz for longer."""

from __future__ import annotations

import json
import os
import re
import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kratom_tracker import extractors
from kratom_tracker.charset import decode_text
from kratom_tracker.config.loader import loads
from kratom_tracker.config.model import ConfigError, SourceConfig
from kratom_tracker.values import Extraction, Response

# KRATOM_TRACKER_FUZZ_EXAMPLES=5000 fuzzes for longer (minutes) than the default suite does (seconds).
FUZZ = settings(max_examples=int(os.environ.get("KRATOM_TRACKER_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
_PROBLEM = re.compile(r"^sources\.yaml:\d+: \S")


def _load_or_refuse(raw: bytes | str) -> None:
    try:
        config = loads(raw, "sources.yaml")
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert _PROBLEM.match(problem), problem
        return
    assert all(source.id for source in config.sources)


# -- the config loader ---------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=400))
def test_config_loader_takes_any_bytes(raw):
    _load_or_refuse(raw)


_YAML_PIECES = st.sampled_from(["sources:", "- id: a", "  - id: b", "type: page", "type: feed", "url: http://x.org",
                                "jurisdiction: US", "  jurisdiction: US-FL", "select: main", "ignore: ['(a+)+']",
                                "&a [1, 2]", "*a", "<<: *a", "interval: 6h", "timeout: -1s", "{", "}", "[", "]",
                                "'", '"', "\t", "  ", "- ", ": ", "? ", "!!python/object:os.system", "%YAML 1.1",
                                "---", "...", "#", "match: '(?i)kratom'", "defaults:", "  interval: 0s", "\x00"])


@FUZZ
@given(st.lists(st.one_of(_YAML_PIECES, st.text(max_size=12)), max_size=30))
def test_config_loader_takes_yaml_shaped_junk(pieces):
    _load_or_refuse("\n".join(pieces))


_KEYS = ["id", "type", "url", "jurisdiction", "name", "select", "ignore", "match", "interval", "timeout",
         "max_bytes", "tags", "enabled", "note", "path", "term", "parser", "colour"]
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**12), st.floats(allow_nan=True),
                     st.text(max_size=20), st.sampled_from(["page", "feed", "baseline", "US", "US-FL", "XX",
                                                            "https://example.org/a", "main", "(a+)+", "6h", "0s",
                                                            "p[[", "10MB", "a-b", "[a-z]+"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                       max_leaves=8)
_SOURCES = st.lists(st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=8), max_size=4)
_DOCUMENTS = st.fixed_dictionaries(
    {"sources": st.one_of(_SOURCES, _VALUES)},
    optional={"defaults": _VALUES, "politeness": _VALUES, "fetch": _VALUES, "notify": _VALUES,
              "user_agent": _VALUES, "publish": _VALUES, "scheduler": _VALUES, "extra": _VALUES})


@FUZZ
@given(_DOCUMENTS)
def test_config_loader_takes_any_structure(document):
    _load_or_refuse(yaml.safe_dump(document, allow_unicode=True))


# -- the extractors ------------------------------------------------------------------------------------------


def _source(type_name: str, **options) -> SourceConfig:
    return SourceConfig(id="fuzz", type=type_name, name="Fuzz", jurisdiction="US", url="http://127.0.0.1/x",
                        options=extractors.get(type_name).make_options(options))


_TAGS = ["p", "div", "main", "span", "b", "table", "tr", "td", "script", "style", "svg", "pre", "br", "li", "ul",
         "h1", "a", "textarea", "template", "iframe", "math", "noscript", "title", "head", "body", "html"]
_HTML_PIECES = st.one_of(
    st.sampled_from([f"<{t}>" for t in _TAGS] + [f"</{t}>" for t in _TAGS]
                    + ["<!--", "-->", "<![CDATA[", "]]>", "&amp;", "&lt;", "&#0;", "&#x110000;", "&bogus;",
                       "<p class='a' onclick=\"x()\">", "\x00", "\r\n", "\u2028", "<?xml version='1.0'?>",
                       "<meta charset='utf-16'>", "<meta charset='x-klingon'>"]),
    st.text(max_size=15))


def _check_extraction(extraction: Extraction) -> None:
    assert isinstance(extraction, Extraction)
    if extraction.outcome:
        assert extraction.error
        return
    for line in extraction.lines or []:
        assert line and line == " ".join(line.split())  # folded, one line
    canonical = extraction.canonical()
    assert Extraction.from_canonical(canonical).canonical() == canonical
    json.loads(canonical)


@FUZZ
@given(st.lists(_HTML_PIECES, max_size=60), st.sampled_from(["body", "main", "p", "div > span", "td"]))
def test_page_extractor_takes_any_markup(pieces, selector):
    body = "".join(pieces).encode("utf-8", errors="surrogatepass")
    response = Response(url="http://127.0.0.1/x", status=200, headers={"content-type": "text/html"}, body=body)
    first = extractors.get("page").extract(_source("page", select=selector, ignore=()), response)
    _check_extraction(first)
    again = extractors.get("page").extract(_source("page", select=selector, ignore=()), response)
    assert again.canonical() == first.canonical()  # same bytes, same text: no change out of nowhere


@FUZZ
@given(st.binary(max_size=600), st.sampled_from(["page", "feed"]))
def test_extractors_take_any_bytes(body, type_name):
    response = Response(url="http://127.0.0.1/x", status=200, headers={"content-type": "text/html"}, body=body)
    options = {"select": "body", "ignore": ()} if type_name == "page" else {"ignore": ()}
    _check_extraction(extractors.get(type_name).extract(_source(type_name, **options), response))


_FEED_PIECES = st.one_of(
    st.sampled_from(["<rss version='2.0'>", "</rss>", "<channel>", "</channel>", "<item>", "</item>", "<title>",
                     "</title>", "<link>", "</link>", "<guid>", "</guid>", "<description>", "</description>",
                     "<pubDate>", "</pubDate>", "Tue, 02 Jun 2026 10:00:00 GMT", "not a date", "kratom",
                     "<feed xmlns='http://www.w3.org/2005/Atom'>", "</feed>", "<entry>", "</entry>",
                     "<![CDATA[<script>x()</script>]]>", "&lt;b&gt;", "&nbsp;", "<?xml version='1.0'?>",
                     "<!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>", "&b;"]),
    st.text(max_size=10))


@FUZZ
@given(st.lists(_FEED_PIECES, max_size=60))
def test_feed_extractor_takes_any_feedlike_text(pieces):
    response = Response(url="http://127.0.0.1/f", status=200, headers={"content-type": "application/rss+xml"},
                        body="".join(pieces).encode("utf-8", errors="surrogatepass"))
    extraction = extractors.get("feed").extract(_source("feed", match="(?i)kratom", ignore=()), response)
    _check_extraction(extraction)
    for item in extraction.items or []:
        assert item.key and "<script" not in item.summary.lower()


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["", "text/html", "text/html; charset=utf-8",
                                                 "text/html; charset=iso-8859-1", "text/html; charset=utf-16",
                                                 "text/html; charset=x-klingon", "text/html; charset=",
                                                 "text/html; charset=\"utf-8"]))
def test_decoding_takes_any_bytes_and_header(body, content_type):
    assert isinstance(decode_text(body, content_type), str)


# -- markup-only edits are never a change --------------------------------------------------------------------

_WORDS = st.text(alphabet=string.ascii_letters + "éüß0123456789", min_size=1, max_size=10)
_PARAGRAPHS = st.lists(st.lists(_WORDS, min_size=1, max_size=8), min_size=1, max_size=6)


@FUZZ
@given(_PARAGRAPHS, st.data())
def test_markup_and_whitespace_edits_leave_the_text_alone(paragraphs, data):
    plain = "".join(f"<p>{' '.join(words)}</p>" for words in paragraphs)
    styled = []
    for words in paragraphs:
        rendered = []
        for word in words:
            wrapper = data.draw(st.sampled_from(["{}", "<b>{}</b>", "<span class='x'>{}</span>", "<em>{}</em>",
                                                 "<a href='/x'>{}</a>"]))
            rendered.append(wrapper.format(word))
        gap = data.draw(st.sampled_from([" ", "  ", "\n", " \n\t "]))
        lead = data.draw(st.sampled_from(["", " ", "\n"]))
        trail = data.draw(st.sampled_from(["", "\n", "<!-- note -->"]))
        styled.append(f"<p class='c' data-x='1'>{lead}{gap.join(rendered)}</p>{trail}")
    page = extractors.get("page")
    source = _source("page", select="main", ignore=(), require="")  # the text itself, whatever its topic

    def lines(main: str) -> list[str] | None:
        body = f"<html><body><main>{main}</main></body></html>".encode()
        return page.extract(source, Response(url="http://127.0.0.1/x", status=200, body=body)).lines

    assert lines(plain) == lines("".join(styled)) == [" ".join(words) for words in paragraphs]
