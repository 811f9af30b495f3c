"""`changes`: the recorded events, newest first (`--json`: the `changes --json` contract)."""

from __future__ import annotations

import argparse

from kratom_tracker.cli import add_command, with_db
from kratom_tracker.cli.console import EXIT_OK, UsageError, open_reader, parse_since
from kratom_tracker.cli.output import Column, add_format, console, emit
from kratom_tracker.values import Event
from kratom_tracker.vocab import EventKind


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "changes", "List recorded changes (events), newest first.",
                    "kratom-tracker changes --region Florida --since 30d --json")
    with_db(p)
    p.add_argument("--region", metavar="R", help="a region code or name; covers everything below it")
    p.add_argument("--kind", choices=[k.value for k in EventKind], help="only this kind of change")
    p.add_argument("--since", metavar="DATE", help="YYYY-MM-DD, an ISO timestamp, or a span such as 30d")
    p.add_argument("--source", metavar="ID", help="only changes from this source")
    p.add_argument("--limit", type=int, metavar="N", help="at most N changes")
    add_format(p, default="each change with its diff; --format table for one line each")
    return p


COLUMNS = (Column("id"), Column("detected_at", "detected"), Column("kind"), Column("jurisdiction"),
           Column("source_id", "source"), Column("title"), Column("url"))


def run(args: argparse.Namespace) -> int:
    from kratom_tracker.regions import lookup

    region = lookup(args.region).code if args.region else None
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    since = parse_since(args.since)
    with open_reader(args) as store:
        events = store.events(region=region, kind=args.kind, since=since, limit=args.limit, source_id=args.source)
    if args.format is None:
        print_events(events)
    else:  # json: the `changes --json` contract (a list of Event.as_dict)
        emit([e.as_dict() for e in events], args.format, COLUMNS)
    return EXIT_OK


def print_events(events: list[Event]) -> None:
    """Each event with its diff; scraped text goes in as plain Text, never as rich markup."""
    from rich.text import Text

    out = console(soft_wrap=True)  # soft wrap: a long URL or diff line stays one line in a pipe
    if not events:
        out.print("no changes recorded")
        return
    for event in events:
        head = Text()
        head.append(f"#{event.id} ", style="dim")
        head.append(f"{event.detected_at} ", style="cyan")
        head.append(f"[{event.kind}] ", style="magenta")
        head.append(f"{event.jurisdiction} ", style="bold")
        head.append(event.title)
        out.print(head)
        out.print(Text(f"    source: {event.source_id}  {event.url}", style="dim"))
        for line in event.diff.splitlines()[:40]:
            style = "green" if line.startswith("+") and not line.startswith("+++") else (
                "red" if line.startswith("-") and not line.startswith("---") else "")
            out.print(Text("    " + line, style=style))
        out.print()
