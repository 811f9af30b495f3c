"""Feeds: every published feed parses, entry ids are unique and stable, region feeds hold their
localities and not their siblings, and nothing from a hostile page reaches a reader as live markup.

The database is built through real `collect` runs on pages served from 127.0.0.1 (see `build_event_db`,
also used by the notify, server and browser tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import jsonschema
import pytest
from bs4 import BeautifulSoup
from lxml import etree

from conftest import html_page, run_cli, write_sources
from kratom_tracker import render
from kratom_tracker.config.model import PublishSettings
from kratom_tracker.publish import publish
from kratom_tracker.store import Store
from kratom_tracker.values import Event

# -- a database with events in US-FL, its locality US-FL/sarasota-county, and the sibling US-TX ----------

HOSTILE_BEFORE = html_page(
    "<h1>Sarasota County kratom ordinance</h1><p>Sale to minors is prohibited.</p>"
    "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">"
)
HOSTILE_AFTER = html_page(
    "<h1>Sarasota County kratom ordinance</h1><p>Sale to minors is prohibited.</p>"
    "<p>&lt;/textarea&gt;&lt;script&gt;window.__pwned = 3&lt;/script&gt; new rule</p>"
    "<p>&lt;img src=x onerror=\"window.__pwned = 4\"&gt; and &lt;a href=\"javascript:window.__pwned=5\"&gt;"
    "see&lt;/a&gt;</p>"
    "<p><a href=\"javascript:window.__pwned=6\">7-OH products banned</a></p>"
    "<script>window.__pwned = 7</script><img src=x onerror=\"window.__pwned = 8\">"
)
HOSTILE_MARKERS = ("__pwned = 3", "__pwned = 4")  # text that must arrive, but only as text

BASELINE_HEADER = "jurisdiction,substance,status,detail,effective_date,summary,source_url,source_type,last_verified\n"
BASELINE_BEFORE = BASELINE_HEADER + (
    "US-FL,leaf,legal,,,Florida has no statewide kratom law.,https://www.flsenate.gov/Laws/Statutes,primary,2026-01-01\n"
    "US-FL/sarasota-county,leaf,regulated,ordinance,2020-01-01,Sale to minors prohibited.,"
    "https://library.municode.com/fl/sarasota_county,primary,2026-01-01\n"
    "US-TX,leaf,legal,,,Texas has no ban.,https://statutes.capitol.texas.gov/,primary,2026-01-01\n"
)
BASELINE_AFTER = BASELINE_HEADER + (
    "US-FL,leaf,legal,,,Florida has no statewide kratom law.,https://www.flsenate.gov/Laws/Statutes,primary,2026-01-01\n"
    "US-FL,7-OH,banned,emergency rule,2025-08-15,\"Florida scheduled 7-OH <script>window.__pwned=9</script>\","
    "https://www.flrules.org/gateway/ruleNo.asp?id=64K-1.007,primary,2026-01-01\n"
    "US-FL/sarasota-county,leaf,banned,ordinance,2026-07-01,Sale of kratom prohibited.,"
    "https://library.municode.com/fl/sarasota_county,primary,2026-01-01\n"
    "US-TX,leaf,regulated,Texas Kratom Act,2026-07-01,Texas regulates kratom sales.,"
    "https://statutes.capitol.texas.gov/,primary,2026-01-01\n"
)

RSS_BEFORE = """<?xml version="1.0"?><rss version="2.0"><channel><title>TX news</title><link>http://example.org/</link>
<description>d</description>
<item><title>Old kratom item</title><link>http://example.org/1</link><guid>1</guid><description>old</description></item>
</channel></rss>"""
RSS_AFTER = RSS_BEFORE.replace("<item>", """<item><title>Kratom &lt;script&gt;window.__pwned=10&lt;/script&gt; hearing</title>
<link>javascript:window.__pwned=11</link><guid>2</guid>
<description>&lt;img src=x onerror="window.__pwned=12"&gt;Kratom hearing &amp;lt;/textarea&amp;gt;</description></item><item>""", 1)


@dataclass
class EventDb:
    sources: Path
    db: Path
    baseline: Path
    tmp: Path


def build_event_db(site, tmp_path: Path, notify_yaml: str = "") -> EventDb:
    """Two collects: the first sets the starting point, the second (after edits) writes the events."""
    baseline = tmp_path / "baseline.csv"
    baseline.write_text(BASELINE_BEFORE, encoding="utf-8")
    site.set("/sarasota", HOSTILE_BEFORE)
    site.set("/tx.rss", RSS_BEFORE, content_type="application/rss+xml")
    sources = write_sources(tmp_path, notify_yaml + f"""sources:
  - id: cited-baseline
    name: Cited baseline
    type: baseline
    path: baseline.csv
    jurisdiction: US
  - id: sarasota-page
    name: Sarasota County ordinance
    type: page
    url: {site.url('/sarasota')}
    jurisdiction: US-FL/sarasota-county
    select: main
    timeout: 3s
  - id: tx-feed
    name: Texas news
    type: feed
    url: {site.url('/tx.rss')}
    jurisdiction: US-TX
    match: "(?i)kratom"
    timeout: 3s
""")
    db = tmp_path / "tracker.db"
    assert collect(sources, db) == 0
    baseline.write_text(BASELINE_AFTER, encoding="utf-8")
    site.set("/sarasota", HOSTILE_AFTER)
    site.set("/tx.rss", RSS_AFTER, content_type="application/rss+xml")
    assert collect(sources, db) == 0
    return EventDb(sources=sources, db=db, baseline=baseline, tmp=tmp_path)


def collect(sources: Path, db: Path) -> int:
    return run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet")


def all_events(db: Path) -> list[dict]:
    with Store(db, readonly=True) as store:
        return [e.as_dict() for e in store.events()]


# -- checking for live markup ------------------------------------------------------------------------

_DANGEROUS_TAGS = {"script", "style", "textarea", "iframe", "object", "embed", "img", "svg", "form", "input",
                   "link", "meta", "base", "math", "frame", "frameset", "title"}


def assert_no_live_markup(fragment: str, allow_document: bool = False) -> None:
    """Parse as a browser would and fail on any element or attribute that could run or break out."""
    soup = BeautifulSoup(fragment, "html.parser")
    for element in soup.find_all(True):
        if element.name in _DANGEROUS_TAGS and not (allow_document and element.name in {"link", "meta", "title",
                                                                                         "form", "input"}):
            raise AssertionError(f"live <{element.name}> in output: {str(element)[:200]}")
        for name, value in element.attrs.items():
            assert not name.lower().startswith("on"), f"event handler {name} in {str(element)[:200]}"
            assert name.lower() not in ("style", "srcdoc", "formaction"), f"{name} in {str(element)[:200]}"
            if name.lower() in ("href", "src", "action"):
                scheme = urlsplit(str(value).strip()).scheme.lower()
                assert scheme in ("", "http", "https"), f"{name}={value!r} in {str(element)[:200]}"


def feed_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.suffix in (".atom", ".rss", ".json"))


def xml_html_fields(path: Path) -> list[str]:
    """The HTML-bearing texts of an Atom or RSS file, as a reader gets them after XML unescaping."""
    root = etree.parse(str(path)).getroot()
    texts = []
    for element in root.iter():
        tag = etree.QName(element).localname if isinstance(element.tag, str) else ""
        if tag in ("content", "encoded", "description", "summary", "subtitle") and element.text:
            texts.append(element.text)
    return texts


def plain_fields(path: Path) -> list[str]:
    """Titles: feed readers often treat RSS titles as HTML, so they must carry no tag at all."""
    if path.suffix == ".json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        return [doc["title"]] + [item["title"] for item in doc["items"]]
    root = etree.parse(str(path)).getroot()
    return [e.text or "" for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == "title"]


JSON_FEED_SCHEMA = {  # JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/): the required parts and types
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": {"type": "string"},
        "home_page_url": {"type": "string"},
        "feed_url": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id"],
                "anyOf": [{"required": ["content_html"]}, {"required": ["content_text"]}],
                "properties": {
                    "id": {"type": "string"}, "url": {"type": "string"}, "title": {"type": "string"},
                    "content_html": {"type": "string"}, "summary": {"type": "string"},
                    "date_published": {"type": "string", "format": "date-time"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


def entry_ids(path: Path) -> list[str]:
    if path.suffix == ".json":
        return [item["id"] for item in json.loads(path.read_text(encoding="utf-8"))["items"]]
    return [entry.id for entry in feedparser.parse(path.read_bytes()).entries]


# -- tests -------------------------------------------------------------------------------------------


@pytest.fixture
def event_db(site, tmp_path) -> EventDb:
    return build_event_db(site, tmp_path)


def test_every_feed_parses_and_ids_are_unique_tag_uris(event_db):
    out = event_db.tmp / "feeds"
    assert run_cli("publish", "--db", str(event_db.db), "--out", str(out), "--sources", str(event_db.sources)) == 0
    files = feed_files(out)
    names = {p.relative_to(out).as_posix() for p in files}
    assert {"all.atom", "all.rss", "all.json", "region/US.atom", "region/US-FL.rss", "region/US-TX.json",
            "region/US-FL_sarasota-county.atom"} <= names
    events = all_events(event_db.db)
    assert len(events) >= 5
    for path in files:
        if path.suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            jsonschema.validate(doc, JSON_FEED_SCHEMA, format_checker=jsonschema.FormatChecker())
        else:
            parsed = feedparser.parse(path.read_bytes())
            assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
            assert parsed.version == ("atom10" if path.suffix == ".atom" else "rss20")
        ids = entry_ids(path)
        assert ids and len(ids) == len(set(ids)), path
        assert all(i.startswith("tag:kratom-tracker,2024:") for i in ids)
    assert len(entry_ids(out / "all.atom")) == len(events)
    newest_first = [int(i.rsplit("/", 1)[1]) for i in entry_ids(out / "all.atom")]
    assert newest_first == sorted(newest_first, reverse=True) == [e["id"] for e in events]


def test_republish_is_byte_identical_and_ids_survive_new_events(event_db, site):
    out = event_db.tmp / "feeds"
    settings = PublishSettings()
    with Store(event_db.db, readonly=True) as store:
        publish(store, out, settings)
        first = {p: p.read_bytes() for p in feed_files(out)}
        report = publish(store, out, settings)
    assert report.changed == []
    assert {p: p.read_bytes() for p in feed_files(out)} == first
    old_ids = entry_ids(out / "all.atom")

    event_db.baseline.write_text(BASELINE_AFTER.replace("Texas regulates kratom sales.", "Texas bans kratom.")
                                 .replace("US-TX,leaf,regulated", "US-TX,leaf,banned"), encoding="utf-8")
    assert collect(event_db.sources, event_db.db) == 0
    with Store(event_db.db, readonly=True) as store:
        publish(store, out, settings)
    new_ids = entry_ids(out / "all.atom")
    assert new_ids[1:] == old_ids and new_ids[0] not in old_ids
    assert (out / "region/US-FL.atom").read_bytes() == first[out / "region/US-FL.atom"]  # untouched region


def test_rss_channel_link_is_the_site_and_atom_keeps_rel_self(event_db):
    # RSS's channel <link> is the website the feed belongs to (the dashboard), not the feed itself; the
    # feed's own URL goes in atom:link rel=self, in RSS and Atom alike.
    base = "https://tracker.example.org"
    out = event_db.tmp / "feeds"
    with Store(event_db.db, readonly=True) as store:
        publish(store, out, PublishSettings(base_url=base))
    atom = "{http://www.w3.org/2005/Atom}link"
    for stem, site in (("all", f"{base}/"), ("region/US-FL", f"{base}/?q=US-FL")):
        channel = etree.parse(str(out / f"{stem}.rss")).getroot().find("channel")
        assert channel.findtext("link") == site
        assert [(e.get("rel"), e.get("href")) for e in channel.findall(atom)] == [("self", f"{base}/feeds/{stem}.rss")]
        parsed = feedparser.parse((out / f"{stem}.rss").read_bytes())
        assert parsed.feed.link == site
        atom_links = {e.get("rel"): e.get("href") for e in etree.parse(str(out / f"{stem}.atom")).getroot().findall(atom)}
        assert atom_links == {"self": f"{base}/feeds/{stem}.atom", "alternate": site}


def test_region_feed_holds_what_applies_there_and_not_its_siblings(event_db):
    # A region's feed: its own events, those of every level above it and of everything below it.
    out = event_db.tmp / "feeds"
    with Store(event_db.db, readonly=True) as store:
        publish(store, out, PublishSettings())
    by_id = {e["id"]: e for e in all_events(event_db.db)}

    def jurisdictions(name: str) -> set[str]:
        return {by_id[int(i.rsplit("/", 1)[1])]["jurisdiction"] for i in entry_ids(out / name)}

    assert jurisdictions("region/US-FL.atom") == {"US-FL", "US-FL/sarasota-county"}
    assert jurisdictions("region/US-FL_sarasota-county.rss") == {"US-FL/sarasota-county", "US-FL"}
    assert jurisdictions("region/US-TX.json") == {"US-TX"}
    assert jurisdictions("region/US.atom") == {"US-FL", "US-FL/sarasota-county", "US-TX"}
    assert not (out / "region/US-CA.atom").exists()  # written only for regions with events or configured


def test_titles_say_place_substance_and_what_happened_in_words(event_db):
    out = event_db.tmp / "feeds"
    with Store(event_db.db, readonly=True) as store:
        publish(store, out, PublishSettings())
    titles = [e.title for e in feedparser.parse((out / "all.atom").read_bytes()).entries]
    assert "Texas — kratom leaf: legal → regulated from 2026-07-01" in titles
    assert "Sarasota County, Florida — kratom leaf: regulated → banned from 2026-07-01" in titles
    assert "Florida — 7-OH: no rule → banned from 2025-08-15" in titles
    assert "Sarasota County, Florida — Sarasota County ordinance: page changed" in titles


def test_hostile_page_yields_no_live_markup_in_any_feed(event_db):
    out = event_db.tmp / "feeds"
    with Store(event_db.db, readonly=True) as store:
        publish(store, out, PublishSettings())
    seen_markers = set()
    for path in feed_files(out):
        if path.suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            fields = [item["content_html"] for item in doc["items"]] + [item["summary"] for item in doc["items"]]
            links = [item["url"] for item in doc["items"]]
        else:
            fields = xml_html_fields(path)
            links = [e.get("link", "") for e in feedparser.parse(path.read_bytes()).entries]
        for text in fields:
            assert_no_live_markup(text)
            seen_markers.update(m for m in HOSTILE_MARKERS if m in text)
        for title in plain_fields(path):
            assert "<" not in title and ">" not in title, title
        for link in links:
            assert urlsplit(link).scheme in ("http", "https"), link
    assert seen_markers == set(HOSTILE_MARKERS), "the hostile text should arrive, as text"


def test_max_entries_bounds_every_feed(event_db):
    out = event_db.tmp / "feeds"
    with Store(event_db.db, readonly=True) as store:
        publish(store, out, PublishSettings(max_entries=2))
    for path in feed_files(out):
        assert 1 <= len(entry_ids(path)) <= 2


def test_publish_works_without_sources_yaml_and_empty_database(tmp_path, capsys):
    db = tmp_path / "empty.db"
    Store(db).close()
    out = tmp_path / "feeds"
    code = run_cli("publish", "--db", str(db), "--out", str(out), "--sources", str(tmp_path / "missing.yaml"))
    assert code == 0
    assert "published 1 feeds" in capsys.readouterr().out
    parsed = feedparser.parse((out / "all.atom").read_bytes())
    assert parsed.bozo == 0 and parsed.entries == []


def test_publish_without_database_is_a_clear_error(tmp_path, capsys):
    code = run_cli("publish", "--db", str(tmp_path / "none.db"), "--out", str(tmp_path / "f"),
                   "--sources", str(tmp_path / "missing.yaml"))
    assert code == 1
    assert "no database" in capsys.readouterr().err


# -- render.py on its own ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JAVASCRIPT:alert(1)", "data:text/html,<script>",
                                 "vbscript:x", "//evil.example/x", "/relative", "http://", "java\nscript:x",
                                 "http://ok.example/\x00"])
def test_safe_url_refuses_everything_but_absolute_http(url):
    assert render.safe_url(url) is None


def test_diff_html_marks_added_and_removed_lines_and_escapes_them():
    html = render.diff_html("--- before\n+++ after\n@@ -1 +1 @@\n-<b>old</b>\n+</textarea><script>x()</script>\n same")
    soup = BeautifulSoup(html, "html.parser")
    assert [e.get_text() for e in soup.find_all("del")] == ["<b>old</b>"]
    assert [e.get_text() for e in soup.find_all("ins")] == ["</textarea><script>x()</script>"]
    assert "before" not in soup.get_text() and "@@" not in soup.get_text()  # headers mean nothing to people
    assert soup.find("pre") is None  # paragraphs wrap in any reader; <pre> does not
    assert_no_live_markup(html)


def test_a_changed_line_shows_its_changed_words_inline():
    html = render.event_html(Event(id=1, kind="content", source_id="s", jurisdiction="US-FL", title="t",
                                   detected_at="2026-01-01T00:00:00Z",
                                   diff="@@ -1 +1 @@\n-Sale to minors is prohibited from 2025.\n"
                                        "+Sale of kratom is prohibited from 2026."))
    soup = BeautifulSoup(html, "html.parser")
    changed = soup.find("p", class_="kt-chg")
    assert changed.get_text() == "Changed: Sale to minorsof kratom is prohibited from 20252026."
    assert [e.get_text() for e in changed.find_all("del")] == ["to minors", "2025"]
    assert [e.get_text() for e in changed.find_all("ins")] == ["of kratom", "2026"]
    assert render.sanitize(html) == html  # the markup is within nh3's allow-list: readers get it as it is


def test_word_diff_keeps_words_whole():
    assert render.word_diff("regulated from 2023-07-01", "banned from 2026-07-01") == [
        (-1, "regulated"), (1, "banned"), (0, " from "), (-1, "2023"), (1, "2026"), (0, "-07-01")]


def test_event_text_for_notifications_has_no_markup():
    event = Event(id=1, kind="notice", jurisdiction="US-TX", title="<b>Kratom</b> <script>x</script>",
                  summary="<img src=x onerror=y>", diff="+<a href='javascript:z'>a</a>", url="javascript:z",
                  source_id="s", detected_at="2026-01-01T00:00:00Z", data={})
    text = render.event_text(event, link="http://127.0.0.1:8080/?q=US-TX")
    assert "<" not in text and ">" not in text
    assert "Evidence: javascript" not in text
    assert text.startswith("Texas — Kratom")


def test_a_federal_event_reaches_every_us_region_and_no_other_country(site, tmp_path):
    # The done-when of the places issue: a federal change is in the feed of every US region, served on
    # demand for regions without events of their own; a state's change in its counties' and cities'.
    from fastapi.testclient import TestClient

    from kratom_tracker.config.loader import load
    from kratom_tracker.web.app import ServerSettings, create_app

    baseline = tmp_path / "baseline.csv"
    baseline.write_text(BASELINE_HEADER + "US,7-OH,pending,notice of intent,,DEA proposes Schedule I.,"
                        "https://www.federalregister.gov/d/2026-20943,primary,2026-01-01\n", encoding="utf-8")
    sources = write_sources(tmp_path, "sources:\n  - id: cited-baseline\n    type: baseline\n"
                                      "    path: baseline.csv\n    jurisdiction: US\n")
    db = tmp_path / "tracker.db"
    assert collect(sources, db) == 0
    baseline.write_text(baseline.read_text().replace("US,7-OH,pending,notice of intent,,",
                                                     "US,7-OH,banned,temporary scheduling order,2026-12-01,"))
    assert collect(sources, db) == 0
    with TestClient(create_app(ServerSettings(db=db, config=load(sources)))) as client:
        for region in ("US", "US-FL", "US-FL_hillsborough-county", "US-FL_tampa", "US-MS_union-county",
                       "US-AK", "US-CA_los-angeles"):
            titles = [e.title for e in feedparser.parse(client.get(f"/feeds/region/{region}.atom").content).entries]
            assert titles == ["United States — 7-OH: pending → banned from 2026-12-01"], region
        for region in ("CA-ON_toronto", "FR", "international"):
            assert feedparser.parse(client.get(f"/feeds/region/{region}.atom").content).entries == [], region
