"""`status-table`: a page or CSV that lists a status per jurisdiction, turned into assertions by a named
`parser`. detect then writes one `status` event per jurisdiction and substance whose status changes.

Third-party tables use free-text categories ("Full ban", "Regulated (KCPA)", "7-OH restriction").
Each parser maps the categories it knows; a row it cannot map is reported as a warning (line and
text) and left out, never guessed. To add a layout: write a function `(text, source) -> ParsedTable`
and add it to PARSERS."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from kratom_tracker import checks, regions, timefmt
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors import Extractor, option
from kratom_tracker.values import Assertion, Extraction, Response
from kratom_tracker.vocab import Outcome


@dataclass
class ParsedTable:
    assertions: list[Assertion] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows: int = 0


# -- kratomnewstoday-csv -------------------------------------------------------------------------------
# Columns: state,status_category,status_summary_2026,key_date,primary_source,as_of. A category is one or
# more clauses separated by ";" ("Regulated; 7-OH ban pending signature"). Each clause maps to
# (substance, status), or is informational (enforcement, local action: no statewide status). `key_date`
# is the date of the newest development, not necessarily an effective date, so it is used as one only
# when the category itself says "effective"; otherwise it goes in the detail.

KNT_COLUMNS = ("state", "status_category", "status_summary_2026", "key_date", "primary_source", "as_of")
INFORMATIONAL = "info"

# (pattern over one lower-cased clause, substance, status); first match wins.
KNT_CLAUSES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), substance, status) for pattern, substance, status in (
        (r"^full ban\b", "all", "banned"),
        (r"^(?:ban pending|pending legislation|bill pending|ban bill pending)$", "all", "pending"),
        (r"^7-oh ban pending\b", "7-OH", "pending"),
        (r"^7-oh (?:ban|prohibition)$", "7-OH", "banned"),
        (r"^7-oh emergency (?:order|rule)\b", "7-OH", "banned"),
        (r"^7-oh (?:restriction|restrictions|limits?)$", "7-OH", "regulated"),
        (r"^natural[- ]leaf rulemaking pending$", "leaf", "pending"),
        (r"^regulated\b", "all", "regulated"),
        (r"^(?:enforcement(?: activity| without statute)?|local action)$", "", INFORMATIONAL),
    )
)


def map_category(category: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(substance, status) pairs for a category, and the clauses that match no rule."""
    pairs: list[tuple[str, str]] = []
    unknown: list[str] = []
    for clause in (c.strip() for c in category.split(";")):
        if not clause:
            continue
        rule = next((r for r in KNT_CLAUSES if r[0].search(clause.lower())), None)
        if rule is None:
            unknown.append(clause)
        elif rule[2] != INFORMATIONAL:
            pairs.append((rule[1], rule[2]))
    if any(s != "all" for s, _ in pairs):  # "Regulated; 7-OH ban pending": the general clause is the leaf's
        pairs = [("leaf" if s == "all" else s, status) for s, status in pairs]
    return pairs, unknown


def parse_kratomnewstoday_csv(text: str, source: SourceConfig) -> ParsedTable:
    table = ParsedTable()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in ("state", "status_category") if c not in (reader.fieldnames or [])]
    if missing:
        table.warnings.append(f"not the kratomnewstoday layout: missing columns {', '.join(missing)}")
        return table
    for row in reader:
        table.rows += 1
        line = reader.line_num
        row = {k: (v or "").strip() for k, v in row.items() if k}
        state, category = row.get("state", ""), row.get("status_category", "")
        code = regions.within("US", state) if state else None
        if code is None:
            table.warnings.append(f"line {line}: unknown US state {state!r}; row skipped")
            continue
        pairs, unknown = map_category(category)
        if unknown or not pairs:
            reason = f"unmapped category clause {', '.join(repr(u) for u in unknown)}" if unknown else \
                f"category {category!r} states no statewide status"
            table.warnings.append(f"line {line}: {state}: {reason}; row not turned into a status")
            continue
        table.assertions.extend(_knt_assertion(row, code, category, substance, status, source)
                                for substance, status in pairs)
    return table


def _knt_assertion(row: dict[str, str], code: str, category: str, substance: str, status: str,
                   source: SourceConfig) -> Assertion:
    key_date = row.get("key_date", "") if timefmt.DAY.match(row.get("key_date", "")) else ""
    effective = key_date if key_date and "effective" in category.lower() else None
    detail = category + (f"; key date {key_date}" if key_date and not effective else "")
    url = row.get("primary_source", "")
    if not url.startswith(("http://", "https://")):
        url = source.url or ""
    as_of = row.get("as_of", "")
    return Assertion(jurisdiction=code, substance=substance, status=status, effective_date=effective,
                     evidence_url=url, quote=" ".join(row.get("status_summary_2026", "").split())[:600],
                     detail=detail, evidence_kind="secondary", verified_on=as_of if timefmt.DAY.match(as_of) else "")


PARSERS: dict[str, Callable[[str, SourceConfig], ParsedTable]] = {
    "kratomnewstoday-csv": parse_kratomnewstoday_csv,
}


class StatusTableExtractor(Extractor):
    type_name = "status-table"
    help = "a page or CSV listing status per jurisdiction; a named `parser` maps its rows; emits status events"
    @dataclass(frozen=True)
    class Options:
        parser: str = option(check=checks.one_of(*PARSERS), help="one of " + ", ".join(PARSERS))

    def extract(self, source: SourceConfig, response: Response) -> Extraction:
        if not response.body.strip():
            return Extraction(outcome=Outcome.EMPTY, error="the table is empty")
        table = PARSERS[source.options.parser](response.text, source)
        if not table.assertions:
            outcome = Outcome.EMPTY if table.rows == 0 and not table.warnings else Outcome.PARSE_ERROR
            return Extraction(outcome=outcome, error="; ".join(table.warnings[:3]) or "no rows in the table")
        return Extraction(assertions=table.assertions, warnings=table.warnings)
