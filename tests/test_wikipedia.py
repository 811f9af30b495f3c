"""The `wikipedia` source type: one section of an article, from its wikitext, served from 127.0.0.1.

No real MediaWiki answer was recorded, so the answers are built in the API's shape around the recorded
lead of "Mitragyna speciosa" (CC BY-SA 4.0, Wikipedia contributors) plus a legal-status section written
for these tests."""

from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import excerpt_text, run_cli, write_sources
from kratom_tracker.config import loader as config_module
from kratom_tracker.extractors import get
from kratom_tracker.extractors.wikipedia import article_title, cut_section, wikitext_lines
from kratom_tracker.values import Response


def _lead() -> str:
    text = excerpt_text("wikipedia_kratom_current_lead_EXCERPT.txt").replace("[... excerpt ends ...]", "")
    return text.strip().split("\n\n", 3)[-1].strip()


LEGAL = """== Legal status ==
{{Main|Legal status of kratom}}
{{Update section|date=March 2026}}
[[File:Kratom leaves.jpg|thumb|Dried leaves]]
{{As of|2026}}, kratom is legal in [[Thailand]] under a licensing law.<ref name="th">{{cite web|title=Kratom Plant Act}}</ref>
=== United States ===
Kratom is not federally scheduled.<ref>{{cite news|title=FDA}}</ref>{{citation needed|date=May 2026}}
* [[Alabama]]: [[Controlled substance|Schedule I]] since 2016.<!-- editors: keep alphabetical -->
{| class="wikitable"
! State !! Status
|-
| Ohio || 7-OH scheduled
|}
"""
OTHER = "== Pharmacology ==\nMitragynine is the main alkaloid.<ref>{{cite journal|title=P}}</ref>\n"


def article(legal: str = LEGAL, lead_ref: str = "", other: str = OTHER) -> str:
    return f"{_lead()}{lead_ref}\n\n{other}\n{legal}\n== See also ==\n* [[Opioid]]\n[[Category:Rubiaceae]]\n"


def api_answer(wikitext: str, revid: int, formatversion: int = 2) -> str:
    parse = {"title": "Mitragyna speciosa", "pageid": 1331226, "revid": revid,
             "wikitext": wikitext if formatversion == 2 else {"*": wikitext}}
    return json.dumps({"parse": parse})


def _source(site, via: str = "raw", extra: str = "") -> str:
    return f"""sources:
  - id: wiki
    name: "Wikipedia: kratom legal status"
    type: wikipedia
    url: {site.url('/wiki/Mitragyna_speciosa')}
    section: [Legality, Legal status]
    via: {via}
    jurisdiction: international
    tags: [secondary]
    timeout: 2s
{extra}"""


def _events(db) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM events ORDER BY id")]


def _outcome(db) -> tuple[str, str]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT last_outcome, last_error FROM sources WHERE id = 'wiki'").fetchone()


def test_section_text_is_readable_without_refs_templates_or_markup() -> None:
    heading, body = cut_section(article(), ("Legality", "legal STATUS"))
    assert heading == "Legal status"
    assert wikitext_lines(body) == [
        "As of 2026, kratom is legal in Thailand under a licensing law.",
        "United States",
        "Kratom is not federally scheduled.",
        "Alabama: Schedule I since 2016.",
        "State | Status",
        "Ohio | 7-OH scheduled",
    ]
    assert "Pharmacology" not in body and "See also" not in body  # the section stops at its sibling
    assert wikitext_lines("''Kratom'' &amp; {{lang|th|กระท่อม}}<br/>see [https://example.org the act] "
                          "[[Category:Plants]]") == ["Kratom & กระท่อม", "see the act"]
    assert cut_section(article(), ("Legal issues",)) is None


def test_title_comes_from_the_article_url() -> None:
    assert article_title("https://en.wikipedia.org/wiki/Mitragyna_speciosa") == "Mitragyna speciosa"
    assert article_title("https://de.wikipedia.org/wiki/Kratom_%28Pflanze%29") == "Kratom (Pflanze)"


def test_one_request_and_only_section_edits_are_changes(site, tmp_path) -> None:
    site.set("/w/api.php", api_answer(article(), revid=1000), content_type="application/json; charset=utf-8")
    sources = write_sources(tmp_path, _source(site, via="api"))
    db = tmp_path / "t.db"
    collect = ("collect", "--sources", str(sources), "--db", str(db), "--quiet")
    assert run_cli(*collect) == 0
    assert _outcome(db)[0] == "initial"
    [request] = [path for path, _ in site.requests if path.startswith("/w/api.php")]
    assert "action=parse" in request and "page=Mitragyna+speciosa" in request and "redirects=1" in request

    # Edits elsewhere (a new reference in the lead renumbers every footnote after it; another section
    # changes) and churn inside the section (a maintenance tag, a citation) are not changes.
    noisy = LEGAL.replace("{{citation needed|date=May 2026}}", "{{citation needed|date=June 2026}}").replace(
        "{{cite news|title=FDA}}", "{{cite news|title=FDA statement|date=2026}}")
    site.set("/w/api.php", api_answer(article(noisy, lead_ref="<ref>new source</ref>",
                                              other=OTHER + "It has many alkaloids.\n"), revid=1001),
             content_type="application/json; charset=utf-8")
    assert run_cli(*collect) == 0
    assert _outcome(db)[0] == "unchanged"
    assert _events(db) == []

    # A real edit of the section: one content event, with the revision in its data.
    edited = noisy.replace("Kratom is not federally scheduled.", "7-OH above a threshold is in Schedule I.")
    site.set("/w/api.php", api_answer(article(edited), revid=1002), content_type="application/json; charset=utf-8")
    assert run_cli(*collect) == 0
    [event] = _events(db)
    assert event["kind"] == "content"
    assert "+7-OH above a threshold is in Schedule I." in event["diff"]
    assert "-Kratom is not federally scheduled." in event["diff"]
    data = json.loads(event["data"])
    assert data["revid"] == 1002 and data["section"] == "Legal status"
    assert data["revision_url"].endswith("/w/index.php?oldid=1002")
    assert event["url"] == site.url("/wiki/Mitragyna_speciosa")


def test_raw_wikitext_is_the_default_channel(site, tmp_path) -> None:
    site.set("/wiki/Mitragyna_speciosa", article(), content_type="text/x-wiki; charset=UTF-8")
    sources = write_sources(tmp_path, _source(site))
    db = tmp_path / "t.db"
    assert run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet") == 0
    assert _outcome(db)[0] == "initial"
    assert [p for p, _ in site.requests if p.startswith("/wiki/")] == ["/wiki/Mitragyna_speciosa?action=raw"]


def test_a_section_that_disappears_is_selector_missing(site, tmp_path) -> None:
    site.set("/wiki/Mitragyna_speciosa", article(), content_type="text/x-wiki")
    sources = write_sources(tmp_path, _source(site))
    db = tmp_path / "t.db"
    collect = ("collect", "--sources", str(sources), "--db", str(db), "--quiet")
    assert run_cli(*collect) == 0
    site.set("/wiki/Mitragyna_speciosa", article(legal=LEGAL.replace("== Legal status ==", "== Regulation ==")),
             content_type="text/x-wiki")
    assert run_cli(*collect) == 1  # its only source failed
    outcome, error = _outcome(db)
    assert outcome == "selector-missing" and "Legal status" in error
    assert _events(db) == []


@pytest.mark.parametrize(("body", "content_type", "outcome", "reason"), [
    ("#REDIRECT [[Kratom]]\n{{R from move}}", "text/x-wiki", "selector-missing", "redirect to 'Kratom'"),
    ('{"error":{"code":"missingtitle","info":"The page you specified doesn\'t exist."}}', "application/json",
     "selector-missing", "does not exist"),
    ('{"error":{"code":"ratelimited","info":"slow down"}}', "application/json", "parse-error", "ratelimited"),
    ('{"parse": {"title": "X"}}', "application/json", "parse-error", "no wikitext"),
    ("{not json", "application/json", "parse-error", "not valid JSON"),
    ("== Legal status ==\n<ref>only a ref</ref>\n", "text/x-wiki", "empty", "no text"),
    ("", "text/x-wiki", "empty", "empty"),
    ("== Legal status ==\n" + "{{x|" * 100 + "kratom", "text/x-wiki", "parse-error", "nests '{{' more than 40"),
])
def test_answers_that_are_not_a_section_are_refused(tmp_path, body, content_type, outcome, reason) -> None:
    config = config_module.loads(
        "sources:\n  - id: w\n    type: wikipedia\n    url: https://en.wikipedia.org/wiki/Mitragyna_speciosa\n"
        "    section: Legal status\n    jurisdiction: international\n", tmp_path / "s.yaml")
    result = get("wikipedia").extract(config.sources[0], Response(
        url="x", status=200, body=body.encode(), headers={"content-type": content_type}))
    assert result.outcome == outcome and reason in result.error


def test_formatversion_1_answers_are_read_too(tmp_path) -> None:
    config = config_module.loads(_source_yaml(), tmp_path / "s.yaml")
    result = get("wikipedia").extract(config.sources[0], Response(
        url="x", status=200, body=api_answer(article(), 77, formatversion=1).encode(),
        headers={"content-type": "application/json"}))
    assert result.outcome is None and result.lines[0] == "Legal status" and result.event_data["revid"] == 77


def _source_yaml(extra: str = "") -> str:
    return ("sources:\n  - id: w\n    type: wikipedia\n    url: https://en.wikipedia.org/wiki/Mitragyna_speciosa\n"
            f"    section: Legal status\n    jurisdiction: international\n{extra}")


def test_config_is_checked(tmp_path) -> None:
    with pytest.raises(config_module.ConfigError, match="section"):
        config_module.loads("sources:\n  - id: w\n    type: wikipedia\n    url: https://en.wikipedia.org/wiki/K\n"
                            "    jurisdiction: international\n", tmp_path / "s.yaml")
    with pytest.raises(config_module.ConfigError, match="expected one of raw, api"):
        config_module.loads(_source_yaml("    via: html\n"), tmp_path / "s.yaml")
    source = config_module.loads(_source_yaml("    via: api\n"), tmp_path / "s.yaml").sources[0]
    assert get("wikipedia").request_url(source).startswith("https://en.wikipedia.org/w/api.php?action=parse&")


def test_sources_test_runs_it_on_a_saved_file(tmp_path, capsys) -> None:
    saved = tmp_path / "Mitragyna_speciosa.wiki"
    saved.write_text(article(), encoding="utf-8")
    sources = tmp_path / "s.yaml"
    sources.write_text(_source_yaml(), encoding="utf-8")
    assert run_cli("sources", "test", "w", "--file", str(saved), "--sources", str(sources),
                   "--db", str(tmp_path / "none.db")) == 0
    out = capsys.readouterr().out
    assert "Ohio | 7-OH scheduled" in out and "cite web" not in out
