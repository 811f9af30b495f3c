"""Embeds that stay current: `embed/<CODE>.html` (an iframe-able card: no script runs, a strict CSP, light
and dark through prefers-color-scheme) and `embed/<CODE>.json`, served by `serve` at /embed/... and written
by `publish --embeds DIR` for static hosting. Both come from `rules.status_document` (the `status --json`
contract); keys beyond the contract (conditions of the status model v2) are read with `.get`.

The card carries, per substance, the status with its conditions, where it comes from, "verified on", the
primary citation, and schema.org `Legislation` JSON-LD (a data block: browsers never run it)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
from typing import Any

from kratom_tracker import regions
from kratom_tracker.regions import Region
from kratom_tracker.values import Threshold

CONDITION_KEYS = ("threshold", "min_age", "instrument", "stage", "expiry_date", "evidence_quality")
EMBED_WIDTH, EMBED_HEIGHT = 400, 340  # the snippet's iframe: the two substance rows fit without scrolling
_LEGAL_FORCE = {"legal": "InForce", "regulated": "InForce", "banned": "InForce", "pending": "NotInForce"}

EMBED_CSS = """
:root { color-scheme: light dark; --fg: #1d2327; --muted: #5f6b73; --bg: #ffffff; --line: #dde3e7; --a: #1f5e99;
  --banned-bg: #f6d3d3; --banned: #8a1414; --regulated-bg: #fbe9c6; --regulated: #7a4b00; --pending-bg: #dfe8fb;
  --pending: #1d3f8a; --legal-bg: #d6f0de; --legal: #165c2c; --unknown-bg: #e3e7ea; --unknown: #3d4850; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9eb; --muted: #a3adb4; --bg: #15191c; --line: #2c3439;
  --a: #8cc4ff; --banned-bg: #5a1f1f; --banned: #ffd0d0; --regulated-bg: #56400f; --regulated: #ffe3a8;
  --pending-bg: #1f2f57; --pending: #cfdcff; --legal-bg: #173d25; --legal: #c8f0d4; --unknown-bg: #2c3439;
  --unknown: #d5dadd; } }
* { box-sizing: border-box; }
body { margin: 0; padding: .6rem .75rem; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1rem; margin: 0 0 .4rem; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: .25rem .3rem; border-bottom: 1px solid var(--line); }
.b { display: inline-block; padding: 0 .4rem; border-radius: 3px; font-weight: 600; font-size: .85rem; }
.st-banned { background: var(--banned-bg); color: var(--banned); }
.st-regulated { background: var(--regulated-bg); color: var(--regulated); }
.st-pending { background: var(--pending-bg); color: var(--pending); }
.st-legal { background: var(--legal-bg); color: var(--legal); }
.st-unknown { background: var(--unknown-bg); color: var(--unknown); }
.c { color: var(--muted); font-size: .82rem; }
a { color: var(--a); }
footer { margin-top: .4rem; color: var(--muted); font-size: .78rem; }
""".strip()


def _style_hash(css: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii") + "'"


# Only the card's own inline style may apply; nothing runs, loads or submits; any site may frame it.
EMBED_CSP = (f"default-src 'none'; style-src {_style_hash(EMBED_CSS)}; img-src 'none'; script-src 'none'; "
             "form-action 'none'; base-uri 'none'; frame-ancestors *")


def embed_stem(code: str) -> str:
    """`US-FL/sarasota-county` → `embed/US-FL_sarasota-county` (as the region feeds name files)."""
    return "embed/" + code.replace("/", "_")


def embed_snippet(base_url: str, region: Region) -> str:
    """The iframe to paste into a page."""
    src = f"{base_url.rstrip('/')}/{embed_stem(region.code)}.html"
    return (f'<iframe src="{html.escape(src)}" title="{html.escape("Kratom legal status in " + region.name)}" '
            f'width="{EMBED_WIDTH}" height="{EMBED_HEIGHT}" loading="lazy" referrerpolicy="no-referrer" '
            'sandbox="allow-popups allow-popups-to-escape-sandbox" style="border:0"></iframe>')


def map_snippet(base_url: str, substance: str) -> str:
    src = f"{base_url.rstrip('/')}/map/us.svg?substance={substance}"
    return f'<img src="{html.escape(src)}" alt="Map: legal status of {html.escape(substance)} per US state" width="720">'


def conditions(entry: dict[str, Any]) -> dict[str, Any]:
    """The conditions of an applicable entry: a `conditions` object (status model v2) or its keys at the top."""
    nested = entry.get("conditions")
    found = dict(nested) if isinstance(nested, dict) else {}
    for key in CONDITION_KEYS:
        if entry.get(key) not in (None, "", []):
            found.setdefault(key, entry[key])
    return {k: v for k, v in found.items() if v not in (None, "", [])}


_WORDED = ("min_age", "thresholds", "prohibited")  # what the status document's `conditions_text` puts in words


def conditions_text(entry: dict[str, Any]) -> str:
    """The conditions in words: "21+; 7-OH above 1 mg/g of product banned; emergency rule; expires 2027-01-01".
    The status model's own wording (`conditions_text`) first, then what it leaves out; never a raw list."""
    worded = str(entry.get("conditions_text") or "")
    parts = [worded] if worded else []
    for key, value in conditions(entry).items():
        if worded and key in _WORDED:
            continue
        parts.append(_condition(key, value))
    return "; ".join(p for p in parts if p)


def _condition(key: str, value: Any) -> str:
    if key == "thresholds":
        return "; ".join(f"above {_threshold(t)}" for t in value if _threshold(t))
    if key == "prohibited":
        return ", ".join(str(act).replace("-", " ") for act in value) + " prohibited"
    if key == "min_age":
        return f"age {value}+"
    if key == "instrument":
        return str(value).replace("-", " ")
    if isinstance(value, dict):
        value = _threshold(value) if "value" in value else ", ".join(f"{k} {v}" for k, v in value.items())
    label = {"expiry_date": "expires", "threshold": "above"}.get(key, key.replace("_", " "))
    return f"{label} {value}"


def _threshold(value: Any) -> str:
    """A threshold of the status document (`Threshold.as_dict`, or an older plain text) in words."""
    if isinstance(value, dict) and isinstance(value.get("value"), int | float):
        return Threshold(float(value["value"]), str(value.get("unit") or ""), str(value.get("basis") or "")).text()
    return str(value or "")


def primary_citation(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The evidence that supports the status in force, a primary one first when the kind is known."""
    evidence = [e for e in entry.get("evidence") or [] if e.get("status", entry.get("status")) == entry.get("status")]
    evidence = evidence or list(entry.get("evidence") or [])
    if not evidence:
        return None
    evidence.sort(key=lambda e: e.get("evidence_kind") != "primary")
    first = evidence[0]
    return {"source_id": first.get("source_id"), "url": first.get("url"), "quote": first.get("quote"),
            "observed_at": first.get("observed_at"), "verified_on": verified_on(first),
            "evidence_kind": first.get("evidence_kind"), "jurisdiction": entry.get("jurisdiction")}


def verified_on(evidence: dict[str, Any]) -> str | None:
    day = evidence.get("verified_on") or (evidence.get("observed_at") or "")[:10]
    return day or None


def embed_document(status: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The `/embed/<CODE>.json` answer: per substance its status, conditions, citation and verified date."""
    region = status["region"]
    page = f"{base_url.rstrip('/')}/?q={region['code']}"
    substances: dict[str, Any] = {}
    for substance, entry in status["applicable"].items():
        citation = primary_citation(entry)
        substances[substance] = {
            "status": entry.get("status"), "jurisdiction": entry.get("jurisdiction"),
            "effective_date": entry.get("effective_date"), "disputed": bool(entry.get("disputed")),
            "detail": entry.get("detail") or "", "conditions": conditions(entry),
            "verified_on": citation["verified_on"] if citation else None, "citation": citation,
        }
    return {"region": region, "as_of": status["as_of"], "page": page, "substances": substances,
            "jsonld": legislation_jsonld(region, substances, page)}


def legislation_jsonld(region: dict[str, str], substances: dict[str, Any], page: str) -> dict[str, Any]:
    graph = []
    for substance, item in substances.items():
        citation = item.get("citation") or {}
        if not citation.get("url"):
            continue
        source = item.get("jurisdiction") or region["code"]
        node: dict[str, Any] = {
            "@type": "Legislation",
            "name": f"{substance} in {regions.display_name(source)}: {item['status']}"
                    + (f" ({item['detail']})" if item.get("detail") else ""),
            "url": citation["url"],
            "legislationJurisdiction": {"@type": "AdministrativeArea", "name": regions.display_name(source),
                                        "identifier": source},
            "about": {"@type": "Thing", "name": "kratom" if substance == "leaf" else "7-hydroxymitragynine"},
            "isBasedOn": page,
        }
        if item.get("effective_date"):
            node["legislationDateOfApplicability"] = item["effective_date"]
        if _LEGAL_FORCE.get(item["status"]):
            node["legislationLegalForce"] = _LEGAL_FORCE[item["status"]]
        if item.get("verified_on"):
            node["dateModified"] = item["verified_on"]
        graph.append(node)
    return {"@context": "https://schema.org", "@graph": graph}


def _json_for_script(data: Any) -> str:
    """JSON inside <script type=application/ld+json>: no `<` at all, so no `</script>` can end it early."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def embed_html(document: dict[str, Any]) -> bytes:
    """The card. Every text is escaped; links are http(s) only; the page runs nothing."""
    from kratom_tracker.render import safe_url

    esc = html.escape
    region = document["region"]
    rows = []
    for substance, item in document["substances"].items():
        status = item["status"] or "unknown"
        notes = [x for x in (item.get("detail"), _conditions_line(item.get("conditions") or {})) if x]
        where = item.get("jurisdiction")
        if where and where != region["code"]:
            notes.append(f"from {regions.display_name(where)}")
        if item.get("effective_date"):
            notes.append(f"since {item['effective_date']}")
        citation = item.get("citation") or {}
        link = safe_url(citation.get("url") or "")
        cite = (f'<a href="{esc(link)}" target="_blank" rel="nofollow noopener noreferrer">'
                f'{esc(citation.get("source_id") or "source")}</a>') if link else "no citation on file"
        verified = f" · verified {esc(item['verified_on'])}" if item.get("verified_on") else ""
        disputed = ' <span class="b st-unknown">disputed</span>' if item.get("disputed") else ""
        rows.append(
            f'<tr><th scope="row">{esc(substance)}</th><td><span class="b st-{esc(status)}">{esc(status)}</span>'
            f'{disputed}<div class="c">{esc("; ".join(notes))}</div><div class="c">{cite}{verified}</div></td></tr>')
    page = safe_url(document.get("page") or "")
    more = f'<a href="{esc(page)}" target="_blank" rel="noopener">kratom-tracker</a>' if page else "kratom-tracker"
    body = (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{esc(EMBED_CSP.replace("; frame-ancestors *", ""))}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">'
        f"<title>Kratom status in {esc(region['name'])}</title><style>{EMBED_CSS}</style>"
        f'<script type="application/ld+json">{_json_for_script(document["jsonld"])}</script></head>'
        f'<body><h1>Kratom in {esc(region["name"])} <span class="c">({esc(region["code"])})</span></h1>'
        f"<table>{''.join(rows)}</table>"
        f"<footer>Status in force on {esc(document['as_of'])} · {more} · not legal advice</footer></body></html>\n"
    )
    return body.encode("utf-8")


def _conditions_line(found: dict[str, Any]) -> str:
    return conditions_text({"conditions": found})


def etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
