"""The article check: claims found by rule in the two seed articles (read from ../shared/fixtures/articles/,
never copied) and in a written article with concrete claims about named states, each verdict with its
citation; the command, the API, `articles:` in sources.yaml and the `article` event of a watched article."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import REPO, collect, run_cli, stored_events, write_sources
from kratom_tracker import regions
from kratom_tracker.articles.check import agrees, check_article, load_article
from kratom_tracker.articles.claims import find_claims, find_places, read_article, sentence_claims
from kratom_tracker.config.loader import load
from kratom_tracker.config.model import ConfigError
from kratom_tracker.store import Store
from kratom_tracker.vocab import ClaimKind, Status
from kratom_tracker.web.app import ServerSettings, create_app

ARTICLES = Path(__import__("os").environ.get("KRATOM_TRACKER_ARTICLES", REPO.parent / "shared" / "fixtures" / "articles"))

HEADER = "jurisdiction,substance,status,detail,effective_date,summary,source_url,source_type,last_verified\n"
BASELINE = HEADER + (
    "US,leaf,legal,unscheduled; FDA advisories + import alert,2016-10-13,\"Not federally scheduled; FDA warns "
    "against use and blocks imports as unapproved.\",https://www.federalregister.gov/d/2016-24659,primary,2026-01-01\n"
    "US-FL,all,regulated,21+,2023-07-01,Florida KCPA: no sale to under-21s.,"
    "https://www.flsenate.gov/Session/Bill/2023/179,primary,2026-01-01\n"
    "US-FL,7-OH,banned,Schedule I above 1 mg/g,2026-06-22,Florida emergency rule on 7-OH.,"
    "https://www.flrules.org/gateway/ruleNo.asp?id=64K-1.007,primary,2026-01-01\n"
    "US-AL,all,banned,Schedule I,2016-05-10,Alabama Schedule I.,https://alison.legislature.state.al.us/,primary,2026-01-01\n"
    "US-IN,all,banned,synthetic-drug listing,2014-07-01,Indiana bans.,https://iga.in.gov/,primary,2026-01-01\n"
    "US-AR,leaf,banned,Schedule I,2016-02-01,Arkansas bans.,https://www.healthy.arkansas.gov/,primary,2026-01-01\n"
    "US-VT,leaf,banned,regulated drug,2016-01-01,Vermont bans.,https://legislature.vermont.gov/,primary,2026-01-01\n"
    "US-WI,leaf,banned,Schedule I,2014-04-01,Wisconsin bans.,https://docs.legis.wisconsin.gov/,primary,2026-01-01\n"
    "US-RI,leaf,banned,Schedule I,2017-01-01,Rhode Island bans.,https://health.ri.gov/,primary,2026-01-01\n"
    "US-TN,leaf,banned,Schedule I,2026-01-01,Tennessee scheduled kratom.,https://www.capitol.tn.gov/,primary,2026-01-01\n"
    "US-TX,leaf,regulated,18+ (Texas KCPA),2023-09-01,Texas KCPA: no sale under 18.,"
    "https://statutes.capitol.texas.gov/Docs/HS/htm/HS.444.htm,primary,2026-01-01\n"
)

CONCRETE = """<!doctype html><html><head><title>Kratom laws by state</title></head><body>
<nav>Home · Shop</nav><h1>Is kratom legal? A state-by-state guide</h1>
<p>Kratom is legal in Florida, but banned in Alabama and Indiana.</p>
<p>Kratom is banned in six states.</p>
<p>7-OH is legal in Florida.</p>
<p>Kratom is banned in Texas.</p>
<p>In Texas you must be 21 to buy kratom.</p>
<p>Importantly, kratom is not FDA-approved.</p>
<p>Kratom is legal in Oregon.</p>
<p>Kratom is legal in Canada.</p>
<script>document.write("kratom is banned in Ohio")</script>
</body></html>"""


@pytest.fixture
def db(tmp_path) -> Path:
    baseline = tmp_path / "baseline.csv"
    baseline.write_text(BASELINE, encoding="utf-8")
    sources = write_sources(tmp_path, "sources:\n  - id: baseline\n    name: Baseline\n    type: baseline\n"
                                      "    path: baseline.csv\n    jurisdiction: US\n")
    path = tmp_path / "tracker.db"
    assert collect(sources, path) == 0
    return path


def seed(name: str) -> Path:
    path = ARTICLES / name
    if not path.exists():
        pytest.skip(f"seed article {name} not found in {ARTICLES}")
    return path


def _check(source: str | Path, db: Path | None, as_of: date = date(2026, 12, 1), readers: tuple[str, ...] = ()) -> dict:
    article = load_article(str(source))
    store = Store(db, readonly=True) if db else None
    try:
        return check_article(article, store, as_of, [regions.lookup(r) for r in readers], "https://kt.example")
    finally:
        if store:
            store.close()


# -- the seed articles: generic advice, named as such ---------------------------------------------------


def test_back_pain_article_generic_advice_is_named_vague(db):
    report = _check(seed("kratom-for-back-pain.txt"), db)
    vague = [c for c in report["claims"] if c["verdict"] == "vague"]
    texts = " ".join(c["text"] for c in vague)
    assert "Always consider the legal status of kratom in your area" in texts
    assert "Legal status of kratom is inconsistent" in texts
    assert all(c["kind"] == "vague" and "generic legality advice" in c["explanation"] for c in vague)
    # its one concrete statement, "kratom is not FDA-approved", is checked against the federal evidence
    fda = [c for c in report["claims"] if c["kind"] == "fda"]
    assert [c["verdict"] for c in fda] == ["consistent"]
    assert fda[0]["citation"]["url"] == "https://www.federalregister.gov/d/2016-24659"
    assert not [c for c in report["claims"] if c["kind"] == "status"]  # it names no place


def test_sciatica_article_check_local_laws_gets_regions_and_an_embed(db):
    report = _check(seed("kratom-for-sciatica.txt"), db, readers=("Florida", "US-TX"))
    vague = {c["text"]: c for c in report["claims"] if c["verdict"] == "vague"}
    assert set(vague) == {"The legality of kratom varies by region.", "Check local laws and regulations."}
    suggestion = vague["Check local laws and regulations."]["suggestion"]
    assert [r["code"] for r in suggestion["regions"]] == ["US-FL", "US-TX"]
    florida = suggestion["regions"][0]
    assert florida["status"]["7-OH"]["status"] == "banned"
    assert florida["embed"].startswith('<iframe src="https://kt.example/embed/US-FL.html"')
    assert [c for c in report["claims"] if c["verdict"] != "vague"] == []


def test_generic_advice_without_readers_regions_suggests_the_map():
    report = _check(seed("kratom-for-sciatica.txt"), None)
    suggestion = report["claims"][0]["suggestion"]
    assert suggestion["regions"] == [] and "--regions" in suggestion["hint"]
    assert "/map/us.svg?substance=leaf" in suggestion["map"]


# -- concrete claims about named states -----------------------------------------------------------------


def test_concrete_claims_each_get_a_verdict_with_a_citation(db, tmp_path):
    page = tmp_path / "guide.html"
    page.write_text(CONCRETE, encoding="utf-8")
    report = _check(page, db)
    assert report["article"]["title"] == "Is kratom legal? A state-by-state guide"
    verdicts = {(c["text"], (c["region"] or {}).get("code")): c for c in report["claims"]}
    florida = verdicts[("Kratom is legal in Florida, but banned in Alabama and Indiana.", "US-FL")]
    assert florida["verdict"] == "consistent" and "21+" in florida["explanation"]
    assert verdicts[("Kratom is legal in Florida, but banned in Alabama and Indiana.", "US-AL")]["verdict"] == "consistent"
    assert verdicts[("Kratom is legal in Florida, but banned in Alabama and Indiana.", "US-IN")]["verdict"] == "consistent"
    seven = verdicts[("7-OH is legal in Florida.", "US-FL")]
    assert seven["verdict"] == "stale" and seven["since"] == "2026-06-22" and seven["changed"] == "regulated → banned"
    assert "since 2026-06-22 Florida bans 7-OH (Schedule I above 1 mg/g" in seven["explanation"]
    assert seven["citation"]["url"] == "https://www.flrules.org/gateway/ruleNo.asp?id=64K-1.007"
    texas = verdicts[("Kratom is banned in Texas.", "US-TX")]
    assert texas["verdict"] == "contradicted" and "Texas regulates kratom" in texas["explanation"]
    age = verdicts[("In Texas you must be 21 to buy kratom.", "US-TX")]
    assert age["verdict"] == "contradicted" and "age limit on file is 18" in age["explanation"]
    count = verdicts[("Kratom is banned in six states.", "US")]
    # seven states ban the leaf now: Tennessee joined the six on 2026-01-01
    assert count["verdict"] == "stale" and count["since"] == "2026-01-01" and len(count["states"]) == 7
    assert all(c["url"] for c in count["citations"])
    oregon = verdicts[("Kratom is legal in Oregon.", "US-OR")]  # nothing of its own: the federal answer applies
    assert oregon["verdict"] == "consistent" and "Oregon (through United States) allows kratom" in oregon["explanation"]
    assert verdicts[("Kratom is legal in Canada.", "CA")]["verdict"] == "unknown"  # no evidence: no guess
    assert verdicts[("Importantly, kratom is not FDA-approved.", "US")]["verdict"] == "consistent"
    for claim in report["claims"]:
        if claim["verdict"] in ("consistent", "stale", "contradicted"):
            assert claim["citation"] and claim["citation"]["url"].startswith("https://"), claim
    assert not any("Ohio" in c["text"] for c in report["claims"])  # a script's text is never read


def test_as_of_judges_against_the_law_of_that_day(db, tmp_path):
    page = tmp_path / "guide.html"
    page.write_text(CONCRETE, encoding="utf-8")
    report = _check(page, db, as_of=date(2025, 1, 1))
    seven = next(c for c in report["claims"] if c["text"] == "7-OH is legal in Florida.")
    assert seven["verdict"] == "consistent"  # before the emergency rule
    count = next(c for c in report["claims"] if c["kind"] == "count")
    assert count["verdict"] == "consistent" and len(count["states"]) == 6


# -- the rules, one at a time --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "codes"), [
    ("Kratom is banned in West Virginia and New Mexico.", ["US-WV", "US-NM"]),
    ("It is illegal in Sarasota County, Florida.", ["US-FL/sarasota-county"]),
    ("Georgia and Florida regulate kratom.", ["US-GA", "US-FL"]),
    ("Kratom grows in Thailand and Malaysia, native to Southeast Asia.", ["TH", "MY"]),
    ("Kratom is sold in the U.S. and the UK.", ["US", "GB"]),
    ("Back pain is common.", []),
])
def test_find_places(text, codes):
    assert [r.code for r in find_places(text)] == codes


def test_georgia_alone_is_the_country_unless_the_article_is_about_us_states():
    assert [r.code for r in find_places("Georgia bans kratom.")] == ["GE"]
    assert [r.code for r in find_places("Georgia bans kratom.", prefer_us=True)] == ["US-GA"]


@pytest.mark.parametrize(("sentence", "kind", "claimed"), [
    ("Kratom is legal in Florida.", ClaimKind.STATUS, "legal"),
    ("Kratom is illegal in Florida.", ClaimKind.STATUS, "banned"),
    ("Kratom is not legal in Florida.", ClaimKind.STATUS, "banned"),
    ("Kratom is no longer banned in Florida.", ClaimKind.STATUS, "legal"),
    ("Florida regulates kratom.", ClaimKind.STATUS, "regulated"),
    ("Kratom is banned in 6 states.", ClaimKind.COUNT, "banned"),
    ("Six states have banned kratom.", ClaimKind.COUNT, "banned"),
    ("Kratom has not been approved by the FDA.", ClaimKind.FDA, "not-approved"),
    ("You must be 21 to buy kratom in Florida.", ClaimKind.AGE, "regulated"),
    ("Check your local laws before buying kratom.", ClaimKind.VAGUE, ""),
    ("The legality of kratom varies by region.", ClaimKind.VAGUE, ""),
])
def test_claim_rules(sentence, kind, claimed):
    claims = sentence_claims(sentence, prefer_us=True)
    assert claims and claims[0].kind is kind and claims[0].claimed == claimed, claims


@pytest.mark.parametrize("sentence", [
    "Kratom's legal status is a question many readers ask.",
    "Is kratom legal in Florida?",  # a question claims nothing
    "Marijuana is legal in Colorado.",  # checked in an article that is not about kratom: see below
    "The lack of regulation surrounding herbal supplements means that quality varies.",
])
def test_not_claims(sentence):
    about = "Marijuana" not in sentence
    assert [c for c in sentence_claims(sentence, about_kratom=about) if c.kind is not ClaimKind.VAGUE] == []
    assert [c for c in sentence_claims(sentence, about_kratom=about) if c.kind is ClaimKind.VAGUE] == []


def test_legal_agrees_with_regulated_and_pending_only():
    assert agrees("legal", Status.REGULATED) and agrees("legal", Status.PENDING)
    assert not agrees("legal", Status.BANNED) and not agrees("banned", Status.REGULATED)


def test_reading_html_keeps_blocks_and_drops_script_and_nav():
    article = read_article(CONCRETE, "x")
    assert "Home · Shop" not in article.text and "document.write" not in article.text
    assert "Kratom is banned in six states." in article.sentences
    assert find_claims(article)


# -- the command and the API ---------------------------------------------------------------------------


def test_check_article_command_json_on_a_file_and_on_a_url(db, tmp_path, site, capsys):
    page = tmp_path / "guide.html"
    page.write_text(CONCRETE, encoding="utf-8")
    sources = write_sources(tmp_path, "sources: []\n", name="empty.yaml")
    assert run_cli("check-article", str(page), "--db", str(db), "--sources", str(sources), "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["stale"] == 2
    site.set("/guide", CONCRETE)
    assert run_cli("check-article", site.url("/guide"), "--db", str(db), "--sources", str(sources),
                   "--regions", "Florida", "--as-of", "2026-12-01") == 0
    out = capsys.readouterr().out
    assert "[stale]" in out and "cited: https://www.flrules.org" in out
    assert site.requests_to("/robots.txt")  # fetched politely
    assert run_cli("check-article", site.url("/missing"), "--db", str(db), "--sources", str(sources)) == 1
    assert run_cli("check-article", str(page), "--db", str(db), "--regions", "Narnia") == 2


def test_api_check(db, site):
    client = TestClient(create_app(ServerSettings(db=db)))
    answer = client.post("/api/check", json={"html": CONCRETE, "as_of": "2026-12-01"})
    assert answer.status_code == 200 and answer.json()["summary"]["stale"] == 2
    answer = client.post("/api/check", json={"text": "Check your local laws.", "regions": ["US-FL"]})
    assert answer.json()["claims"][0]["suggestion"]["regions"][0]["code"] == "US-FL"
    site.set("/guide", CONCRETE)
    # The URL is the caller's choice: by default only public addresses are fetched (the server is no probe
    # of its own network); an operator allows private ones with `serve --check-private-urls`.
    refused = client.post("/api/check", json={"url": site.url("/guide")})
    assert refused.status_code == 400 and "loopback address refused" in refused.json()["error"]
    assert not site.requests_to("/guide")
    for url in ("http://10.0.0.1/admin", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/"):
        answer = client.post("/api/check", json={"url": url})
        assert answer.status_code == 400 and "address refused" in answer.json()["error"], url
    trusting = TestClient(create_app(ServerSettings(db=db, check_private_urls=True)))
    assert trusting.post("/api/check", json={"url": site.url("/guide")}).json()["summary"]["stale"] == 2
    assert client.post("/api/check", json={}).status_code == 400
    assert client.post("/api/check", json={"text": "x", "html": "y"}).status_code == 400
    assert client.post("/api/check", json={"url": "/etc/passwd"}).status_code == 422  # never a server file
    assert client.post("/api/check", json={"text": "x", "regions": ["Narnia"]}).status_code == 404


# -- watched articles -----------------------------------------------------------------------------------


def test_articles_in_sources_yaml_are_validated_with_lines(tmp_path):
    (tmp_path / "page.txt").write_text("Kratom is legal in Florida.", encoding="utf-8")
    good = write_sources(tmp_path, "sources: []\narticles:\n  - path: page.txt\n    name: My page\n"
                                   "    regions: [US-FL]\n  - https://example.org/kratom\n")
    config = load(good)
    assert [a.id for a in config.articles] == ["my-page", "https-example-org-kratom"]
    assert config.articles[0].path == str((tmp_path / "page.txt").resolve())
    bad = write_sources(tmp_path, "sources: []\narticles:\n  - path: nowhere.txt\n  - url: ftp://x\n"
                                  "  - path: page.txt\n    regions: [Florida]\n    notify: [nobody]\n", name="bad.yaml")
    with pytest.raises(ConfigError) as caught:
        load(bad)
    problems = caught.value.problems
    assert any(p.startswith(f"{bad}:8: articles[0].path: no file 'nowhere.txt'") for p in problems), problems
    assert any(":9: articles[1].url:" in p for p in problems), problems
    assert any(":11: articles[2].regions: unknown region 'Florida'" in p for p in problems), problems
    assert any(":12: articles[2].notify: no notify target named 'nobody'" in p for p in problems), problems


WATCHED_BEFORE = HEADER + (
    "US-FL,leaf,regulated,21+,2023-07-01,Florida KCPA.,https://www.flsenate.gov/Session/Bill/2023/179,primary,2026-01-01\n"
    "US-FL,7-OH,regulated,21+,2023-07-01,Florida KCPA.,https://www.flsenate.gov/Session/Bill/2023/179,primary,2026-01-01\n"
)
WATCHED_AFTER = WATCHED_BEFORE.replace(
    "US-FL,7-OH,regulated,21+,2023-07-01,Florida KCPA.,https://www.flsenate.gov/Session/Bill/2023/179",
    "US-FL,7-OH,banned,Schedule I above 1 mg/g,2026-07-01,Florida emergency rule.,"
    "https://www.flrules.org/gateway/ruleNo.asp?id=64K-1.007")


def test_a_status_change_in_a_named_state_writes_an_article_event_and_a_notification(tmp_path):
    baseline = tmp_path / "baseline.csv"
    baseline.write_text(WATCHED_BEFORE, encoding="utf-8")
    (tmp_path / "back-pain.html").write_text(
        "<html><body><h1>Kratom for back pain</h1><p>7-OH is legal in Florida.</p></body></html>", encoding="utf-8")
    (tmp_path / "generic.txt").write_text("Kratom and sciatica\n\nCheck your local laws.", encoding="utf-8")
    sources = write_sources(tmp_path, """notify:
  - url: json://127.0.0.1:9/hook
    name: maintainers
  - url: json://127.0.0.1:9/other
    name: others
    kinds: [status]
sources:
  - id: baseline
    name: Baseline
    type: baseline
    path: baseline.csv
    jurisdiction: US
articles:
  - path: back-pain.html
    name: Kratom for back pain
    notify: [maintainers]
  - path: generic.txt
    name: Kratom and sciatica
    regions: [US-FL]
  - path: generic.txt
    id: texas-readers
    regions: [US-TX]
""")
    db = tmp_path / "tracker.db"
    assert collect(sources, db) == 0
    baseline.write_text(WATCHED_AFTER, encoding="utf-8")
    assert collect(sources, db) == 0
    events = [e for e in stored_events(db) if e["kind"] == "article"]
    by_article = {e["data"]["article"]: e for e in events}
    assert set(by_article) == {"kratom-for-back-pain", "kratom-and-sciatica"}  # Texas readers: no news
    back = by_article["kratom-for-back-pain"]
    assert back["jurisdiction"] == "US-FL" and back["source_id"] == "article:kratom-for-back-pain"
    assert back["summary"].startswith("Your page 'Kratom for back pain' says “7-OH is legal in Florida.” about "
                                      "Florida; since 2026-07-01 Florida bans 7-OH (Schedule I above 1 mg/g")
    assert back["data"]["citation"]["url"] == "https://www.flrules.org/gateway/ruleNo.asp?id=64K-1.007"
    generic = by_article["kratom-and-sciatica"]
    assert "says nothing specific" in generic["summary"] and "/embed/US-FL.html" in generic["summary"]
    import sqlite3

    with sqlite3.connect(db) as conn:
        outbox = conn.execute("SELECT target, kind, title FROM outbox WHERE kind = 'article' ORDER BY id").fetchall()
    assert len(outbox) == 2 and all(row[0].startswith("maintainers#") for row in outbox)
    assert any("Kratom for back pain" in row[2] for row in outbox)
    assert collect(sources, db) == 0  # nothing new: the article events are once-only
    assert len([e for e in stored_events(db) if e["kind"] == "article"]) == 2


# -- an article that changes is checked again --------------------------------------------------------------

GUIDE = "<html><body><h1>Kratom guide</h1><p>Kratom is legal in Florida.</p><p>Kratom is banned in Alabama.</p>{}</body></html>"


def _watched_setup(tmp_path: Path, articles: str) -> Path:
    (tmp_path / "baseline.csv").write_text(BASELINE, encoding="utf-8")
    return write_sources(tmp_path, "sources:\n  - id: baseline\n    name: Baseline\n    type: baseline\n"
                                   "    path: baseline.csv\n    jurisdiction: US\narticles:\n" + articles)


def _article_events(db: Path) -> list[dict]:
    return [e for e in stored_events(db) if e["kind"] == "article"]


def _watched_row(db: Path, article_id: str):
    with Store(db, readonly=True) as store:
        return store.watched_article(article_id)


def test_an_edited_article_is_checked_again_and_only_new_claims_are_news(tmp_path):
    page = tmp_path / "guide.html"
    page.write_text(GUIDE.format(""), encoding="utf-8")
    sources = _watched_setup(tmp_path, "  - path: guide.html\n    name: Kratom guide\n")
    db = tmp_path / "tracker.db"
    assert collect(sources, db) == 0
    assert _article_events(db) == []  # both claims agree with the law in force
    first = _watched_row(db, "kratom-guide")
    assert first.sha256 and first.title == "Kratom guide" and len(first.claims) == 1 and first.last_error is None
    assert collect(sources, db) == 0 and _article_events(db) == []  # the same text: nothing to say

    page.write_text(GUIDE.format("<p>Kratom is legal in Alabama.</p>"), encoding="utf-8")  # an edit brings a wrong claim
    assert collect(sources, db) == 0
    [event] = _article_events(db)
    assert event["jurisdiction"] == "US-AL" and event["source_id"] == "article:kratom-guide"
    assert event["summary"].startswith("Your page 'Kratom guide' changed; it now says “Kratom is legal in Alabama.” "
                                       "about Alabama: contradicted")
    assert event["data"]["first_reading"] is False and event["data"]["citation"]["url"].startswith("https://alison")
    assert _watched_row(db, "kratom-guide").sha256 != first.sha256

    quiet_edits = [
        GUIDE.format("<p>Kratom is legal in Alabama.</p><script>var x = 'kratom is banned in Ohio';</script>"),  # markup only
        GUIDE.format("<p>Kratom is legal in Alabama.</p><p>Our shop opens at nine.</p>"),  # no new claim
        GUIDE.format(""),  # the wrong claim removed...
        GUIDE.format("<p>Kratom is legal in Alabama.</p>"),  # ...and back: said already, within the last versions
    ]
    for text in quiet_edits:
        page.write_text(text, encoding="utf-8")
        assert collect(sources, db) == 0
        assert len(_article_events(db)) == 1, text

    page.write_text("", encoding="utf-8")  # a broken reading is an outcome, not a version
    assert collect(sources, db) == 0 and len(_article_events(db)) == 1
    broken = _watched_row(db, "kratom-guide")
    assert "no text found" in broken.last_error and broken.sha256 is not None
    page.write_text(GUIDE.format("<p>Kratom is legal in Alabama.</p>"), encoding="utf-8")
    assert collect(sources, db) == 0 and len(_article_events(db)) == 1  # back as it was: still nothing new
    assert _watched_row(db, "kratom-guide").last_error is None

    page.write_text(GUIDE.format("<p>Kratom is legal in Indiana.</p><p>Kratom is legal in Alabama.</p>"), encoding="utf-8")
    assert collect(sources, db) == 0
    newest = _article_events(db)[-1]
    assert len(_article_events(db)) == 2 and newest["jurisdiction"] == "US-IN"  # only the claim this edit brought


def test_articles_command_lists_the_watched_articles_as_last_read(tmp_path, capsys):
    page = tmp_path / "guide.html"
    page.write_text(GUIDE.format("<p>Kratom is legal in Alabama.</p>"), encoding="utf-8")
    sources = _watched_setup(tmp_path, "  - path: guide.html\n    name: Kratom guide\n"
                                       "  - path: guide.html\n    id: second\n    name: Second copy\n")
    db = tmp_path / "tracker.db"
    assert collect(sources, db) == 0
    page.write_text("", encoding="utf-8")
    assert collect(sources, db) == 0
    capsys.readouterr()
    assert run_cli("articles", "--sources", str(sources), "--db", str(db), "--format", "json") == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"kratom-guide", "second"}
    guide = rows["kratom-guide"]
    assert guide["events"] == 1 and guide["title"] == "Kratom guide" and "no text found" in guide["last_error"]
    assert guide["changed_at"] <= guide["checked_at"] and guide["location"] == str(page.resolve())
    assert run_cli("articles", "--sources", str(sources), "--db", str(db), "--format", "csv") == 0
    csv_lines = capsys.readouterr().out.splitlines()
    assert csv_lines[0].startswith("id,") and len(csv_lines) == 3


def test_a_url_article_read_first_with_a_wrong_claim_is_news_and_read_after_the_pass(tmp_path, site):
    site.set("/guide", GUIDE.format("<p>7-OH is legal in Florida.</p>"))  # 7-OH: Schedule I in this baseline
    sources = _watched_setup(tmp_path, f"  - url: {site.url('/guide')}\n    name: Guide\n    regions: [US-FL]\n")
    db = tmp_path / "tracker.db"
    config = load(sources)
    reads_during_pass = []

    def on_result(_result) -> None:  # called in the writer, after each source's commit
        reads_during_pass.append(len(site.requests_to("/guide")))

    from kratom_tracker.engine.runner import collect as run_collect

    with Store(db) as store:
        summary = run_collect(config, store, config.sources, on_result=on_result)
    assert reads_during_pass == [0]  # the article is never fetched inside a source's commit
    assert len(site.requests_to("/guide")) == 1
    [event] = _article_events(db)
    assert event["id"] in summary.event_ids
    assert event["summary"].startswith("Your page 'Guide' says “7-OH is legal in Florida.” about Florida: stale")
    assert event["data"]["first_reading"] is True and event["url"] == site.url("/guide")

    site.set("/guide", "oops", status=500)
    assert collect(sources, db) == 0 and len(_article_events(db)) == 1
    assert "500" in _watched_row(db, "guide").last_error


def test_the_daemon_reads_an_article_again_when_its_interval_has_passed(tmp_path):
    from datetime import UTC, datetime, timedelta

    from kratom_tracker.engine import watch

    page = tmp_path / "guide.html"
    page.write_text(GUIDE.format(""), encoding="utf-8")
    sources = _watched_setup(tmp_path, "  - path: guide.html\n    name: Kratom guide\n    interval: 6h\n")
    config = load(sources)
    assert config.articles[0].interval == 6 * 3600
    reads: list[str] = []

    def read(watched):
        reads.append(watched.id)
        return load_article(watched.path)

    start = datetime.now(UTC)
    with Store(tmp_path / "tracker.db") as store:
        assert watch.articles_due(config, store, start)
        watch.article_events(config, store, [], read=read, only_due=True, now=start)
        assert reads == ["kratom-guide"] and not watch.articles_due(config, store, start + timedelta(hours=5))
        watch.article_events(config, store, [], read=read, only_due=True, now=start + timedelta(hours=5))
        assert reads == ["kratom-guide"]  # not due yet
        later = start + timedelta(hours=7)
        assert watch.articles_due(config, store, later)
        watch.article_events(config, store, [], read=read, only_due=True, now=later)
        assert reads == ["kratom-guide"] * 2


def test_collect_and_the_daemon_republish_the_embeds(tmp_path):
    from kratom_tracker.engine.scheduler import Daemon

    (tmp_path / "baseline.csv").write_text(BASELINE, encoding="utf-8")
    sources = write_sources(tmp_path, "sources:\n  - id: baseline\n    name: Baseline\n    type: baseline\n"
                                      "    path: baseline.csv\n    jurisdiction: US\n")
    db = tmp_path / "tracker.db"
    embeds = tmp_path / "site"
    assert run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet", "--embeds", str(embeds)) == 0
    florida = embeds / "embed" / "US-FL.html"
    assert florida.is_file() and "Schedule I above 1 mg/g" in florida.read_text(encoding="utf-8")
    assert (embeds / "map" / "us.svg").is_file()
    florida.unlink()
    daemon = Daemon(load(sources), db, tmp_path / "feeds", embeds)
    try:
        daemon._publish()  # what the publisher thread runs after changes
    finally:
        daemon.store.close()
        daemon.fetcher.close()
    assert florida.is_file() and (tmp_path / "feeds" / "all.atom").is_file()
