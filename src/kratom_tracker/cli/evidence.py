"""`evidence EVENT_ID`: the fetched document kept as the evidence of a status event, as it was fetched.

The document's bytes go to stdout unchanged (redirect them to a file to open it); what it is (its
SHA-256, content type, size, where and when it was first fetched) goes to stderr, or with `--info` to
stdout as JSON instead of the document."""

from __future__ import annotations

import argparse
import json
import sys

from kratom_tracker.cli import add_command, with_db
from kratom_tracker.cli.console import EXIT_NOTHING_RAN, EXIT_OK, UsageError, err, open_reader

MAX_EVENT_ID = 2**63 - 1  # SQLite's largest integer


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "evidence", "Print the fetched document kept as the evidence of a status event.",
                    "kratom-tracker evidence 42 > evidence-42.html")
    p.add_argument("event_id", metavar="EVENT_ID", help="the event's id (`changes` shows it as #42)")
    with_db(p)
    p.add_argument("--info", action="store_true", help="what the document is, as JSON, instead of the document")
    return p


def run(args: argparse.Namespace) -> int:
    if not args.event_id.isascii() or not args.event_id.isdigit() or int(args.event_id) < 1:
        raise UsageError(f"EVENT_ID {args.event_id!r}: use the number `changes` shows (e.g. 42)")
    event_id = int(args.event_id)
    if event_id > MAX_EVENT_ID:  # beyond SQLite's integers: no such event can exist
        err(f"error: no event {event_id}")
        return EXIT_NOTHING_RAN
    with open_reader(args) as store:
        event = store.event(event_id)
        document = store.evidence_for_event(event_id) if event is not None else None
    if event is None:
        err(f"error: no event {event_id}")
        return EXIT_NOTHING_RAN
    if document is None:
        err(f"error: event {event_id} ({event.kind}, source {event.source_id}) has no kept document: only "
            "status events from fetched sources keep theirs" + (f"; its evidence is cited at {event.url}"
                                                                if event.url else ""))
        return EXIT_NOTHING_RAN
    info = {"event_id": event_id, "sha256": document.sha256, "content_type": document.content_type,
            "size": len(document.body), "url": document.url, "first_seen": document.first_seen}
    if args.info:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return EXIT_OK
    err(f"event {event_id}: {document.content_type or 'unknown type'}, {len(document.body)} bytes, "
        f"sha256 {document.sha256}, first fetched {document.first_seen} from {document.url or 'an unknown URL'}")
    sys.stdout.flush()
    sys.stdout.buffer.write(document.body)
    sys.stdout.buffer.flush()
    return EXIT_OK
