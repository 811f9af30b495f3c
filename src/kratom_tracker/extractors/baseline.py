"""`baseline`: the project's own curated, cited table of assertions (a CSV in data/), read from disk.
Editing a row and collecting again yields a status event, exactly as if a status table were scraped.

Two layouts are read. Version 1 has the columns in `COLUMNS`; version 2 (the shipped tables) adds the
terms of each law in `V2_COLUMNS`: its instrument and citation, its expiry date, the stage and bill id of
a pending measure, a threshold, an age limit, the prohibited acts and whether it preempts local rules.
A v1 file (a user's own table) still reads, its rows without those terms; a v2 column may also be left
out or left empty. A `note` column (our own words on how a row was checked) is allowed and not read."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kratom_tracker import regions, timefmt
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors import Extractor, option
from kratom_tracker.values import Assertion, Extraction, Response
from kratom_tracker.vocab import (
    Act,
    EvidenceKind,
    Instrument,
    Outcome,
    Stage,
    Status,
    Substance,
    ThresholdUnit,
)

COLUMNS = ("jurisdiction", "substance", "status", "detail", "effective_date", "summary", "source_url",
           "source_type", "last_verified")
V2_COLUMNS = ("instrument", "citation", "expiry_date", "stage", "bill_id", "threshold_value", "threshold_unit",
              "threshold_basis", "min_age", "prohibited", "preempts_local")
NOTE_COLUMN = "note"
MAX_AGE = 99  # an age limit above this is a typo, not a law


def _existing_file(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a path to a CSV file, relative to sources.yaml")
    return value


class BaselineExtractor(Extractor):
    type_name = "baseline"
    needs_url = False
    help = "the project's cited table of assertions (CSV in data/); emits status events when a row changes"
    @dataclass(frozen=True)
    class Options:
        path: str = option(check=_existing_file, path=True,
                           help="CSV with columns " + ",".join(COLUMNS) + " (and optionally " + ",".join(V2_COLUMNS) + ")")

    def local_document(self, source: SourceConfig) -> Response:
        path = Path(source.options.path)
        try:
            body = path.read_bytes()
        except OSError as exc:
            return Response(url=path.as_uri(), outcome=Outcome.CONNECTION_ERROR, error=f"cannot read {path}: {exc}")
        return Response(url=path.as_uri(), status=200, headers={"content-type": "text/csv; charset=utf-8"}, body=body)

    def extract(self, source: SourceConfig, response: Response) -> Extraction:
        assertions, problems = parse_rows(response.text)
        if not assertions:
            return Extraction(outcome=Outcome.EMPTY if not problems else Outcome.PARSE_ERROR,
                              error="; ".join(problems[:5]) or "the baseline has no rows")
        return Extraction(assertions=assertions, warnings=problems)


def parse_rows(text: str) -> tuple[list[Assertion], list[str]]:
    """Assertions from the CSV; a row that does not validate is reported (line and reason), not guessed."""
    reader = csv.DictReader(io.StringIO(text))
    fieldnames = reader.fieldnames or []
    missing = [c for c in COLUMNS if c not in fieldnames]
    if missing:
        return [], [f"missing columns: {', '.join(missing)}"]
    unknown = [c for c in fieldnames if c and c not in (*COLUMNS, *V2_COLUMNS, NOTE_COLUMN)]
    problems: list[str] = [f"unknown columns ignored: {', '.join(unknown)}"] if unknown else []
    assertions: list[Assertion] = []
    for row in reader:
        line = reader.line_num
        row = {k: (v or "").strip() for k, v in row.items() if k}
        for column in V2_COLUMNS:
            row.setdefault(column, "")  # a v1 file: the terms are not known
        problem = row_problem(row)
        if problem:
            problems.append(f"line {line}: {problem}")
            continue
        assertions.append(to_assertion(row))
    return assertions, problems


def to_assertion(row: dict[str, str]) -> Assertion:
    """A validated row as an Assertion (`row_problem` found nothing wrong with it)."""
    return Assertion(
        jurisdiction=row["jurisdiction"], substance=row["substance"], status=row["status"],
        effective_date=row["effective_date"] or None, evidence_url=row["source_url"], quote=row["summary"],
        detail=row["detail"], evidence_kind=row["source_type"], verified_on=row["last_verified"],
        expiry_date=row["expiry_date"] or None, instrument=row["instrument"], citation=row["citation"],
        stage=row["stage"], bill_id=row["bill_id"],
        threshold_value=float(row["threshold_value"]) if row["threshold_value"] else None,
        threshold_unit=row["threshold_unit"], threshold_basis=row["threshold_basis"],
        min_age=int(row["min_age"]) if row["min_age"] else None, prohibited=row["prohibited"],
        preempts_local={"yes": True, "no": False}.get(row["preempts_local"]),
    )


def row_problem(row: dict[str, str]) -> str:
    """Why a row cannot ship (the first reason found), or "" when it is sound."""
    for check in _CHECKS:
        problem = check(row)
        if problem:
            return problem
    return ""


def _one_of(column: str, vocabulary: type, optional: bool = False) -> Callable[[dict[str, str]], str]:
    def check(row: dict[str, str]) -> str:
        value = row[column]
        if (optional and not value) or value in {m.value for m in vocabulary}:
            return ""
        return f"{column} {value!r} is not one of {', '.join(m.value for m in vocabulary)}"
    return check


def _day(column: str) -> Callable[[dict[str, str]], str]:
    def check(row: dict[str, str]) -> str:
        try:
            timefmt.parse_day(row[column])  # also refuses 2026-02-30, which the pattern alone lets through
        except ValueError:
            return f"{column} {row[column]!r} is not a date (YYYY-MM-DD)"
        return ""
    return check


def _jurisdiction(row: dict[str, str]) -> str:
    return "" if regions.is_valid_code(row["jurisdiction"]) else f"unknown jurisdiction {row['jurisdiction']!r}"


def _evidence(row: dict[str, str]) -> str:
    if not row["source_url"].startswith(("http://", "https://")):
        return "source_url must be an http(s) URL"
    if not row["summary"]:
        return "summary is empty"
    return ""


def _window(row: dict[str, str]) -> str:
    effective, expiry = row["effective_date"], row["expiry_date"]
    if effective and expiry and expiry <= effective:
        return f"expiry_date {expiry} is not after effective_date {effective}"
    return ""


def _stage(row: dict[str, str]) -> str:
    """Only a pending measure has a stage, and a pending row of a v2 table says which."""
    if row["stage"] and row["status"] != Status.PENDING:
        return f"stage {row['stage']!r} on a {row['status']!r} row: only pending measures have a stage"
    return _one_of("stage", Stage, optional=True)(row)


def _threshold(row: dict[str, str]) -> str:
    value, unit = row["threshold_value"], row["threshold_unit"]
    if not value and not unit:
        return "" if not row["threshold_basis"] else "threshold_basis without threshold_value"
    if not value or not unit:
        return "threshold_value and threshold_unit go together"
    try:
        number = float(value)
    except ValueError:
        return f"threshold_value {value!r} is not a number"
    if not number >= 0:  # also refuses nan
        return f"threshold_value {value!r} is negative"
    return _one_of("threshold_unit", ThresholdUnit)(row)


def _min_age(row: dict[str, str]) -> str:
    value = row["min_age"]
    if value and not (value.isdigit() and 0 < int(value) <= MAX_AGE):
        return f"min_age {value!r} is not an age in years"
    return ""


def _prohibited(row: dict[str, str]) -> str:
    acts = [a.strip() for a in row["prohibited"].split("|") if a.strip()]
    wrong = [a for a in acts if a not in {m.value for m in Act}]
    return f"prohibited: {', '.join(map(repr, wrong))} not among {', '.join(Act)}" if wrong else ""


def _preempts(row: dict[str, str]) -> str:
    value = row["preempts_local"]
    return "" if value in ("", "yes", "no") else f"preempts_local {value!r} is not yes, no or empty"


def _source_type(row: dict[str, str]) -> str:
    value = row["source_type"]
    if value and value not in {k.value for k in EvidenceKind}:
        return f"source_type {value!r} is not one of {', '.join(EvidenceKind)}"
    return ""


_CHECKS: tuple[Callable[[dict[str, str]], str], ...] = (
    _jurisdiction, _one_of("substance", Substance), _one_of("status", Status), _day("effective_date"),
    _day("expiry_date"), _day("last_verified"), _window, _evidence, _source_type,
    _one_of("instrument", Instrument, optional=True), _stage, _threshold, _min_age, _prohibited, _preempts,
)
