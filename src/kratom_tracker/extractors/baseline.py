"""`baseline`: the project's own curated, cited table of assertions (a CSV in data/), read from disk.
Editing a row and collecting again yields a status event, exactly as if a status table were scraped."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from kratom_tracker import regions, timefmt
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.extractors import Extractor, option
from kratom_tracker.values import Assertion, Extraction, Response
from kratom_tracker.vocab import Outcome, Status, Substance

COLUMNS = ("jurisdiction", "substance", "status", "detail", "effective_date", "summary", "source_url",
           "source_type", "last_verified")


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
        path: str = option(check=_existing_file, path=True, help="CSV with columns " + ",".join(COLUMNS))

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
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        return [], [f"missing columns: {', '.join(missing)}"]
    assertions: list[Assertion] = []
    problems: list[str] = []
    for row in reader:
        line = reader.line_num
        row = {k: (v or "").strip() for k, v in row.items() if k}
        problem = _row_problem(row)
        if problem:
            problems.append(f"line {line}: {problem}")
            continue
        assertions.append(Assertion(
            jurisdiction=row["jurisdiction"], substance=row["substance"], status=row["status"],
            effective_date=row["effective_date"] or None, evidence_url=row["source_url"], quote=row["summary"],
            detail=row["detail"], evidence_kind=row["source_type"], verified_on=row["last_verified"],
        ))
    return assertions, problems


def _row_problem(row: dict[str, str]) -> str:
    if not regions.is_valid_code(row["jurisdiction"]):
        return f"unknown jurisdiction {row['jurisdiction']!r}"
    if row["substance"] not in {s.value for s in Substance}:
        return f"substance {row['substance']!r} is not one of {', '.join(Substance)}"
    if row["status"] not in {s.value for s in Status}:
        return f"status {row['status']!r} is not one of {', '.join(Status)}"
    if row["effective_date"] and not timefmt.DAY.match(row["effective_date"]):
        return f"effective_date {row['effective_date']!r} is not YYYY-MM-DD"
    if not row["source_url"].startswith(("http://", "https://")):
        return "source_url must be an http(s) URL"
    if not row["summary"]:
        return "summary is empty"
    return ""
