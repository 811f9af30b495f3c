"""The shipped sources.yaml: it validates, every entry is documented and points at an official or
primary publisher, and every source's extractor works on a representative document of its kind,
served from 127.0.0.1 and run through a real collect (fetch, extract, detect, store)."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from conftest import excerpt_text, fixture_bytes, html_page
from kratom_tracker import extractors, regions, shipped, values
from kratom_tracker.config import loader as config_module
from kratom_tracker.config.model import Config, FetchSettings, Politeness, SourceConfig
from kratom_tracker.engine.pipeline import run_pass
from kratom_tracker.store import Store
from kratom_tracker.vocab import Outcome

SHIPPED = shipped.SOURCES

# Hosts of government publishers, by suffix (a .gov.xx domain, a state's .us domain, ...).
OFFICIAL_SUFFIXES = (".gov", ".mil", ".us", ".gc.ca", ".canada.ca", ".go.th", ".gov.sg", ".gov.au", ".govt.nz",
                     ".gov.uk", ".europa.eu", ".who.int")
OFFICIAL_PATTERN = re.compile(r"\.gov\.[a-z]{2}$")
# Primary publishers on other domains, each with the reason it counts as primary.
PRIMARY_HOSTS = {
    "flrules.org": "the Florida Administrative Register, published by the Florida Department of State",
    "codepublishing.com": "publishes the cities' official municipal codes under contract",
    "rankincounty.org": "Rankin County's own website (the ordinance text as adopted)",
    "denvergov.org": "the City and County of Denver's own website",
}


@pytest.fixture(scope="module")
def raw_sources() -> list[dict]:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))["sources"]


def shipped_config() -> Config:
    return config_module.load(SHIPPED)


# -- validation and documentation -----------------------------------------------------------------


def test_shipped_file_passes_sources_check(capsys) -> None:
    from kratom_tracker.cli import main

    assert main(["sources", "check", "--sources", str(SHIPPED)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "federal-register" in out and "wikipedia" in out


def test_at_least_30_sources_across_levels(raw_sources) -> None:
    def level(source: dict) -> str:
        return regions.level(source["jurisdiction"])

    assert len(raw_sources) >= 30
    levels = [level(s) for s in raw_sources if s["type"] != "baseline"]
    assert levels.count("federal") >= 5
    assert len({s["jurisdiction"] for s in raw_sources if level(s) == "state"}) >= 10
    assert levels.count("local") >= 3
    countries = {s["jurisdiction"].split("-")[0] for s in raw_sources if level(s) == "international"}
    assert len(countries - {"international"}) >= 5


def test_every_source_has_jurisdiction_note_and_comment(raw_sources) -> None:
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    id_lines = {m.group(1): n for n, line in enumerate(lines) if (m := re.match(r"\s*- id:\s*(\S+)", line))}
    problems = []
    for source in raw_sources:
        sid = source["id"]
        if not str(source.get("jurisdiction") or "").strip():
            problems.append(f"{sid}: no jurisdiction")
        if len(str(source.get("note") or "").strip()) < 20:
            problems.append(f"{sid}: no `note` saying what it is and why it matters")
        above = id_lines[sid] - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        if above < 0 or not lines[above].lstrip().startswith("#"):
            problems.append(f"{sid}: no comment line above `- id:`")
    assert not problems, "\n".join(problems)


def _is_official(host: str) -> bool:
    host = host.lower().removeprefix("www.")
    return (host.endswith(OFFICIAL_SUFFIXES) or host in ("who.int", "canada.ca")
            or bool(OFFICIAL_PATTERN.search(host))
            or any(host == h or host.endswith("." + h) for h in PRIMARY_HOSTS))


def test_every_url_is_an_official_or_primary_publisher(raw_sources) -> None:
    problems = []
    for source in raw_sources:
        if source["type"] == "baseline":
            continue  # our own table; each of its rows cites a primary URL (checked by the baseline tests)
        url = source.get("url")
        if url is None and source["type"] in ("federal-register", "legislation"):
            continue  # the extractor asks its API itself (Federal Register, Open States, LegiScan)
        parts = urlsplit(str(url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"{source['id']}: {url!r} is not an http(s) URL")
        elif "secondary" not in source.get("tags", []) and not _is_official(parts.hostname):
            problems.append(f"{source['id']}: {parts.hostname} is not an official or primary publisher "
                            "(tag it `secondary` if no primary source exists)")
    assert not problems, "\n".join(problems)


def test_official_host_rule_is_not_a_rubber_stamp() -> None:
    assert _is_official("www.fda.gov") and _is_official("www.tga.gov.au") and _is_official("oncb.go.th")
    assert _is_official("billstatus.ls.state.ms.us") and _is_official("www.codepublishing.com")
    assert not _is_official("en.wikipedia.org") and not _is_official("kratomnewstoday.com")
    assert not _is_official("gov.example.com")


# -- representative documents ---------------------------------------------------------------------

# Recorded real excerpts for the pages they were recorded from (or pages of the same kind).
PAGE_EXCERPTS = {
    "solana-beach-ch-6-40": "solana_beach_ca_municipal_code_ch6.40_kratom_EXCERPT.txt",
    "newport-beach-ch-10-75": "solana_beach_ca_municipal_code_ch6.40_kratom_EXCERPT.txt",
    "rankin-county-kratom-ordinance": "rankin_county_ms_kratom_ordinance_EXCERPT.txt",
    "denver-deh-kratom": "denver_deh_2017-11_kratom_restriction_EXCERPT.txt",
    "fda-kratom": "fda_press_2025-12_7oh_seizure_missouri_EXCERPT.txt",
    "fda-7oh-hiding-in-plain-sight": "fda_press_2025-12_7oh_seizure_missouri_EXCERPT.txt",
    "fr-2016-notice": "fr_2016-20803_dea_notice_of_intent_mitragynine_7oh_EXCERPT.txt",
}
STATUTE_EXCERPT = "fr_2016-20803_dea_notice_of_intent_mitragynine_7oh_EXCERPT.txt"
CHROME = "Content current as of: 10/02/2026"

# Real Federal Register kratom documents (PROVENANCE.md), for answers in the recorded shape.
FR_DOCS = [
    ("2026-13580", "Proposed Rule", "2026-07-06", "Schedules of Controlled Substance: Temporary Placement of "
     "7-Hydroxymitragynine Above a Specified Threshold in Schedule I"),
    ("2026-13608", "Notice", "2026-07-06", "Temporary Placement of 7-Hydroxymitragynine Above a Specified "
     "Threshold in Schedule I; Request for Information"),
    ("2026-17429", "Rule", "2026-08-26", "Schedules of Controlled Substances: Temporary Placement of "
     "Mitragynine Pseudoindoxyl, MGM-15, and MGM-16 in Schedule I"),
    ("2016-20803", "Proposed Rule", "2016-08-31", "Schedules of Controlled Substances: Temporary Placement of "
     "Mitragynine and 7-Hydroxymitragynine Into Schedule I"),
]


def federal_register_answer() -> bytes:
    recorded = json.loads(fixture_bytes("federalregister_api_documents_newest20_2026-10-02.json"))
    shape = recorded["results"][0]
    results = []
    for number, kind, date, title in FR_DOCS:
        doc = copy.deepcopy(shape)
        year, month, day = date.split("-")
        doc.update(title=title, type=kind, document_number=number, publication_date=date, abstract=None,
                   html_url=f"https://www.federalregister.gov/documents/{year}/{month}/{day}/{number}/x",
                   pdf_url=f"https://www.govinfo.gov/content/pkg/FR-{date}/pdf/{number}.pdf",
                   public_inspection_pdf_url=f"https://public-inspection.federalregister.gov/{number}.pdf")
        results.append(doc)
    answer = {"description": "Documents matching 'kratom'", "count": len(results), "total_pages": 1,
              "results": results}
    return json.dumps(answer).encode()


def feed_document() -> bytes:
    """The recorded House clerk RSS (BOM, CRLF, one guid for every item) with one item made about kratom."""
    body = fixture_bytes("clerk_house_gov_floor_feed_rss_2026-10-03.xml")
    body = body.replace(b"<title>Legislative Day of 10/01/2026</title>",
                        b"<title>Kratom and 7-OH products: mitragynine recall notice</title>", 1)
    assert b"Kratom and 7-OH" in body
    return body


def wikitext_document() -> bytes:
    """Raw wikitext of the article: the recorded lead (CC BY-SA 4.0, Wikipedia contributors) plus a
    legal-status section written for this test."""
    lead = excerpt_text("wikipedia_kratom_current_lead_EXCERPT.txt").strip().split("\n\n", 3)[-1]
    lead = lead.replace("[... excerpt ends ...]", "").strip()
    return (f"{lead}\n\n== Legal status ==\n{{{{Main|Legal status of kratom}}}}\n"
            "Kratom is controlled in several countries.<ref>{{cite web|title=x}}</ref>\n"
            "=== United States ===\nSeveral states ban [[mitragynine]].\n\n== See also ==\n* [[Opioid]]\n").encode()


def _wrap_for_selector(selector: str, text: str, source: SourceConfig) -> tuple[bytes, str]:
    """An HTML page (or, for an XML `history` document, XML) whose `selector` element holds `text`."""
    paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines() if line.strip())
    content = f"<h1>{source.name}</h1>{paragraphs}<p>{CHROME}</p>"
    if selector == "history":  # Mississippi bill-status documents are XML
        actions = "".join(f"<ACTION>{line}</ACTION>" for line in text.splitlines()[:5] if line.strip())
        return (f"<?xml version='1.0'?><BILL><HISTORY>{actions}</HISTORY></BILL>".encode(), "text/xml")
    if selector in ("main", "body"):
        return html_page(content, title=source.name, footer="Privacy Statement"), "text/html; charset=utf-8"
    first = selector.split(",")[0].strip()  # a selector list: the first alternative is enough
    steps = first.split()
    if steps and all(_SIMPLE_STEP.fullmatch(step) for step in steps):
        for step in reversed(steps):  # `main #content div.body`: nest one element per step, innermost last
            content = _element(step, content)
        return html_page(content, title=source.name, footer="Privacy Statement"), "text/html; charset=utf-8"
    raise AssertionError(f"{source.id}: no representative page for selector {selector!r}; add a case here")


_SIMPLE_STEP = re.compile(r"(?P<tag>[a-z][a-z0-9]*)?(?P<id>#[\w-]+)?(?P<classes>(?:\.[\w-]+)*)")


def _element(step: str, inner: str) -> str:
    """One element matching a simple selector step (`div`, `#main-content`, `div.region-content`)."""
    m = _SIMPLE_STEP.fullmatch(step)
    assert m is not None and step, step
    tag = m.group("tag") or "div"
    attrs = f' id="{m.group("id")[1:]}"' if m.group("id") else ""
    if m.group("classes"):
        attrs += f' class="{" ".join(c for c in m.group("classes").split(".") if c)}"'
    return f"<{tag}{attrs}>{inner}</{tag}>"


def representative(source: SourceConfig) -> tuple[bytes, str]:
    if source.type == "page":
        name = PAGE_EXCERPTS.get(source.id, STATUTE_EXCERPT)
        return _wrap_for_selector(source.option("select", "body"), excerpt_text(name), source)
    if source.type == "feed":
        return feed_document(), "application/rss+xml"
    if source.type == "federal-register":
        return federal_register_answer(), "application/json; charset=utf-8"
    if source.type == "wikipedia":
        return wikitext_document(), "text/x-wiki; charset=UTF-8"
    if source.type == "legislation":
        return legislation_answer(source.option("api")), "application/json"
    if source.type == "json" and source.option("items") == "$.billActions[*]":  # Wyoming LSO bill information
        return json.dumps({"bill": "SF0056", "year": 2026, "catchTitle": "Kratom regulation.", "billActions": [
            {"billInformationID": 1, "statusDate": "2026-02-09T09:01:02.117", "statusMessage": "Bill Number Assigned",
             "location": "Senate", "voteId": None},
            {"billInformationID": 1, "statusDate": "2026-02-10T10:15:23.457",
             "statusMessage": "Introduced and Referred to S10", "location": "Senate", "voteId": None}]}).encode(), \
            "application/json"
    if source.type == "json":  # regulations.gov's JSON:API shape
        return json.dumps({"data": [{"id": "DEA-2026-0001-0001", "type": "documents",
                                     "links": {"self": "https://api.regulations.gov/v4/documents/DEA-2026-0001-0001"},
                                     "attributes": {"title": "Schedules of Controlled Substances: Temporary "
                                                    "Placement of 7-Hydroxymitragynine in Schedule I",
                                                    "documentType": "Proposed Rule", "docketId": "DEA-2026-0001",
                                                    "postedDate": "2026-07-06T04:00:00Z"}}]}).encode(), \
            "application/json"
    if source.type == "xml" and source.option("namespaces"):  # Washington's legislative web services
        return (b"<?xml version='1.0' encoding='utf-8'?><ArrayOfLegislativeStatus "
                b"xmlns='http://WSLWebServices.leg.wa.gov/'><LegislativeStatus><BillId>HB 2291</BillId>"
                b"<HistoryLine>First reading, referred to Consumer Protection &amp; Business.</HistoryLine>"
                b"<ActionDate>2026-01-12T00:00:00</ActionDate></LegislativeStatus></ArrayOfLegislativeStatus>"), \
            "text/xml"
    if source.type == "xml":  # a Mississippi bill history: ACTION elements inside <HISTORY>
        return (b"<?xml version='1.0'?><BILLHISTORY><HISTORY>"
                b"<ACTION><ACT_NUMBER>001</ACT_NUMBER><ACT_DESC>01/20 (H) Referred To Drug Policy</ACT_DESC></ACTION>"
                b"<ACTION><ACT_NUMBER>002</ACT_NUMBER><ACT_DESC>03/20 (S) Passed</ACT_DESC></ACTION>"
                b"</HISTORY></BILLHISTORY>"), "text/xml"
    raise AssertionError(f"no representative document for type {source.type!r}; add one to this test")


def legislation_answer(api: str) -> bytes:
    if api == "legiscan":
        return json.dumps({"status": "OK", "searchresult": {"summary": {"count": 1}, "0": {
            "state": "OH", "bill_number": "HB86", "bill_id": 1, "url": "https://legiscan.com/OH/bill/HB86/2026",
            "last_action": "Referred to committee", "last_action_date": "2026-02-02",
            "title": "Regulate kratom products"}}}).encode()
    return json.dumps({"results": [{"id": "ocd-bill/1", "identifier": "SB 432", "session": "2026",
                                    "jurisdiction": {"id": "ocd-jurisdiction/country:us/state:fl/government"},
                                    "title": "Kratom Products", "openstates_url": "https://openstates.org/fl/",
                                    "actions": [{"description": "Filed", "date": "2026-01-05",
                                                 "classification": ["filing"], "organization": {}}]}]}).encode()


def localize(source: SourceConfig, site) -> SourceConfig:
    """The same source pointed at the local server; refuses to go on if its request would leave it."""
    extractor = extractors.get(source.type)
    if extractor.local_document(source) is not None:
        return source
    original = urlsplit(source.url or extractor.request_url(source))
    local_url = site.url(f"/{original.hostname}{original.path}") + (f"?{original.query}" if original.query else "")
    local = dataclasses.replace(source, url=local_url)
    request = extractor.request_url(local)
    assert request.startswith(site.base + "/"), f"{source.id}: request {request} would leave 127.0.0.1"
    return local


def test_every_shipped_source_extracts_its_kind_of_document(site, tmp_path: Path, monkeypatch) -> None:
    config = shipped_config()
    for source in config.sources:  # API keys come from the environment; these are test values
        if source.option("key_env"):
            monkeypatch.setenv(source.option("key_env"), "test-key-" + source.id)
    local_sources = []
    for source in config.sources:
        local = localize(source, site)
        if local.url and extractors.get(local.type).local_document(local) is None:
            body, content_type = representative(local)
            site.set(urlsplit(extractors.get(local.type).request_url(local)).path, body, content_type=content_type)
        local_sources.append(local)
    config = dataclasses.replace(config, sources=tuple(local_sources),
                                 politeness=Politeness(per_host_concurrency=4, per_host_delay=0.0),
                                 fetch=FetchSettings(workers=8, retries=0))
    with Store(tmp_path / "t.db") as store:
        summary = run_pass(config, store, list(config.sources))
        outcomes = {r.source_id: f"{r.outcome} {r.error}".strip() for r in summary.results}
        assert len(outcomes) == len(config.sources)
        failures = {sid: o for sid, o in outcomes.items() if not o.startswith(Outcome.INITIAL)}
        assert not failures, failures
        states = store.source_states()
        for source in config.sources:
            snapshot = values.Extraction.from_canonical(store.snapshot_content(states[source.id].snapshot_id))
            if source.type == "page":
                assert snapshot.lines, source.id
                if source.id.startswith("fda-") and source.option("ignore"):
                    assert CHROME not in snapshot.lines, f"{source.id}: the 'Content current as of' line counts"
            elif source.type in ("json", "xml"):
                assert snapshot.items and all(i.title != "(untitled)" for i in snapshot.items), source.id
            elif source.type in ("feed", "federal-register"):
                matching = source.option("match")
                assert snapshot.items, f"{source.id}: nothing kept from a document with kratom items"
                if matching:
                    assert all(re.search(matching, i.title + " " + i.summary) for i in snapshot.items)
            elif source.type == "wikipedia":
                assert snapshot.lines[0] == "Legal status"
                assert "Several states ban mitragynine." in snapshot.lines
            elif source.type == "baseline":
                assert snapshot.assertions, source.id
    # Requests carried the shipped user agent; nothing but the local server was asked.
    assert all(h.get("user-agent") == config.user_agent for _, h in site.requests)
