"""The `json`, `xml` and `pdf` source types end to end through `collect`, on documents generated here and
served from 127.0.0.1; and the page guards (`off-topic`, `needs-browser`, `moved`) that keep a wrong page
out of the feed."""

from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import collect, html_page, run_cli, stored_events, write_sources
from pdfgen import make_pdf


def _last(db, source_id: str) -> tuple[str, str]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT last_outcome, last_error FROM sources WHERE id = ?", [source_id]).fetchone()


# -- json ------------------------------------------------------------------------------------------------

# In the shape of a regulations.gov v4 /documents answer (JSON:API: data[].attributes).
def _regs_answer(*docs: tuple[str, str, str, str]) -> str:
    return json.dumps({"data": [
        {"id": doc_id, "type": "documents", "links": {"self": f"https://api.regulations.gov/v4/documents/{doc_id}"},
         "attributes": {"documentType": doc_type, "title": title, "postedDate": posted, "docketId": doc_id[:-5],
                        "withdrawn": False}}
        for doc_id, doc_type, title, posted in docs], "meta": {"totalElements": len(docs)}})


JSON_SOURCE = """sources:
  - id: regs
    name: regulations.gov kratom documents
    type: json
    url: {url}
    jurisdiction: US
    items: "$.data[*]"
    key: "$.id"
    title: "$.attributes.title"
    link: "$.links.self"
    published: "$.attributes.postedDate"
    summary: "$.attributes.documentType"
    fields: ["$.attributes.docketId"]
    match: "(?i)kratom|mitragyn|7-OH|hydroxymitragynine"
    key_env: KT_TEST_REGS_KEY
"""


def test_json_items_give_notices_and_the_key_travels_in_a_header(site, tmp_path, monkeypatch):
    monkeypatch.setenv("KT_TEST_REGS_KEY", "sekrit-key-123")
    site.set("/v4/documents", _regs_answer(
        ("FDA-2017-N-5597-0001", "Notice", "Kratom import alert", "2017-11-14T05:00:00Z"),
        ("FDA-2020-N-0001-0001", "Rule", "Unrelated sunscreen rule", "2020-01-01T05:00:00Z")),
        content_type="application/json")
    sources = write_sources(tmp_path, JSON_SOURCE.replace("url: {url}", f"url: {site.url('/v4/documents')}", 1))
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    assert _last(db, "regs")[0] == "initial"
    headers = site.requests_to("/v4/documents")[-1]
    assert headers["x-api-key"] == "sekrit-key-123"
    site.set("/v4/documents", _regs_answer(
        ("FDA-2017-N-5597-0001", "Notice", "Kratom import alert", "2017-11-14T05:00:00Z"),
        ("DEA-1570-0001", "Proposed Rule", "Temporary Placement of 7-Hydroxymitragynine in Schedule I",
         "2026-07-06T04:00:00Z")), content_type="application/json")
    assert collect(sources, db) == 0
    events = stored_events(db)
    assert [(e["kind"], e["data"]["change"], e["data"]["item_key"]) for e in events] == [
        ("notice", "new", "DEA-1570-0001")]
    assert events[0]["url"] == "https://api.regulations.gov/v4/documents/DEA-1570-0001"
    assert events[0]["data"]["$.attributes.docketId"] == "DEA-1570"
    assert "sekrit" not in db.read_bytes().decode("latin-1")


def test_a_json_source_without_its_key_is_not_fetched(site, tmp_path, monkeypatch):
    monkeypatch.delenv("KT_TEST_REGS_KEY", raising=False)
    site.set("/v4/documents", _regs_answer(), content_type="application/json")
    sources = write_sources(tmp_path, JSON_SOURCE.replace("url: {url}", f"url: {site.url('/v4/documents')}", 1))
    db = tmp_path / "t.db"
    collect(sources, db)
    outcome, error = _last(db, "regs")
    assert outcome == "missing-key" and "KT_TEST_REGS_KEY" in error
    assert site.requests_to("/v4/documents") == []


def test_json_lines_and_a_missing_path(site, tmp_path):
    site.set("/status.json", json.dumps({"bill": {"status": "Introduced", "history": ["Filed", "Referred"]}}),
             content_type="application/json")
    sources = write_sources(tmp_path, f"""sources:
  - id: lines
    name: bill status lines
    type: json
    url: {site.url('/status.json')}
    jurisdiction: US-FL
    lines: "$.bill.history[*]"
""")
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    site.set("/status.json", json.dumps({"bill": {"history": ["Filed", "Referred", "Passed Senate"]}}),
             content_type="application/json")
    assert collect(sources, db) == 0
    [event] = stored_events(db)
    assert event["kind"] == "content" and "+Passed Senate" in event["diff"]
    site.set("/status.json", json.dumps({"error": "renamed"}), content_type="application/json")
    collect(sources, db)
    assert _last(db, "lines")[0] == "selector-missing"
    assert len(stored_events(db)) == 1


def test_a_bad_jsonpath_is_refused_at_load(tmp_path, capsys):
    sources = write_sources(tmp_path, """sources:
  - id: bad
    name: bad
    type: json
    url: https://example.org/a.json
    jurisdiction: US
    items: "$.data[[["
""")
    assert run_cli("sources", "check", "--sources", str(sources)) == 2
    assert "invalid JSONPath" in capsys.readouterr().err


# -- xml -------------------------------------------------------------------------------------------------

# The shape of a Mississippi Legislature bill history (billstatus.ls.state.ms.us/.../history/HB/*.xml).
def _history(*actions: tuple[str, str]) -> str:
    rows = "".join(f"<ACTION><ACT_DATE>{d}</ACT_DATE><ACT_DESC>{t}</ACT_DESC></ACTION>" for d, t in actions)
    return (f"<?xml version='1.0'?><BILLHISTORY><MEASURE>HB 1077</MEASURE><SHORTTITLE>Kratom; regulate sale "
            f"</SHORTTITLE><ACTIONS>{rows}</ACTIONS></BILLHISTORY>")


def test_xml_one_notice_per_new_bill_action(site, tmp_path):
    site.set("/history.xml", _history(("01/20/2025", "(H) Referred To Drug Policy")), content_type="text/xml")
    sources = write_sources(tmp_path, f"""sources:
  - id: hb1077
    name: MS HB 1077 history
    type: xml
    url: {site.url('/history.xml')}
    jurisdiction: US-MS
    items: "//ACTION"
    title: "string(ACT_DESC)"
    published: "string(ACT_DATE)"
""")
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    site.set("/history.xml", _history(("01/20/2025", "(H) Referred To Drug Policy"),
                                      ("02/12/2025", "(H) Passed"), ("03/20/2025", "(S) Passed")),
             content_type="text/xml")
    assert collect(sources, db) == 0
    events = stored_events(db)
    assert [e["title"] for e in events] == ["New: (H) Passed", "New: (S) Passed"]
    assert all(e["jurisdiction"] == "US-MS" and e["kind"] == "notice" for e in events)


def test_xml_entities_are_never_resolved(site, tmp_path, tmp_path_factory):
    secret = tmp_path_factory.mktemp("secret") / "passwd"
    secret.write_text("root:SECRET-LINE")
    site.set("/x.xml", f"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY x SYSTEM 'file://{secret}'>]>"
                       "<r><line>kratom &x;</line></r>", content_type="text/xml")
    sources = write_sources(tmp_path, f"""sources:
  - id: x
    name: x
    type: xml
    url: {site.url('/x.xml')}
    jurisdiction: US
    lines: "//line"
""")
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    assert "SECRET-LINE" not in db.read_bytes().decode("latin-1")


# -- pdf -------------------------------------------------------------------------------------------------


def _pdf_source(site) -> str:
    return f"""sources:
  - id: rule
    name: Florida rule 64B-99 (PDF)
    type: pdf
    url: {site.url('/rule.pdf')}
    jurisdiction: US-FL
    ignore: ["^Printed on"]
"""


def test_pdf_text_with_page_numbers_in_the_diff(site, tmp_path):
    page1 = ["Rule 64B-99.001 Kratom products", "Printed on 2026-01-01"]
    site.set("/rule.pdf", make_pdf([page1, ["(1) Sale to persons under 21 is prohibited."]]),
             content_type="application/pdf")
    sources = write_sources(tmp_path, _pdf_source(site))
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    assert _last(db, "rule")[0] == "initial"
    site.set("/rule.pdf", make_pdf([["Rule 64B-99.001 Kratom products", "Printed on 2026-02-01"],
                                    ["(1) Sale to persons under 21 is prohibited.",
                                     "(2) 7-hydroxymitragynine above 2% of alkaloids is prohibited."]]),
             content_type="application/pdf")
    assert collect(sources, db) == 0
    [event] = stored_events(db)
    assert event["kind"] == "content"
    assert "+[p. 2] (2) 7-hydroxymitragynine above 2% of alkaloids is prohibited." in event["diff"]
    assert "Printed on" not in event["diff"]


@pytest.mark.parametrize(("body", "outcome"), [
    (b"<html>not a pdf</html>", "parse-error"),
    (b"%PDF-1.4\n garbage that is no PDF", "parse-error"),
    (make_pdf([["A rule on sunscreen labels"]]), "off-topic"),
])
def test_pdf_refusals_write_no_event(site, tmp_path, body, outcome):
    site.set("/rule.pdf", make_pdf([["Kratom rule text"]]), content_type="application/pdf")
    sources = write_sources(tmp_path, _pdf_source(site))
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    site.set("/rule.pdf", body, content_type="application/pdf")
    collect(sources, db)
    assert _last(db, "rule")[0] == outcome
    assert stored_events(db) == []


# -- page guards -----------------------------------------------------------------------------------------

PAGE = """sources:
  - id: advisory
    name: Kratom advisory
    type: page
    url: {url}
    jurisdiction: US-FL
    select: main
"""

SHELL = ("<!doctype html><html><head><title>Agency</title><script src='/a.js'></script>"
         "<script src='/b.js'></script><script src='/c.js'></script></head><body><div id='root'></div>"
         "<noscript>You need to enable JavaScript to run this app.</noscript></body></html>")


@pytest.mark.parametrize(("change", "outcome"), [
    ("off-topic", "off-topic"),
    ("shell", "needs-browser"),
    ("moved", "moved"),
])
def test_a_wrong_page_is_an_outcome_not_an_event(site, tmp_path, change, outcome):
    site.set("/advisory", html_page("<h1>Kratom</h1><p>Kratom is not approved as a dietary supplement.</p>"))
    sources = write_sources(tmp_path, PAGE.format(url=site.url("/advisory")))
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    if change == "off-topic":  # a redesign: the main element now holds the agency's home page news
        site.set("/advisory", html_page("<h1>News</h1><p>Hurricane season starts June 1.</p>"))
    elif change == "shell":
        site.set("/advisory", SHELL)
    else:
        site.set("/home", html_page("<h1>Welcome</h1><p>Kratom is mentioned here too.</p>"))
        site.set("/advisory", b"", status=301, headers={"Location": "/home"})
    collect(sources, db)  # exit 1: the only source failed
    got, error = _last(db, "advisory")
    assert got == outcome, error
    assert stored_events(db) == []
    # Back to the page: compared with the kept snapshot, so nothing was lost and nothing is written.
    site.set("/advisory", html_page("<h1>Kratom</h1><p>Kratom is not approved as a dietary supplement.</p>"))
    assert collect(sources, db) == 0
    assert _last(db, "advisory")[0] in ("unchanged", "not-modified")


def test_require_can_be_switched_off_or_changed(site, tmp_path):
    site.set("/notice", html_page("<p>Rule 64B21-501.001 amended</p>"))
    sources = write_sources(tmp_path, PAGE.format(url=site.url("/notice")) + "    require: ''\n"
                            + PAGE.format(url=site.url("/notice")).split("sources:\n", 1)[1]
                            .replace("id: advisory", "id: strict") + "    require: '(?i)64B21'\n")
    db = tmp_path / "t.db"
    assert collect(sources, db) == 0
    assert _last(db, "advisory")[0] == "initial"
    assert _last(db, "strict")[0] == "initial"
