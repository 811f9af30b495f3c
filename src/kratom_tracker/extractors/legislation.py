"""`legislation`: bills about kratom, mitragynine or 7-OH from a legislative search API, one Item per bill
with its stage and latest action, so detect writes a `notice` when a bill moves; and one assertion per bill
that is still alive (`pending` from the date of its stage) or signed with an effective date (the enacted
status from that date, so the status changes on the day the law takes effect).

APIs (`api`):
- `openstates`: Open States API v3, `GET https://v3.openstates.org/bills?q=...&include=actions`, the key in
  the `X-API-KEY` header. `jurisdiction` (a state name or ocd-jurisdiction id) narrows it; without it the
  search covers every jurisdiction Open States has (50 states, DC, Puerto Rico). At most 20 bills a page,
  newest update first; `updated_since` (a date) keeps old sessions out.
- `legiscan`: LegiScan's `getSearch` (`https://api.legiscan.com/?op=getSearch&state=ALL&query=...`): 50
  states, DC and Congress (`state=US`) in one search of current sessions (`year=2`), 50 bills a page.
  LegiScan takes the key only in the query (`key=`): the pipeline removes it from every error it records.

The stage (`STAGES`) comes from the action classifications Open States gives (`passage` by each chamber,
`executive-signature`, `became-law`, `executive-veto`, `failure`), else from the wording of the latest
action (LegiScan gives only that). An effective date is read from the action text: "effective July 1,
2026", "effective date: 07/01/2026", or "effective in 30 days" / "30 days after" counted from the action.

What a stage asserts (`bill_assertion` is the one place that builds the assertion):
- introduced, passed one chamber, passed both, sent to the governor, signed without a stated effective
  date → `pending` from the bill's first action (so a stage change is a notice and a new `detail`, not a
  status event: the status stays `pending`; LegiScan's search gives no first date: undated);
- signed (or became law) with an effective date → `pending` from the signature, and the enacted status
  (`banned` when the title speaks of a ban, prohibition or scheduling, else `regulated`) from the
  effective date: on that day the status changes with no new fetch;
- vetoed or failed → no assertion (the region's other sources speak for it again).
Substance: `7-OH` when the bill names only 7-hydroxymitragynine/7-OH, else `all`.
A bill that leaves the first page of results (older than the newest 20 or 50 updated) also leaves the
assertions: `updated_since` and a narrow `query` keep the list inside one page."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from kratom_tracker import checks, regions, timefmt
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors import Extractor, _keys, option
from kratom_tracker.values import Assertion, Extraction, Item, Response
from kratom_tracker.vocab import Instrument, Outcome, Stage

OPENSTATES_URL = "https://v3.openstates.org/bills"
LEGISCAN_URL = "https://api.legiscan.com/"
DEFAULT_QUERY = 'kratom OR mitragynine OR "7-hydroxymitragynine"'
DEFAULT_KEY_ENV = {"openstates": "OPENSTATES_API_KEY", "legiscan": "LEGISCAN_API_KEY"}
OPENSTATES_PER_PAGE = 20  # the API's maximum
MAX_SUMMARY = 600

# stage → (label, asserts pending?)
STAGES: dict[str, tuple[str, bool]] = {
    "introduced": ("introduced", True),
    "passed-one": ("passed one chamber", True),
    "passed-both": ("passed both chambers", True),
    "to-governor": ("sent to the governor", True),
    "signed": ("signed", True),
    "vetoed": ("vetoed", False),
    "failed": ("failed", False),
}

_SEVEN_OH = re.compile(r"(?i)7-?hydroxy-?mitragynine|\b7-?OH\b")
_LEAF = re.compile(r"(?i)kratom|(?<![a-z-])mitragynine\b|mitragyna")
_BAN = re.compile(r"(?i)\bban(s|ning|ned)?\b|prohibit|schedule\s+I\b|controlled substance|unlawful")
_TEXT_STAGES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((stage, re.compile(p)) for stage, p in (
    ("vetoed", r"(?i)\bveto(ed)?\b(?!.*overrid)"),
    ("signed", r"(?i)signed by (the )?governor|approved by (the )?governor|governor signed|became law|"
               r"\bchaptered\b|chapter no\.|\bact no\.|public law|became act|signed into law|effective without"),
    ("failed", r"(?i)\bdied\b|\bfailed\b|indefinitely postponed|\bwithdrawn\b|\btabled\b|sine die"),
    ("to-governor", r"(?i)(sent|presented|delivered|transmitted) to (the )?governor|to governor"),
    ("passed-both", r"(?i)\benrolled\b|passed both|concurred|ordered enrolled"),
    ("passed-one", r"(?i)\bpassed\b|\bengrossed\b|third reading.*adopted"),
))
_MONTHS = {m: n for n, m in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                        "september", "october", "november", "december"), start=1)}
_EFFECTIVE_IN = re.compile(r"(?i)effective\s+(?:in\s+)?(\d{1,3})\s+days|(\d{1,3})\s+days\s+after")
_EFFECTIVE_ISO = re.compile(r"(?i)effective(?:\s+date)?[:\s]+(?:on\s+)?(\d{4})-(\d{2})-(\d{2})")
_EFFECTIVE_US = re.compile(r"(?i)effective(?:\s+date)?[:\s]+(?:on\s+)?(\d{1,2})/(\d{1,2})/(\d{2,4})")
_EFFECTIVE_WORDS = re.compile(r"(?i)effective(?:\s+date)?[:\s]+(?:on\s+)?([a-z]+)\s+(\d{1,2}),?\s+(\d{4})")


def _day(value: Any) -> str:
    if not isinstance(value, (str, date)) or not value:
        raise ValueError("expected a date, YYYY-MM-DD")
    text = value.isoformat() if isinstance(value, date) else value
    if not timefmt.DAY.match(text):
        raise ValueError(f"expected a date, YYYY-MM-DD; got {text!r}")
    return text


@dataclass(frozen=True)
class Bill:
    key: str
    bill_id: str  # "SB 432 (2026)": what a reader calls it
    jurisdiction: str
    title: str
    url: str
    stage: str
    stage_date: str
    latest_action: str
    latest_action_date: str
    effective_date: str | None = None
    introduced: str | None = None  # the first action's date: a bill is pending from then, whatever its stage


class LegislationExtractor(Extractor):
    type_name = "legislation"
    needs_url = False
    help = ("bills on kratom/mitragynine/7-OH from Open States v3 or LegiScan (`api`); a notice per bill whose "
            "stage or latest action changes, pending assertions, enacted status from the effective date")

    @dataclass(frozen=True)
    class Options:
        api: str = option("openstates", check=checks.one_of("openstates", "legiscan"),
                          help="openstates (Open States API v3) or legiscan (LegiScan getSearch)")
        query: str = option(DEFAULT_QUERY, check=checks.text, help="full-text search of the bills")
        jurisdiction_filter: str | None = option(None, check=checks.text,
                                                 help="Open States: a jurisdiction name or id; LegiScan: a "
                                                      "state code, US (Congress) or ALL (default: all)")
        updated_since: str | None = option(None, check=_day, help="Open States: bills updated since (YYYY-MM-DD)")
        key_env: str | None = option(None, check=_keys.env_name,
                                     help="environment variable holding the API key (default OPENSTATES_API_KEY "
                                          "or LEGISCAN_API_KEY)")
        match: str | None = option(None, check=checks.regex,
                                   help="regex over the bill title; other bills are skipped (default: all the "
                                        "search finds)")

    # -- the request -------------------------------------------------------------------------------------

    def _key_env(self, source: SourceConfig) -> str:
        return source.options.key_env or DEFAULT_KEY_ENV[source.options.api]

    def request_url(self, source: SourceConfig) -> str:
        options = source.options
        if options.api == "openstates":
            params: list[tuple[str, str]] = [("q", options.query), ("sort", "updated_desc"), ("include", "actions"),
                                             ("per_page", str(OPENSTATES_PER_PAGE))]
            if options.jurisdiction_filter:
                params.append(("jurisdiction", options.jurisdiction_filter))
            if options.updated_since:
                params.append(("updated_since", options.updated_since))
            base = source.url or OPENSTATES_URL
        else:
            params = [("key", _keys.api_key(self._key_env(source))), ("op", "getSearch"),
                      ("state", options.jurisdiction_filter or "ALL"), ("query", options.query), ("year", "2")]
            base = source.url or LEGISCAN_URL
        return base + ("&" if "?" in base else "?") + urlencode(params)

    def request_headers(self, source: SourceConfig) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if source.options.api == "openstates":
            headers["X-API-KEY"] = _keys.api_key(self._key_env(source))
        return headers

    def secrets(self, source: SourceConfig) -> tuple[str, ...]:
        key = _keys.api_key(self._key_env(source))
        return (key,) if key else ()

    def local_document(self, source: SourceConfig) -> Response | None:
        name = self._key_env(source)
        return None if _keys.api_key(name) else _keys.missing_key(source.url or "", name)

    # -- the answer --------------------------------------------------------------------------------------

    def extract(self, source: SourceConfig, response: Response) -> Extraction:
        try:
            answer = json.loads(response.text)
        except ValueError:
            return Extraction(outcome=Outcome.PARSE_ERROR, error="the answer is not JSON")
        if not isinstance(answer, dict):
            return Extraction(outcome=Outcome.PARSE_ERROR, error="not a bill search answer")
        if source.options.api == "openstates":
            if not isinstance(answer.get("results"), list):
                return Extraction(outcome=Outcome.PARSE_ERROR, error="no `results` list: not an Open States answer")
            bills = [openstates_bill(b, source.jurisdiction) for b in answer["results"] if isinstance(b, dict)]
        else:
            if str(answer.get("status", "")).upper() != "OK" or not isinstance(answer.get("searchresult"), dict):
                reason = answer.get("alert", {}).get("message", "") if isinstance(answer.get("alert"), dict) else ""
                return Extraction(outcome=Outcome.PARSE_ERROR,
                                  error=f"LegiScan answered status {answer.get('status')!r} {reason}".strip()[:300])
            results = [v for k, v in answer["searchresult"].items() if k != "summary" and isinstance(v, dict)]
            bills = [legiscan_bill(b, source.jurisdiction) for b in results]
        bills = [b for b in bills if b is not None]
        if source.options.match:
            rx = re.compile(source.options.match)
            bills = [b for b in bills if rx.search(b.title)]
        items = [bill_item(b) for b in bills]
        assertions = [a for b in bills for a in bill_assertions(b)]
        return Extraction(items=items, assertions=assertions)


# -- Open States ------------------------------------------------------------------------------------------


def ocd_jurisdiction(ocd_id: str, fallback: str) -> str:
    """ocd-jurisdiction/country:us/state:fl/government → US-FL; country:us/government → US."""
    found = re.search(r"country:(\w+)(?:/(?:state|district|territory):(\w+))?", ocd_id or "")
    if not found:
        return fallback
    country, state = found.group(1).upper(), (found.group(2) or "").upper()
    code = f"{country}-{state}" if state else country
    return code if regions.is_valid_code(code) else fallback


def openstates_bill(bill: dict[str, Any], fallback: str) -> Bill | None:
    identifier = _text(bill.get("identifier"))
    if not identifier or not bill.get("id"):
        return None
    jurisdiction = bill.get("jurisdiction") if isinstance(bill.get("jurisdiction"), dict) else {}
    code = ocd_jurisdiction(str(jurisdiction.get("id") or ""), fallback)
    actions = sorted((a for a in bill.get("actions") or [] if isinstance(a, dict)),
                     key=lambda a: (_text(a.get("date"))[:10], a.get("order") or 0))
    stage, stage_date, effective = _openstates_stage(actions)
    latest = _text(bill.get("latest_action_description")) or (_text(actions[-1].get("description")) if actions else "")
    latest_date = _text(bill.get("latest_action_date"))[:10] or (_text(actions[-1].get("date"))[:10] if actions else "")
    if not actions:  # a search answer without `include=actions`: read the latest action's words
        stage, stage_date = text_stage(latest), latest_date
        effective = effective_date(latest, latest_date) if stage == "signed" else None
    session = _text(bill.get("session"))
    return Bill(key=_text(bill["id"]), bill_id=f"{identifier} ({session})" if session else identifier,
                jurisdiction=code, title=_text(bill.get("title")), url=_text(bill.get("openstates_url")),
                stage=stage, stage_date=stage_date or latest_date, latest_action=latest,
                latest_action_date=latest_date, effective_date=effective,
                introduced=_text(bill.get("first_action_date"))[:10]
                or (_text(actions[0].get("date"))[:10] if actions else None))


def _openstates_stage(actions: list[dict[str, Any]]) -> tuple[str, str, str | None]:
    stage, when, effective = "introduced", (_text(actions[0].get("date"))[:10] if actions else ""), None
    chambers: set[str] = set()
    for action in actions:
        kinds = set(action.get("classification") or [])
        day = _text(action.get("date"))[:10]
        organization = action.get("organization") if isinstance(action.get("organization"), dict) else {}
        chamber = _text(organization.get("classification")) or _text(organization.get("name")).lower()
        described = _text(action.get("description"))
        if not kinds:
            kinds = {text_stage(described)} - {"introduced"}
        if kinds & {"executive-signature", "became-law", "signed"}:
            stage, when = "signed", day
            effective = effective_date(described, day) or effective
        elif kinds & {"executive-veto", "vetoed"} and stage != "signed":
            stage, when = "vetoed", day
        elif kinds & {"veto-override-passage"}:
            stage, when = "signed", day
        elif kinds & {"failure", "withdrawal", "failed"} and stage not in ("signed",):
            stage, when = "failed", day
        elif kinds & {"executive-receipt", "to-governor"} and stage not in ("signed", "vetoed"):
            stage, when = "to-governor", day
        elif kinds & {"passage", "passed-one", "passed-both"} and stage in ("introduced", "passed-one"):
            chambers.add(chamber or "chamber")
            both = len(chambers) >= 2 or chamber == "legislature" or "passed-both" in kinds
            stage, when = ("passed-both" if both else "passed-one"), day
        if stage == "signed" and effective is None:
            effective = effective_date(described, when)  # "effective in 30 days" may follow the signature
    return stage, when, effective


# -- LegiScan ---------------------------------------------------------------------------------------------


def legiscan_bill(bill: dict[str, Any], fallback: str) -> Bill | None:
    number = _text(bill.get("bill_number"))
    if not number or not bill.get("bill_id"):
        return None
    state = _text(bill.get("state")).upper()
    code = "US" if state == "US" else (f"US-{state}" if regions.is_valid_code(f"US-{state}") else fallback)
    latest, latest_date = _text(bill.get("last_action")), _text(bill.get("last_action_date"))[:10]
    stage = text_stage(latest)
    year = re.search(r"/(\d{4})(?:/|$)", _text(bill.get("url")))
    bill_id = f"{state} {number} ({year.group(1)})" if year else f"{state} {number}"
    return Bill(key=f"legiscan:{bill['bill_id']}", bill_id=bill_id, jurisdiction=code, title=_text(bill.get("title")),
                url=_text(bill.get("url")), stage=stage, stage_date=latest_date, latest_action=latest,
                latest_action_date=latest_date,
                effective_date=effective_date(latest, latest_date) if stage == "signed" else None)


# -- shared -----------------------------------------------------------------------------------------------


def text_stage(description: str) -> str:
    """The stage an action's wording names (LegiScan's last_action, an unclassified action)."""
    return next((stage for stage, rx in _TEXT_STAGES if rx.search(description or "")), "introduced")


def effective_date(text: str, action_day: str) -> str | None:
    """The effective date an action states: a date, or a number of days after the action."""
    text = text or ""
    if found := _EFFECTIVE_ISO.search(text):
        return _iso(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    if found := _EFFECTIVE_US.search(text):
        year = int(found.group(3))
        return _iso(year + 2000 if year < 100 else year, int(found.group(1)), int(found.group(2)))
    if (found := _EFFECTIVE_WORDS.search(text)) and found.group(1).lower() in _MONTHS:
        return _iso(int(found.group(3)), _MONTHS[found.group(1).lower()], int(found.group(2)))
    if (found := _EFFECTIVE_IN.search(text)) and timefmt.DAY.match(action_day or ""):
        days = int(found.group(1) or found.group(2))
        return (date.fromisoformat(action_day) + timedelta(days=days)).isoformat()
    return None


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def bill_item(bill: Bill) -> Item:
    label = STAGES[bill.stage][0]
    summary = f"Stage: {label}"
    if bill.effective_date:
        summary += f", effective {bill.effective_date}"
    summary += f". Latest action ({bill.latest_action_date or 'undated'}): {bill.latest_action}"
    data = {"stage": bill.stage, "bill_id": bill.bill_id, "effective_date": bill.effective_date,
            "jurisdiction": bill.jurisdiction, "latest_action_date": bill.latest_action_date or None}
    return Item(key=bill.key, title=f"{bill.bill_id}: {bill.title}"[:300], url=bill.url,
                summary=summary[:MAX_SUMMARY], published=bill.latest_action_date, data=data)


def substance_of(title: str) -> str:
    cleaned = _SEVEN_OH.sub(" ", title)
    return "7-OH" if _SEVEN_OH.search(title) and not _LEAF.search(cleaned) else "all"


# The legislature's stages as the status model's: "sent to the governor" has passed both chambers.
_MODEL_STAGE = {"introduced": Stage.INTRODUCED, "passed-one": Stage.PASSED_ONE_CHAMBER,
                "passed-both": Stage.PASSED_BOTH, "to-governor": Stage.PASSED_BOTH, "signed": Stage.SIGNED}


def bill_assertion(bill: Bill, status: str, effective: str | None, stage_label: str) -> Assertion:
    """THE assertion of one bill at one stage: a pending one carries the status model's `stage` and the
    bill id; the law a signed bill makes is a session law from its effective date."""
    quote = f"{bill.title}. Latest action ({bill.latest_action_date}): {bill.latest_action}"
    pending = status == "pending"
    return Assertion(jurisdiction=bill.jurisdiction, substance=substance_of(bill.title), status=status,
                     effective_date=effective or None, evidence_url=bill.url, quote=quote[:MAX_SUMMARY],
                     detail=f"bill {bill.bill_id}: {stage_label}", evidence_kind="primary",
                     instrument=Instrument.BILL if pending else Instrument.SESSION_LAW, citation=bill.bill_id,
                     stage=_MODEL_STAGE.get(bill.stage, "") if pending else "", bill_id=bill.bill_id)


def bill_assertions(bill: Bill) -> list[Assertion]:
    label, alive = STAGES[bill.stage]
    if not alive:
        return []
    if bill.stage == "signed" and bill.effective_date:
        enacted = "banned" if _BAN.search(bill.title) else "regulated"
        return [bill_assertion(bill, "pending", bill.introduced, f"signed, effective {bill.effective_date}"),
                bill_assertion(bill, enacted, bill.effective_date, f"signed, in effect from {bill.effective_date}")]
    if bill.stage == "signed":
        label = "signed; effective date not stated"
    return [bill_assertion(bill, "pending", bill.introduced, label)]
