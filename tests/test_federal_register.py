"""The `federal-register` source type on the recorded API answers and on kratom answers built in
their shape from the real document metadata listed in ../shared/fixtures/real/PROVENANCE.md."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import collect, fixture_bytes, run_cli, stored_events, write_sources
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors import get
from kratom_tracker.extractors.federal_register import (
    FederalRegisterExtractor,
    scheduling_assertions,
    substances_named,
)
from kratom_tracker.values import Response
from kratom_tracker.vocab import Status

API = "/api/v1/documents.json"
JSON = "application/json; charset=utf-8"
DEA = [{"raw_name": "DEPARTMENT OF JUSTICE", "name": "Justice Department", "id": 268, "parent_id": None,
        "slug": "justice-department"},
       {"raw_name": "Drug Enforcement Administration", "name": "Drug Enforcement Administration", "id": 123,
        "parent_id": 268, "slug": "drug-enforcement-administration"}]

# Real metadata (PROVENANCE.md table). Titles as cited there.
NOI_2016 = ("2016-20803", "Proposed Rule", "2016-08-31", "DEA-442", "Schedules of Controlled Substances: "
            "Temporary Placement of Mitragynine and 7-Hydroxymitragynine Into Schedule I", None)
WITHDRAWAL_2016 = ("2016-24659", "Proposed Rule", "2016-10-13", "DEA-442W", "Withdrawal of Notice of Intent to "
                   "Temporarily Place Mitragynine and 7-Hydroxymitragynine Into Schedule I", None)
NOI_7OH_2026 = ("2026-13580", "Proposed Rule", "2026-07-06", "DEA-1570", "Schedules of Controlled Substance: "
                "Temporary Placement of 7-Hydroxymitragynine Above a Specified Threshold in Schedule I", None)
RFI_7OH_2026 = ("2026-13608", "Notice", "2026-07-06", "HHS-OASH-2026-0232", "Temporary Placement of "
                "7-Hydroxymitragynine Above a Specified Threshold in Schedule I; Request for Information", None)
NOI_MGM_2026 = ("2026-13581", "Proposed Rule", "2026-07-06", "DEA-1644", "Schedules of Controlled Substances: "
                "Temporary Placement of Mitragynine Pseudoindoxyl, MGM-15, and MGM-16 in Schedule I", None)
ORDER_MGM_2026 = ("2026-17429", "Rule", "2026-08-26", "DEA-1644", "Schedules of Controlled Substances: "
                  "Temporary Placement of Mitragynine Pseudoindoxyl, MGM-15, and MGM-16 in Schedule I", "2026-08-26")
# Hypothetical: no 7-OH order existed when the fixtures were recorded. A test-only order for docket
# DEA-1570, in the shape an order would have, so "proposal then order" can be exercised.
HYPOTHETICAL_ORDER_7OH = ("2099-00001", "Rule", "2026-12-01", "DEA-1570", "Schedules of Controlled Substances: "
                          "Temporary Placement of 7-Hydroxymitragynine Above a Specified Threshold in Schedule I",
                          "2026-12-01")


def _doc(meta) -> dict:
    number, doc_type, published, docket, title, effective_on = meta
    year, month, day = published.split("-")
    return {
        "title": title, "type": doc_type, "abstract": None, "document_number": number,
        "html_url": f"https://www.federalregister.gov/documents/{year}/{month}/{day}/{number}/x",
        "pdf_url": f"https://www.govinfo.gov/content/pkg/FR-{published}/pdf/{number}.pdf",
        "public_inspection_pdf_url": f"https://public-inspection.federalregister.gov/{number}.pdf?1790867710",
        "publication_date": published, "effective_on": effective_on, "docket_ids": [f"Docket No. {docket}"],
        "agencies": DEA, "excerpts": None,
    }


def _answer(*metas, next_page: str = "") -> bytes:
    results = [_doc(m) for m in sorted(metas, key=lambda m: m[2], reverse=True)]
    answer = {"description": "Documents matching 'kratom OR mitragynine'", "count": len(results), "total_pages": 1,
              "results": results}
    if next_page:
        answer["next_page_url"] = next_page
    return json.dumps(answer).encode()


def _source(**options) -> SourceConfig:
    return SourceConfig(id="fr", type="federal-register", name="FR", jurisdiction="US",
                        options=FederalRegisterExtractor.Options(**{"term": "kratom", **options}))


def _extract(body: bytes, **options):
    return get("federal-register").extract(_source(**options), Response(url="x", status=200, body=body,
                                                                         headers={"content-type": JSON}))


def _yaml(site, extra: str = "") -> str:
    return f"""sources:
  - id: fr
    type: federal-register
    url: {site.url(API)}
    term: "kratom OR mitragynine"
    jurisdiction: US
{extra}"""


# -- recorded answers ---------------------------------------------------------------------------------------


def test_recorded_newest_answer_gives_one_item_per_document_and_no_assertions():
    extraction = _extract(fixture_bytes("federalregister_api_documents_newest20_2026-10-02.json"))
    assert extraction.outcome is None
    assert len(extraction.items) == 20 and len({i.key for i in extraction.items}) == 20
    assert extraction.assertions == []
    turkiye = [i for i in extraction.items if "Türkiye" in i.title]
    assert turkiye, "the non-ASCII title survives"
    assert all("[uuml]" not in i.summary for i in extraction.items)  # FR entity decoded
    types = {i.data["type"] for i in extraction.items}
    assert {"Rule", "Proposed Rule", "Notice"} <= types
    assert all(i.data["jurisdiction"] == "US" and i.url.startswith("https://www.federalregister.gov/")
               for i in extraction.items)


def test_recorded_answers_with_a_title_match_keep_nothing_unrelated():
    for name in ("federalregister_api_documents_newest20_2026-10-02.json",
                 "federalregister_api_documents_executive_orders_2026-10-02.json"):
        extraction = _extract(fixture_bytes(name), match="(?i)kratom|mitragyn")
        assert extraction.outcome is None and extraction.items == []


def test_volatile_parts_of_the_answer_never_change_the_snapshot():
    raw = json.loads(fixture_bytes("federalregister_api_documents_newest20_2026-10-02.json"))
    first = _extract(json.dumps(raw).encode()).canonical()
    raw["count"], raw["next_page_url"] = 9999, raw["next_page_url"] + "&_=123"
    for doc in raw["results"]:
        doc["public_inspection_pdf_url"] = (doc["public_inspection_pdf_url"] or "").split("?")[0] + "?42"
        doc["excerpts"] = "…highlight…"
    assert _extract(json.dumps(raw).encode()).canonical() == first


def test_an_empty_answer_has_no_results_key_and_is_valid():
    extraction = _extract(b'{"description":"Documents matching \'qqzzxxnonexistentterm\'","count":0}')
    assert extraction.outcome is None and extraction.items == [] and extraction.assertions == []
    public_inspection = _extract(b'{"count":0,"results":[]}')
    assert public_inspection.outcome is None and public_inspection.items == []


@pytest.mark.parametrize("body", [b"<html>blocked</html>", b"[]", b'{"errors": ["bad"]}', b'{"results": "x"}'])
def test_answers_that_are_not_searches_are_parse_errors(body):
    assert _extract(body).outcome == "parse-error"


# -- reading scheduling documents -------------------------------------------------------------------------


def test_substances_named_reads_titles_precisely():
    assert substances_named(NOI_2016[4]) == ("leaf", "7-OH")
    assert substances_named(NOI_7OH_2026[4]) == ("7-OH",)
    assert substances_named(ORDER_MGM_2026[4]) == ()  # pseudoindoxyl, MGM-15/16: neither leaf nor 7-OH


def _items(*metas):
    return _extract(_answer(*metas)).items


def test_the_2026_mgm_order_is_not_a_leaf_or_7oh_ban():
    assert scheduling_assertions(_items(NOI_MGM_2026, ORDER_MGM_2026, RFI_7OH_2026)) == []


def test_the_2016_withdrawal_retracts_the_2016_notice():
    pending = scheduling_assertions(_items(NOI_2016))
    assert {(a.substance, a.status, a.effective_date) for a in pending} == {("leaf", "pending", "2016-08-31"),
                                                                            ("7-OH", "pending", "2016-08-31")}
    # The proposal no longer speaks; the withdrawal is on file as evidence that changes no status
    # (`unknown`: FR itself said nothing of these substances before the proposal).
    withdrawn = scheduling_assertions(_items(NOI_2016, WITHDRAWAL_2016))
    assert {(a.substance, a.status, a.effective_date, a.evidence_url) for a in withdrawn} == {
        ("leaf", "unknown", "2016-10-13", _doc(WITHDRAWAL_2016)["html_url"]),
        ("7-OH", "unknown", "2016-10-13", _doc(WITHDRAWAL_2016)["html_url"])}
    assert all("withdrawn" in a.detail and "2016-24659" in a.detail for a in withdrawn)


def test_a_withdrawal_leaves_what_other_dockets_say_alone():
    (seven_oh,) = [a for a in scheduling_assertions(_items(NOI_2016, WITHDRAWAL_2016, NOI_7OH_2026))
                   if a.substance == "7-OH"]
    assert (seven_oh.status, seven_oh.effective_date) == ("pending", "2026-07-06")  # DEA-1570 still speaks


def test_a_notice_of_intent_then_an_order_reads_pending_then_banned():
    (proposal,) = scheduling_assertions(_items(NOI_7OH_2026, RFI_7OH_2026))
    assert (proposal.jurisdiction, proposal.substance, proposal.status) == ("US", "7-OH", "pending")
    assert "threshold" in proposal.detail and proposal.evidence_kind == "primary"
    (order,) = scheduling_assertions(_items(NOI_7OH_2026, RFI_7OH_2026, HYPOTHETICAL_ORDER_7OH))
    assert (order.substance, order.status, order.effective_date) == ("7-OH", "banned", "2026-12-01")


# -- through collect -----------------------------------------------------------------------------------------


def test_collect_builds_the_search_url_and_writes_one_notice_per_new_document(site, tmp_path):
    sources = write_sources(tmp_path, _yaml(site))
    db = tmp_path / "t.db"
    site.set(API, _answer(NOI_2016), content_type=JSON)
    assert collect(sources, db) == 0
    assert stored_events(db) == []  # the first answer is the starting point
    query = parse_qs(urlsplit(next(p for p, _ in site.requests if p.startswith(API))).query)
    assert query["conditions[term]"] == ["kratom OR mitragynine"]
    assert query["order"] == ["newest"] and query["per_page"] == ["100"]
    assert "effective_on" in query["fields[]"] and "docket_ids" in query["fields[]"]
    site.set(API, _answer(NOI_2016, WITHDRAWAL_2016, next_page="https://x/?page=2&_=1"), content_type=JSON)
    assert collect(sources, db) == 0
    events = stored_events(db)
    notices = [e for e in events if e["kind"] == "notice"]
    assert [(e["data"]["change"], e["data"]["item_key"]) for e in notices] == [("new", "2016-24659")]
    assert notices[0]["jurisdiction"] == "US" and notices[0]["data"]["docket_ids"] == ["DEA-442W"]
    statuses = sorted((e["jurisdiction"], e["data"]["substance"], e["data"]["old_status"], e["data"]["new_status"])
                      for e in events if e["kind"] == "status")
    assert statuses == [("US", "7-OH", "pending", "unknown"), ("US", "leaf", "pending", "unknown")]
    site.set(API, _answer(NOI_2016, WITHDRAWAL_2016, next_page="https://x/?page=2&_=2"), content_type=JSON)
    assert collect(sources, db) == 0
    assert len(stored_events(db)) == len(events)  # only next_page_url changed: nothing new


def test_collect_proposal_then_order_gives_pending_then_banned_in_status(site, tmp_path, capsys):
    sources = write_sources(tmp_path, _yaml(site, "    match: '(?i)kratom|mitragyn'\n"))
    db = tmp_path / "t.db"
    site.set(API, _answer(NOI_MGM_2026, RFI_7OH_2026), content_type=JSON)
    assert collect(sources, db) == 0
    site.set(API, _answer(NOI_MGM_2026, RFI_7OH_2026, NOI_7OH_2026, ORDER_MGM_2026), content_type=JSON)
    assert collect(sources, db) == 0
    capsys.readouterr()
    assert run_cli("status", "US", "--json", "--as-of", "2026-11-01", "--db", str(db)) == 0
    seven_oh = json.loads(capsys.readouterr().out)["applicable"]["7-OH"]
    # Status model v2: a proposal is listed beside the law in force, never instead of it; the Federal
    # Register alone knows no law in force for 7-OH, so that is unknown, with the notice pending.
    assert seven_oh["status"] == "unknown"
    assert [(p["jurisdiction"], p["evidence"]["status"]) for p in seven_oh["pending"]] == [("US", "pending")]
    site.set(API, _answer(NOI_MGM_2026, RFI_7OH_2026, NOI_7OH_2026, ORDER_MGM_2026, HYPOTHETICAL_ORDER_7OH),
             content_type=JSON)
    assert collect(sources, db) == 0
    capsys.readouterr()
    status_events = [e for e in stored_events(db) if e["kind"] == "status"]
    assert [(e["data"]["old_status"], e["data"]["new_status"]) for e in status_events] == \
        [("none", "pending"), ("pending", "banned")]
    assert all(e["data"]["substance"] == "7-OH" for e in status_events)
    assert run_cli("status", "US", "--json", "--as-of", "2026-12-01", "--db", str(db)) == 0
    answer = json.loads(capsys.readouterr().out)["applicable"]
    assert answer["7-OH"]["status"] == "banned" and answer["7-OH"]["effective_date"] == "2026-12-01"
    assert answer["leaf"]["status"] == "unknown"  # the MGM-15/16 order bans neither leaf nor 7-OH


BASELINE_LEGAL = ("jurisdiction,substance,status,detail,effective_date,summary,source_url,source_type,last_verified\n"
                  "US,all,legal,unscheduled,,Neither alkaloid is in the CSA schedules.,"
                  "https://www.deadiversion.usdoj.gov/schedules/orangebook/c_cs_alpha.pdf,primary,2016-08-01\n")
EMPTY_ANSWER = b'{"description":"Documents matching \'kratom OR mitragynine\'","count":0}'


def _status_of_us(db, capsys, as_of: str, pending: bool = False) -> dict:
    """leaf and 7-OH (the substances these documents are about): the status, or with `pending` the
    number of pending measures listed beside it."""
    capsys.readouterr()
    assert run_cli("status", "US", "--json", "--as-of", as_of, "--db", str(db)) == 0
    answers = json.loads(capsys.readouterr().out)["applicable"]
    return {substance: len(answers[substance]["pending"]) if pending else answers[substance]["status"]
            for substance in ("leaf", "7-OH")}


def test_a_withdrawn_proposal_returns_the_region_to_its_status_before_and_links_the_withdrawal(site, tmp_path,
                                                                                               capsys):
    (tmp_path / "baseline.csv").write_text(BASELINE_LEGAL, encoding="utf-8")
    sources = write_sources(tmp_path, _yaml(site) + "  - {id: base, type: baseline, path: baseline.csv, "
                                                    "jurisdiction: US}\n")
    db = tmp_path / "t.db"
    site.set(API, EMPTY_ANSWER, content_type=JSON)
    assert collect(sources, db) == 0
    before = _status_of_us(db, capsys, "2016-08-30")
    assert before == {"leaf": "legal", "7-OH": "legal"}
    site.set(API, _answer(NOI_2016), content_type=JSON)
    assert collect(sources, db) == 0
    # v2: legal in force while the notice of intent is pending (listed beside it), not "pending"
    assert _status_of_us(db, capsys, "2016-09-15") == {"leaf": "legal", "7-OH": "legal"}
    assert _status_of_us(db, capsys, "2016-09-15", pending=True) == {"leaf": 1, "7-OH": 1}
    site.set(API, _answer(NOI_2016, WITHDRAWAL_2016), content_type=JSON)
    assert collect(sources, db) == 0
    for as_of in ("2016-10-13", "2026-11-01"):
        assert _status_of_us(db, capsys, as_of) == before, as_of
        assert _status_of_us(db, capsys, as_of, pending=True) == {"leaf": 0, "7-OH": 0}, as_of

    withdrawal = [e for e in stored_events(db) if e["kind"] == "status" and e["data"]["old_status"] == "pending"]
    assert sorted(e["data"]["substance"] for e in withdrawal) == ["7-OH", "leaf"]
    for event in withdrawal:
        assert event["data"]["new_status"] in tuple(Status), event["title"]
        assert "withdrawn" not in event["title"], event["title"]
        assert event["url"] == _doc(WITHDRAWAL_2016)["html_url"]  # the withdrawal, not the withdrawn notice
        assert event["summary"].startswith("Withdrawal of Notice of Intent")
        assert event["data"]["effective_date"] == "2016-10-13"


def test_public_inspection_endpoint_url(site, tmp_path):
    path = "/api/v1/public-inspection-documents.json"
    sources = write_sources(tmp_path, _yaml(site).replace(API, path))
    site.set(path, b'{"count":0,"results":[]}', content_type=JSON)
    assert collect(sources, tmp_path / "t.db") == 0
    query = parse_qs(urlsplit(next(p for p, _ in site.requests if p.startswith(path))).query)
    assert query["conditions[term]"] == ["kratom OR mitragynine"] and "fields[]" not in query


def test_a_source_without_term_is_refused(tmp_path, capsys):
    sources = write_sources(tmp_path, "sources:\n  - id: fr\n    type: federal-register\n    jurisdiction: US\n")
    assert run_cli("sources", "check", "--sources", str(sources)) == 2
    assert "term" in capsys.readouterr().err


def test_public_inspection_documents_leave_without_a_withdrawal(site, tmp_path):
    path = "/api/v1/public-inspection-documents.json"
    sources = write_sources(tmp_path, _yaml(site).replace(API, path))
    db = tmp_path / "t.db"
    site.set(path, b'{"count":0,"results":[]}', content_type=JSON)
    assert collect(sources, db) == 0
    filed = ("2026-20943", "Proposed Rule", "2026-10-14", "DEA-1570", NOI_7OH_2026[4], None)
    site.set(path, json.dumps({"count": 1, "results": [_doc(filed)]}).encode(), content_type=JSON)
    assert collect(sources, db) == 0
    site.set(path, b'{"count":0,"results":[]}', content_type=JSON)  # published: it left the list
    assert collect(sources, db) == 0
    events = stored_events(db)
    assert [(e["kind"], e["data"]["change"], e["data"]["item_key"]) for e in events] == \
        [("notice", "new", "2026-20943")]  # no withdrawal, and no status from an unpublished filing
