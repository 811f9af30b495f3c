"""`sources test ID --file PATH`: run one source's extractor on a saved document and show what it
would extract and which events it would emit against the stored snapshot. Writes nothing."""

from __future__ import annotations

import argparse
import mimetypes
from pathlib import Path

from kratom_tracker.config.model import db_path
from kratom_tracker.detect import detect
from kratom_tracker.extractors import run as extract
from kratom_tracker.values import Extraction, Response


class DryRunError(Exception):
    pass


def _guess_type(path: Path, given: str) -> str:
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix in (".rss", ".atom", ".xml"):
        return "application/xml"
    if suffix == ".json":
        return "application/json"
    return mimetypes.guess_type(path.name)[0] or "text/html"


def test_command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.text import Text

    from kratom_tracker.cli import UsageError, load_config

    config = load_config(args)
    try:
        source = config.source(args.source_id)
    except KeyError:
        raise UsageError(f"no source with id {args.source_id!r} in {config.path}") from None
    path = Path(args.file)
    path = path if path.is_absolute() else Path.cwd() / path  # a file URI needs an absolute path
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    response = Response(url=source.url or path.as_uri(), status=200, final_url=path.as_uri(), body=body,
                        headers={"content-type": _guess_type(path, args.content_type)})
    extraction = extract(source, response)
    console = Console(highlight=False, soft_wrap=True)
    console.print(Text(f"{source.id} ({source.type}) on {path}", style="bold"))
    if extraction.outcome:
        console.print(Text(f"outcome: {extraction.outcome} — {extraction.error}", style="red"))
        console.print("A collect would record this outcome and write no event.")
        return 1
    _show_extraction(console, extraction)
    previous = _stored_snapshot(db_path(args.db), source.id)
    if previous is None:
        console.print("No stored snapshot for this source: a collect would set its starting point (no event).")
        return 0
    events = detect(source, previous, extraction)
    console.print(Text(f"Against the stored snapshot: {len(events)} event(s) would be written", style="bold"))
    for event in events:
        console.print(Text(f"  [{event.kind}] {event.jurisdiction} {event.title}"))
        for line in event.diff.splitlines()[:30]:
            console.print(Text("    " + line))
    return 0


def _show_extraction(console, extraction: Extraction) -> None:
    from rich.text import Text

    if extraction.lines is not None:
        console.print(Text(f"{len(extraction.lines)} text lines:", style="bold"))
        for line in extraction.lines[:60]:
            console.print(Text("  " + line))
        if len(extraction.lines) > 60:
            console.print(Text(f"  … {len(extraction.lines) - 60} more"))
    if extraction.items is not None:
        console.print(Text(f"{len(extraction.items)} items:", style="bold"))
        for item in extraction.items[:40]:
            console.print(Text(f"  {item.published[:10] or '          '}  {item.title}  <{item.url}>"))
    if extraction.assertions is not None:
        console.print(Text(f"{len(extraction.assertions)} assertions:", style="bold"))
        for a in extraction.assertions[:60]:
            when = f" from {a.effective_date}" if a.effective_date else ""
            console.print(Text(f"  {a.jurisdiction:<28} {a.substance:<5} {a.status}{when}  <{a.evidence_url}>"))
    for warning in extraction.warnings[:20]:
        console.print(Text(f"  warning: {warning}", style="yellow"))


def _stored_snapshot(db: Path, source_id: str) -> Extraction | None:
    if not db.exists():
        return None
    from kratom_tracker.store import Store

    with Store(db, readonly=True) as store:
        state = store.source_states().get(source_id)
        if state is None or state.snapshot_id is None:
            return None
        content = store.snapshot_content(state.snapshot_id)
    return Extraction.from_canonical(content) if content else None
