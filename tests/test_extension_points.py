"""Each extension point works end to end with a newly added example: a source type is one class, a feed
format is one class, and a status or event kind is one enum member whose badge rules the tests demand."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import collect, run_cli, stored_events, write_sources
from kratom_tracker import checks, extractors
from kratom_tracker.cli.console import STATUS_STYLES
from kratom_tracker.config.loader import load
from kratom_tracker.extractors import Extractor, option
from kratom_tracker.publish import formats, publish
from kratom_tracker.store import Store
from kratom_tracker.values import Extraction
from kratom_tracker.vocab import EventKind, Status
from kratom_tracker.web.app import ServerSettings, create_app

STYLE = Path(extractors.__file__).resolve().parents[1] / "static" / "style.css"


@pytest.fixture
def json_lines_type():
    """A new source type, declared the way a contributor would: one class, nothing registered by hand."""

    class JsonLines(Extractor):
        type_name = "test-json-lines"
        help = "the strings of a JSON array at `key` as text lines (an example type for the tests)"
        @dataclass(frozen=True)
        class Options:
            key: str = option(check=checks.text, help="the top-level key holding the array")

        def extract(self, source, response):
            values = json.loads(response.text).get(source.options.key, [])
            return Extraction(lines=[str(v) for v in values])

    yield JsonLines
    extractors._REGISTRY.pop("test-json-lines")


def test_a_new_source_type_is_one_class(site, tmp_path, json_lines_type, capsys):
    site.set("/bills.json", json.dumps({"actions": ["Introduced", "Referred to Health"]}),
             content_type="application/json")
    sources = write_sources(tmp_path, f"""sources:
  - id: bills
    type: test-json-lines
    url: {site.url('/bills.json')}
    jurisdiction: US-FL
    key: actions
""")
    assert "test-json-lines" in extractors.known_types()
    assert run_cli("sources", "types") == 0
    assert "test-json-lines: the strings of a JSON array" in capsys.readouterr().out
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    site.set("/bills.json", json.dumps({"actions": ["Introduced", "Referred to Health", "Passed Senate"]}),
             content_type="application/json")
    assert collect(sources, db) == 0
    (event,) = stored_events(db)
    assert event["kind"] == "content" and "+Passed Senate" in event["diff"]


def test_an_unknown_option_of_the_new_type_is_refused_with_its_line(tmp_path, json_lines_type, capsys):
    sources = write_sources(tmp_path, "sources:\n  - id: bills\n    type: test-json-lines\n"
                                      "    url: https://example.org/x\n    jurisdiction: US\n")
    assert run_cli("sources", "check", "--sources", str(sources)) == 2
    assert "missing required key `key` for a test-json-lines source" in capsys.readouterr().err


@pytest.fixture
def text_format():
    """A new feed format: one class."""

    class PlainText(formats.FeedFormat):
        extension, content_type, title = "txt", "text/plain", "Plain text"

        def render(self, spec, entries, instance_id, settings, self_link) -> bytes:
            return "".join(f"{e.updated} {e.title}\n" for e in entries).encode("utf-8")

    yield PlainText
    formats.FORMATS.pop("txt")


def test_a_new_feed_format_is_one_class(site, tmp_path, text_format):
    site.set("/p", "<main><p>Kratom: legal</p></main>")
    sources = write_sources(tmp_path, f"sources:\n  - id: p\n    type: page\n    url: {site.url('/p')}\n"
                                      "    jurisdiction: US-FL\n    select: main\n")
    db = tmp_path / "t.db"
    collect(sources, db)
    site.set("/p", "<main><p>Kratom: banned</p></main>")
    collect(sources, db)
    out = tmp_path / "feeds"
    with Store(db, readonly=True) as store:
        publish(store, out, load(sources).publish)
    assert "Florida — p: page changed" in (out / "all.txt").read_text(encoding="utf-8")
    assert (out / "region" / "US-FL.txt").is_file()
    client = TestClient(create_app(ServerSettings(db=db, config=load(sources))))
    answer = client.get("/feeds/region/US-FL.txt")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    assert 'href="/feeds/all.txt"' in client.get("/").text  # the dashboard lists every format


def _css_classes() -> set[str]:
    return set(re.findall(r"\.((?:st|kind)-[a-z0-9-]+)", STYLE.read_text(encoding="utf-8")))


@pytest.mark.parametrize("status", list(Status))
def test_every_status_has_a_badge_and_a_terminal_style(status):
    assert f"st-{status.value}" in _css_classes()
    assert status in STATUS_STYLES


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_event_kind_has_a_dashboard_rule(kind):
    assert f"kind-{kind.value}" in _css_classes()


def test_status_ranks_are_a_total_order():
    ranks = [s.rank for s in Status]
    assert len(set(ranks)) == len(ranks)
    assert Status.BANNED.rank > Status.REGULATED.rank > Status.PENDING.rank > Status.LEGAL.rank > Status.UNKNOWN.rank
