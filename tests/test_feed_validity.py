"""Every region feed is valid: feedparser finds nothing wrong (bozo 0) and the W3C feed validator's rules
that can be checked offline (tests/feedrules.py) find no problem, in every published file, in the feeds
`serve` renders on demand for regions without events, and in the OPML list. Each entry carries the
categories readers filter on: region (every level), substance, kind and new status."""

from __future__ import annotations

import json

import feedparser
import pytest
from fastapi.testclient import TestClient
from lxml import etree

from feedrules import atom_problems, json_feed_problems, problems_for, rss_problems
from kratom_tracker.config.loader import load
from kratom_tracker.config.model import PublishSettings
from kratom_tracker.publish import publish
from kratom_tracker.publish.feeds import CATEGORY_SCHEMES
from kratom_tracker.store import Store
from kratom_tracker.web.app import ServerSettings, create_app
from test_publish import build_event_db, feed_files

BASE = "https://tracker.example.org"


@pytest.fixture
def published(site, tmp_path):
    data = build_event_db(site, tmp_path)
    out = tmp_path / "feeds"
    with Store(data.db, readonly=True) as store:
        publish(store, out, PublishSettings(base_url=BASE, regions=("US-CA", "US-FL/tampa")))
    return data, out


def test_every_published_file_is_valid(published):
    _, out = published
    files = feed_files(out) + [out / "feeds.opml"]
    names = {p.relative_to(out).as_posix() for p in files}
    assert {"region/US-CA.atom", "region/US-FL_tampa.rss", "feeds.opml"} <= names  # configured regions
    for path in files:
        name = path.relative_to(out).as_posix()
        assert problems_for(name, path.read_bytes(), BASE) == [], name
        if path.suffix in (".atom", ".rss"):
            parsed = feedparser.parse(path.read_bytes())
            assert parsed.bozo == 0, (name, parsed.get("bozo_exception"))


def test_feeds_served_on_demand_are_valid_even_when_empty(published):
    data, _ = published
    settings = ServerSettings(db=data.db, config=load(data.sources))
    with TestClient(create_app(settings)) as client:
        for name in ("region/CA-ON_toronto.atom", "region/CA-ON_toronto.rss", "region/CA-ON_toronto.json",
                     "region/US-MS_union-county.atom", "region/US-FL_tampa.atom", "feeds.opml"):
            answer = client.get(f"/feeds/{name}")
            assert answer.status_code == 200, name
            assert problems_for(name, answer.content, settings.publish.base_url) == [], name
            if not name.endswith((".json", ".opml")):
                assert feedparser.parse(answer.content).bozo == 0, name


def test_entries_carry_region_substance_kind_and_status_categories(published):
    _, out = published
    atom = etree.parse(str(out / "region/US-FL_sarasota-county.atom")).getroot()
    ns = "{http://www.w3.org/2005/Atom}"
    by_title = {e.findtext(f"{ns}title"): e for e in atom.iter(f"{ns}entry")}
    entry = by_title["Sarasota County, Florida — kratom leaf: regulated → banned from 2026-07-01"]
    cats = {(c.get("scheme"), c.get("term")) for c in entry.iter(f"{ns}category")}
    assert {(CATEGORY_SCHEMES["kind"], "status"), (CATEGORY_SCHEMES["substance"], "leaf"),
            (CATEGORY_SCHEMES["status"], "banned"), (CATEGORY_SCHEMES["region"], "US-FL/sarasota-county"),
            (CATEGORY_SCHEMES["region"], "US-FL"), (CATEGORY_SCHEMES["region"], "US")} <= cats
    labels = {c.get("term"): c.get("label") for c in entry.iter(f"{ns}category") if c.get("label")}
    assert labels["US-FL"] == "Florida"
    items = json.loads((out / "all.json").read_text(encoding="utf-8"))["items"]
    tags = next(i["tags"] for i in items if i["title"] == entry.findtext(f"{ns}title"))
    assert tags[0] == "status"  # the kind first, as before
    assert {"kind:status", "substance:leaf", "status:banned", "region:US-FL/sarasota-county", "region:US-FL"} <= set(tags)


def test_the_rules_find_what_the_validator_would():
    broken_atom = (b'<feed xmlns="http://www.w3.org/2005/Atom"><id>not an iri</id><title>t</title>'
                   b'<updated>yesterday</updated><entry><id>x</id><title>&lt;b&gt;bold&lt;/b&gt;</title>'
                   b'<updated>2026-01-01T00:00:00Z</updated><content type="html">&lt;a href="/rel"&gt;x&lt;/a&gt;'
                   b'</content></entry></feed>')
    problems = " | ".join(atom_problems(broken_atom))
    for expected in ("feed: id is not a valid IRI", "RFC 3339", "rel=\"self\"", "may contain HTML", "relative",
                     "missing author"):
        assert expected in problems
    broken_rss = b'<rss version="2.0"><channel><title>t</title><item><title>a</title></item></channel></rss>'
    problems = " | ".join(rss_problems(broken_rss))
    assert "missing channel element: link" in problems and "guid" in problems
    assert json_feed_problems(b'{"version": "1", "items": [{"id": ""}]}')
