"""`json`: a JSON document or API answer. `items` (a JSONPath) picks the entries, each an Item whose
fields are JSONPaths relative to it (`key`, `title`, `link`, `summary`, `published`), filtered by `match`;
detect then writes a `notice` per new, changed or withdrawn entry. Or `lines` (a JSONPath) picks values
that become text lines, diffed like a page. JSONPath is jsonpath-ng's extended dialect (filters such as
`$.data[?(@.attributes.documentType == 'Proposed Rule')]`).

An API that needs a key names the environment variable in `key_env`; the key is sent in the header
`key_header` (regulations.gov: X-Api-Key) or, when the API takes it only in the query, as `key_param`."""

from __future__ import annotations

import json as jsonlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from kratom_tracker import checks
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors import Extractor, _keys, option
from kratom_tracker.extractors._html import fold_lines, looks_binary
from kratom_tracker.values import Extraction, Item, Response, sha256_hex
from kratom_tracker.vocab import Outcome

MAX_SUMMARY = 600


@lru_cache(maxsize=512)
def compiled_path(expression: str) -> Any:
    from jsonpath_ng.ext import parse

    return parse(expression)


def jsonpath(value: Any) -> str:
    """A JSONPath that jsonpath-ng (extended dialect) can parse."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a JSONPath expression, e.g. $.results[*]")
    try:
        compiled_path(value)
    except Exception as exc:  # jsonpath-ng raises its own lexer and parser errors (and plain Exception)
        raise ValueError(f"invalid JSONPath {value!r}: {exc}") from None
    return value


def optional_jsonpath(value: Any) -> str | None:
    return None if value is None else jsonpath(value)


def values_at(expression: str, document: Any) -> list[Any]:
    return [match.value for match in compiled_path(expression).find(document)]


def scalar_text(value: Any) -> str:
    """Text of a JSON value: strings folded, numbers as written, lists joined, objects as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "; ".join(t for t in (scalar_text(v) for v in value) if t)
    return jsonlib.dumps(value, sort_keys=True, ensure_ascii=False)


def first_text(expression: str | None, item: Any) -> str:
    if not expression:
        return ""
    found = values_at(expression, item)
    return scalar_text(found[0]) if found else ""


class JsonExtractor(Extractor):
    type_name = "json"
    help = ("a JSON document or API answer; `items` (JSONPath) → notice events per entry, or `lines` "
            "(JSONPath) → a text diff; an API key from the environment variable `key_env`")

    @dataclass(frozen=True)
    class Options:
        items: str | None = option(None, check=optional_jsonpath, help="JSONPath of the entries, e.g. $.results[*]")
        lines: str | None = option(None, check=optional_jsonpath,
                                   help="JSONPath of values kept as text lines (instead of items)")
        key: str = option("$.id", check=jsonpath, help="JSONPath (relative to an entry) of its stable id")
        title: str = option("$.title", check=jsonpath, help="JSONPath of an entry's title")
        link: str | None = option(None, check=optional_jsonpath, help="JSONPath of an entry's link")
        summary: str | None = option(None, check=optional_jsonpath, help="JSONPath of an entry's summary")
        published: str | None = option(None, check=optional_jsonpath, help="JSONPath of an entry's date")
        fields: tuple[str, ...] = option((), check=lambda v: tuple(jsonpath(p) for p in v) if isinstance(v, list)
                                         else (jsonpath(v),),
                                         help="more JSONPaths kept in each entry's data (a change in them is a "
                                              "change of the entry)")
        match: str | None = option(None, check=checks.regex, help="regex over entry title and summary")
        key_env: str | None = option(None, check=_keys.env_name,
                                     help="environment variable holding the API key (never the key itself)")
        key_header: str = option("X-Api-Key", check=checks.text, help="request header the key is sent in")
        key_param: str | None = option(None, check=checks.text,
                                       help="query parameter for the key instead of a header (avoid: URLs "
                                            "get quoted in errors; the key is removed from them)")

    def request_url(self, source: SourceConfig) -> str:
        url = super().request_url(source)
        key = _keys.api_key(source.options.key_env)
        if key and source.options.key_param:
            url += ("&" if "?" in url else "?") + urlencode({source.options.key_param: key})
        return url

    def request_headers(self, source: SourceConfig) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        key = _keys.api_key(source.options.key_env)
        if key and not source.options.key_param:
            headers[source.options.key_header] = key
        return headers

    def secrets(self, source: SourceConfig) -> tuple[str, ...]:
        key = _keys.api_key(source.options.key_env)
        return (key,) if key else ()

    def local_document(self, source: SourceConfig) -> Response | None:
        if source.options.key_env and not _keys.api_key(source.options.key_env):
            return _keys.missing_key(source.url or "", source.options.key_env)
        return None

    def extract(self, source: SourceConfig, response: Response) -> Extraction:
        options = source.options
        if not response.body.strip():
            return Extraction(outcome=Outcome.EMPTY, error="the body is empty")
        if looks_binary(response.body):
            return Extraction(outcome=Outcome.PARSE_ERROR, error="binary content, not JSON")
        try:
            document = jsonlib.loads(response.text)
        except ValueError as exc:
            return Extraction(outcome=Outcome.PARSE_ERROR, error=f"not JSON: {exc}"[:200])
        if options.items is None and options.lines is None:
            return Extraction(outcome=Outcome.PARSE_ERROR, error="the source sets neither `items` nor `lines`")
        if options.lines is not None and options.items is None:
            found = values_at(options.lines, document)
            lines = [line for value in found for line in fold_lines(value if isinstance(value, str)
                                                                      else scalar_text(value))]
            if not lines:
                return Extraction(outcome=Outcome.SELECTOR_MISSING, error=f"JSONPath {options.lines!r} matched nothing")
            return Extraction(lines=lines)
        entries = values_at(options.items, document)
        if not entries and not values_at(_parent_of(options.items), document):
            return Extraction(outcome=Outcome.SELECTOR_MISSING, error=f"JSONPath {options.items!r} matched nothing "
                              "(not even an empty list): not the answer expected")
        items = json_items(entries, options)
        if options.match:
            rx = re.compile(options.match)
            items = [i for i in items if rx.search(i.title) or rx.search(i.summary)]
        return Extraction(items=items)


def _parent_of(expression: str) -> str:
    """`$.results[*]` → `$.results`: an empty list is a valid answer, a missing key is not."""
    trimmed = re.sub(r"\[(?:\*|\?\(.*\))\]$", "", expression.strip())
    return trimmed if trimmed and trimmed != expression.strip() else expression


def json_items(entries: list[Any], options: Any) -> list[Item]:
    items: list[Item] = []
    seen: set[str] = set()
    for entry in entries:
        title = first_text(options.title, entry)
        key = first_text(options.key, entry) or "h:" + sha256_hex(jsonlib.dumps(entry, sort_keys=True))[:24]
        if key in seen:
            continue
        seen.add(key)
        summary = first_text(options.summary, entry)
        if len(summary) > MAX_SUMMARY:
            summary = summary[: MAX_SUMMARY - 1] + "…"
        data = {path: first_text(path, entry) for path in options.fields}
        items.append(Item(key=key, title=title or "(untitled)", url=first_text(options.link, entry),
                          summary=summary, published=first_text(options.published, entry), data=data))
    return items
