"""`sources doctor`: fetch each source once, live, and say what a collect would make of it and why, so an
operator can fix a source before it fails quietly: HTTP status, redirects, robots, whether the selector
matches and how much of the page it keeps, whether the topic is found, JavaScript-shell signs, and a
narrower selector (the smallest element holding every kratom mention). Writes nothing: no snapshot, no
event, no conditional GET (the answer must be the whole document)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kratom_tracker import extractors
from kratom_tracker.config.model import Config, SourceConfig
from kratom_tracker.extractors import _guards
from kratom_tracker.extractors._html import looks_binary, parse_html, select, text_lines
from kratom_tracker.fetch.client import Fetcher
from kratom_tracker.privacy import redact_values
from kratom_tracker.values import Extraction, Response
from kratom_tracker.vocab import Outcome

# A selector that keeps more than this share of the page's text is probably the whole page (nav, footer
# and all): every menu edit would then be a "change".
WIDE_SELECTION = 0.8


@dataclass
class Diagnosis:
    """What one live fetch of one source showed. `ok` is False when a collect would record a failure."""

    id: str
    type: str
    url: str
    ok: bool = False
    outcome: str = ""  # what a collect would record: initial (a document it can use) or a failed outcome
    error: str = ""
    http_status: int = 0
    final_url: str = ""
    redirected: bool = False
    robots: str = ""  # allowed | denied | not checked
    selector: str | None = None
    selector_matches: int | None = None
    kept_share: float | None = None  # characters of text kept by the selector / characters in the page
    topic_found: bool | None = None  # in the kept text (the page's `require` pattern)
    topic_in_page: bool | None = None
    shell_suspected: bool | None = None
    shell_signs: str = ""
    suggested_selector: str | None = None
    extracted: str = ""  # "12 lines", "4 items, 2 assertions"
    advice: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def diagnose_all(config: Config, sources: list[SourceConfig], fetcher: Fetcher | None = None) -> list[Diagnosis]:
    own = fetcher is None
    fetcher = fetcher or Fetcher.from_config(config)
    try:
        return [diagnose(source, fetcher, config.politeness.robots) for source in sources]
    finally:
        if own:
            fetcher.close()


def diagnose(source: SourceConfig, fetcher: Fetcher, robots_checked: bool = True) -> Diagnosis:
    extractor = extractors.get(source.type)
    response = extractor.local_document(source)
    local = response is not None
    url = source.url or ""
    if response is None:
        response = fetcher.fetch(extractor.request_url(source), timeout=source.timeout, max_bytes=source.max_bytes,
                                 headers=extractor.request_headers(source))
    secrets = extractor.secrets(source)
    found = Diagnosis(id=source.id, type=source.type, url=url or response.url, http_status=response.status,
                      final_url=response.final_url if response.final_url != response.url else "")
    found.redirected = bool(found.final_url)
    found.robots = ("not checked (local file)" if local else "denied" if response.outcome == Outcome.ROBOTS_DENIED
                    else "allowed" if robots_checked else "not checked (politeness.robots is off)")
    if response.outcome is not None:
        found.outcome, found.error = response.outcome, redact_values(response.error, secrets)
        found.advice.append(_fetch_advice(response))
        return found
    extraction = extractors.run(source, response)
    found.outcome = extraction.outcome or Outcome.INITIAL
    found.error = redact_values(extraction.error, secrets)
    found.ok = extraction.outcome is None
    found.extracted = _extracted(extraction)
    if source.type == "page":
        _inspect_page(found, source, response)
    if found.redirected and found.outcome != Outcome.MOVED:
        found.advice.append(f"redirects to {found.final_url}: use that URL")
    return found


def _fetch_advice(response: Response) -> str:
    return {
        Outcome.ROBOTS_DENIED: "robots.txt forbids this URL for our user agent: find another channel",
        Outcome.MISSING_KEY: "set the environment variable named in key_env",
        Outcome.HTTP_ERROR: f"HTTP {response.status}: check the URL in a browser",
        Outcome.TIMEOUT: "too slow: raise `timeout` or try later",
    }.get(Outcome(response.outcome), "the fetch failed; try again later")


def _extracted(extraction: Extraction) -> str:
    parts = []
    if extraction.lines is not None:
        parts.append(f"{len(extraction.lines)} lines")
    if extraction.items is not None:
        parts.append(f"{len(extraction.items)} items")
    if extraction.assertions is not None:
        parts.append(f"{len(extraction.assertions)} assertions")
    return ", ".join(parts)


def _inspect_page(found: Diagnosis, source: SourceConfig, response: Response) -> None:
    """The HTML checks: selector, share kept, topic, shell signs and a narrower selector."""
    pattern = source.options.require or _guards.DEFAULT_REQUIRE
    found.selector = source.options.select
    if looks_binary(response.body):
        return
    root = parse_html(response.text)
    if root is None:
        return
    body = root.find("body")
    page_lines = text_lines([body if body is not None else root])
    matches = select(root, found.selector)
    kept = text_lines(matches) if matches else []
    found.selector_matches = len(matches)
    total = sum(len(line) for line in page_lines)
    found.kept_share = round(sum(len(line) for line in kept) / total, 3) if total else 0.0
    found.topic_found = _guards.topic_found(kept, pattern) if matches else False
    found.topic_in_page = _guards.topic_found(page_lines, pattern)
    signs = _guards.shell_signs(root)
    found.shell_suspected, found.shell_signs = signs.suspected, signs.describe()
    suggestion = _guards.narrowest_selector(root, pattern) if found.topic_in_page else None
    if suggestion and suggestion != found.selector:
        narrower = sum(len(line) for line in text_lines(select(root, suggestion)))
        if not kept or narrower < sum(len(line) for line in kept):
            found.suggested_selector = suggestion
    if not matches:
        found.advice.append(f"selector {found.selector!r} matches nothing")
    elif found.kept_share is not None and found.kept_share > WIDE_SELECTION:
        found.advice.append(f"the selector keeps {found.kept_share:.0%} of the page: menus and footers count "
                            "as changes; narrow it")
    if found.topic_in_page is False:
        found.advice.append("the page does not mention the topic at all: wrong page?")
    elif found.topic_found is False:
        found.advice.append("the topic is on the page but outside the selected element")
    if found.shell_suspected:
        found.advice.append("looks like a JavaScript shell: find the site's API or feed")
    if found.suggested_selector:
        found.advice.append(f"try select: {found.suggested_selector!r}")
