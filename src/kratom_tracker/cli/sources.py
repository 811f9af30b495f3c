"""`sources check|list|test|types|doctor`: validate the configuration, show each source's health, dry-run
one source's extractor on a saved document (writing nothing), list the source types with their keys, and
fetch each source once live to diagnose it (`doctor`, the first step after a deployment)."""

from __future__ import annotations

import argparse
import json
import mimetypes
from pathlib import Path

from kratom_tracker import extractors
from kratom_tracker.cli import add_command, with_db, with_sources
from kratom_tracker.cli.console import (
    EXIT_NOTHING_RAN,
    EXIT_OK,
    UsageError,
    database,
    load_config,
    open_reader,
)
from kratom_tracker.cli.output import Column, add_format, chosen, emit
from kratom_tracker.cli.output import console as make_console
from kratom_tracker.detect import detect
from kratom_tracker.extractors import run as extract
from kratom_tracker.values import Extraction, Response


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "sources", "Check, list, dry-run or describe the configured sources.",
                    "kratom-tracker sources test fda-kratom --file saved-page.html")
    actions = p.add_subparsers(dest="sources_command", metavar="ACTION")
    sp = add_command(actions, "check", "Validate sources.yaml only (nothing is fetched or written).",
                     "kratom-tracker sources check --sources my-sources.yaml")
    with_sources(sp)
    sp = add_command(actions, "list", "Each source with its last outcome, last change and failures.",
                     "kratom-tracker sources list --format csv > sources.csv")
    with_sources(sp)
    with_db(sp)
    add_format(sp)
    sp = add_command(actions, "test", "Run one source's extractor on a saved file; writes nothing.",
                     "kratom-tracker sources test fda-kratom --file saved-page.html")
    sp.add_argument("source_id", metavar="ID")
    sp.add_argument("--file", required=True, metavar="PATH", help="a saved document (HTML, feed, JSON, CSV)")
    sp.add_argument("--content-type", default="", help="content type to assume (default: from the extension)")
    with_sources(sp)
    with_db(sp)
    sp = add_command(actions, "types", "The source types and the keys each one takes (from the registry of "
                                       "extractors).", "kratom-tracker sources types --format csv")
    add_format(sp, json_alias=True, default="each type with its keys described")
    sp = add_command(actions, "doctor", "Fetch each source once (live) and report status, redirects, robots, "
                                        "whether the selector matches, how much of the page it keeps, whether the "
                                        "topic is found, JavaScript-shell signs and a narrower selector; writes "
                                        "nothing. Exit 1 when any source would fail.",
                     "kratom-tracker sources doctor fda-kratom   # the first step after a deployment")
    sp.add_argument("source_ids", nargs="*", metavar="ID", help="sources to check (default: every enabled one)")
    sp.add_argument("--json", action="store_true")
    with_sources(sp)
    p.set_defaults(sources_parser=p)
    return p


def run(args: argparse.Namespace) -> int:
    actions = {"check": _check, "list": _list, "test": _test, "types": _types, "doctor": _doctor}
    if args.sources_command not in actions:
        args.sources_parser.print_help()
        return 2
    return actions[args.sources_command](args)


def _check(args: argparse.Namespace) -> int:
    config = load_config(args)
    by_type: dict[str, int] = {}
    for source in config.sources:
        by_type[source.type] = by_type.get(source.type, 0) + 1
    kinds = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items()))
    print(f"{config.path}: OK — {len(config.sources)} sources ({kinds}), {len(config.notify)} notify targets")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from kratom_tracker.engine.health import source_health_rows

    config = load_config(args)
    with open_reader(args) as store:  # no database: exit 1, else every source would read "never fetched"
        rows = source_health_rows(config, store)
    fmt = chosen(args)
    records = [row.as_dict() for row in rows]  # json: the `sources list --json` contract
    if fmt == "table":
        records = [r | {"outcome": (r["last_outcome"] or "never fetched") + (" (stale)" if r["stale"] else "")}
                   for r in records]
    emit(records, fmt, LIST_COLUMNS, title=f"{len(rows)} sources in {config.path}")
    return EXIT_OK


LIST_COLUMNS = (Column("id"), Column("type"), Column("jurisdiction"), Column("interval"),
                Column("last_fetch_at", "last fetch"), Column("outcome"), Column("last_change_at", "last change"),
                Column("consecutive_failures", "failures"), Column("url"))
TYPE_COLUMNS = (Column("type"), Column("key"), Column("required"), Column("default"), Column("help"))


def type_keys() -> list[dict[str, object]]:
    """Every key of every registered source type, one record each (`url` where the type fetches one)."""
    records: list[dict[str, object]] = []
    for name in extractors.known_types():
        extractor = extractors.get(name)
        if extractor.needs_url:
            records.append({"type": name, "key": "url", "required": True, "default": None,
                            "help": "the document to fetch", "type_help": extractor.help})
        for key, option in extractor.options.items():
            records.append({"type": name, "key": key, "required": option.required,
                            "default": None if option.required else option.default, "help": option.help,
                            "type_help": extractor.help})
    return records


def _types(args: argparse.Namespace) -> int:
    if args.format is not None:
        emit(type_keys(), args.format, TYPE_COLUMNS)
        return EXIT_OK
    for name in extractors.known_types():
        extractor = extractors.get(name)
        print(f"{name}: {extractor.help}")
        if extractor.needs_url:
            print("  url (required): the document to fetch")
        for key, option in extractor.options.items():
            flag = "required" if option.required else (f"default {option.default!r}" if option.default is not None
                                                       else "optional")
            print(f"  {key} ({flag}): {option.help}")
    return EXIT_OK


def _doctor(args: argparse.Namespace) -> int:
    # Deferred: doctor fetches, and the other `sources` actions must start without the HTTP client.
    from kratom_tracker.engine.doctor import diagnose_all
    from kratom_tracker.engine.pipeline import select_sources

    config = load_config(args)
    try:
        sources = select_sources(config, args.source_ids or None)
    except KeyError as exc:
        raise UsageError(f"no source with id {exc.args[0]} in {config.path}") from None
    results = diagnose_all(config, sources)
    if args.json:
        print(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=2))
    else:
        for result in results:
            _print_diagnosis(result)
        bad = [r.id for r in results if not r.ok]
        print(f"{len(results)} sources checked: {len(results) - len(bad)} ok, {len(bad)} with problems"
              + (f" ({', '.join(bad)})" if bad else ""))
    return EXIT_OK if all(r.ok for r in results) else EXIT_NOTHING_RAN


def _print_diagnosis(r) -> None:
    mark = "ok  " if r.ok else "FAIL"
    print(f"{mark} {r.id} ({r.type}) {r.outcome}" + (f": {r.error}" if r.error else ""))
    print(f"     url {r.url}  HTTP {r.http_status or '-'}  robots {r.robots}"
          + (f"  redirected to {r.final_url}" if r.redirected else ""))
    if r.selector is not None:
        share = f"{r.kept_share:.0%}" if r.kept_share is not None else "-"
        print(f"     select {r.selector!r}: {r.selector_matches} match(es), keeps {share} of the text; topic "
              f"{'found' if r.topic_found else 'NOT found'} in it ({'present' if r.topic_in_page else 'absent'} "
              f"on the page); JavaScript shell: {'suspected' if r.shell_suspected else 'no'} ({r.shell_signs})")
    if r.extracted:
        print(f"     extracted {r.extracted}")
    for advice in r.advice:
        print(f"     → {advice}")


def _guess_type(path: Path, given: str) -> str:
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix in (".rss", ".atom", ".xml"):
        return "application/xml"
    if suffix == ".json":
        return "application/json"
    return mimetypes.guess_type(path.name)[0] or "text/html"


def _test(args: argparse.Namespace) -> int:
    from rich.text import Text

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
    console = make_console(soft_wrap=True)
    console.print(Text(f"{source.id} ({source.type}) on {path}", style="bold"))
    if extraction.outcome:
        console.print(Text(f"outcome: {extraction.outcome} — {extraction.error}", style="red"))
        console.print("A collect would record this outcome and write no event.")
        return EXIT_NOTHING_RAN
    _show_extraction(console, extraction)
    previous = _stored_snapshot(database(args), source.id)
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
            until = f" until {a.expiry_date}" if a.expiry_date else ""
            terms = a.conditions.text(a.substance, a.status)
            terms = f" [{terms}]" if terms else ""
            cite = f" {a.citation}" if a.citation else ""
            kind = f" ({a.evidence_kind})" if a.evidence_kind else ""
            console.print(Text(f"  {a.jurisdiction:<28} {a.substance:<5} {a.status}{terms}{when}{until}{cite}  "
                               f"<{a.evidence_url}>{kind}"))
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
