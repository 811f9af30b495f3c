"""`gc`: retention for the logs that grow, fetch outcomes and snapshots, by count per source or by age.
A snapshot that an event, an assertion or a source points at is never deleted: the history of every
change, and the starting point of the next comparison, stay whole."""

from __future__ import annotations

import argparse

from kratom_tracker.cli import add_command, with_db
from kratom_tracker.cli.console import EXIT_OK, UsageError, database, note, parse_since
from kratom_tracker.cli.output import Column, add_format, chosen, emit
from kratom_tracker.config.model import DEFAULT_GC_KEEP_FETCHES
from kratom_tracker.store import Store, require_database


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "gc", "Delete old fetch outcomes and snapshots (by count per source, or by age); "
                               "never a snapshot an event, an assertion or a source needs.",
                    "kratom-tracker gc --keep-snapshots 20 --older-than 180d --dry-run")
    with_db(p)
    p.add_argument("--keep-fetches", type=int, metavar="N", default=DEFAULT_GC_KEEP_FETCHES,
                   help=f"fetch outcomes kept per source (default: {DEFAULT_GC_KEEP_FETCHES})")
    p.add_argument("--keep-snapshots", type=int, metavar="N",
                   help="snapshots kept per source, newest first (default: all; those in use always stay)")
    p.add_argument("--older-than", metavar="AGE",
                   help="also delete fetches and snapshots older than this (a span such as 180d, or a date)")
    p.add_argument("--dry-run", action="store_true", help="count what would go; delete nothing")
    p.add_argument("--vacuum", action="store_true", help="then give the freed space back (rewrites the file)")
    add_format(p, json_alias=True)
    return p


COLUMNS = (Column("fetches_deleted"), Column("snapshots_deleted"), Column("snapshots_kept_in_use"),
           Column("dry_run"))


def run(args: argparse.Namespace) -> int:
    for option in ("keep_fetches", "keep_snapshots"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be at least 1 (the newest stays)")
    older_than = parse_since(args.older_than, "--older-than")
    path = database(args)
    require_database(path)  # gc never creates a database
    with Store(path) as store:
        report = store.gc(keep_fetches=args.keep_fetches, keep_snapshots=args.keep_snapshots,
                          older_than=older_than, dry_run=args.dry_run)
        if args.vacuum and not args.dry_run:
            store.vacuum()
    fmt = chosen(args, default="text")
    if fmt == "text":
        verb = "would delete" if report.dry_run else "deleted"
        print(f"{verb} {report.fetches_deleted} fetch outcomes and {report.snapshots_deleted} snapshots; "
              f"kept {report.snapshots_kept_in_use} old snapshots that events, assertions or sources need")
        if report.dry_run:
            note("dry run: nothing was deleted")
    else:
        emit([report.as_dict()], fmt, COLUMNS, document=report.as_dict())
    return EXIT_OK
