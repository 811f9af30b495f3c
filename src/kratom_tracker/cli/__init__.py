"""The command line (the contract in DESIGN.md). Human output goes to stdout, progress and logs to
stderr; `--json` prints one JSON document on stdout. Exit: 0 the work ran, 1 nothing could run,
2 a usage or configuration error."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from kratom_tracker import __version__
from kratom_tracker.config.loader import load
from kratom_tracker.config.model import Config, ConfigError, db_path, is_packaged, sources_path

EXIT_OK, EXIT_NOTHING_RAN, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the person at the keyboard: a message and exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kratom-tracker",
        description="Watch public sources on kratom and 7-OH law per jurisdiction, record every meaningful "
                    "change in SQLite and publish change feeds.",
        epilog="Defaults: --sources sources.yaml, --db data/tracker.db (or KRATOM_TRACKER_SOURCES, KRATOM_TRACKER_DB).",
        allow_abbrev=False,  # `--source ID` must be an error, not a silent `--sources ID`
    )
    parser.add_argument("--version", action="version", version=f"kratom-tracker {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str, **kwargs) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, allow_abbrev=False, **kwargs)
        return p

    def with_sources(p: argparse.ArgumentParser) -> None:
        p.add_argument("--sources", metavar="FILE", help="sources.yaml to use (default: sources.yaml)")

    def with_db(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", metavar="FILE", help="SQLite database (default: data/tracker.db)")

    p = command("collect", "Run one pass over the sources: fetch, extract, detect changes, store them.")
    with_sources(p)
    with_db(p)
    p.add_argument("--only", nargs="+", metavar="ID", help="only these source ids")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")

    p = command("changes", "List recorded changes (events), newest first.")
    with_db(p)
    p.add_argument("--region", metavar="R", help="a region code or name; covers everything below it")
    p.add_argument("--kind", choices=("content", "notice", "status"), help="only this kind of change")
    p.add_argument("--since", metavar="DATE", help="YYYY-MM-DD, an ISO timestamp, or a span such as 30d")
    p.add_argument("--source", metavar="ID", help="only changes from this source")
    p.add_argument("--limit", type=int, metavar="N", help="at most N changes")
    p.add_argument("--json", action="store_true", help="one JSON array on stdout")

    p = command("status", "What applies in a region: per substance, the applicable status and its evidence.")
    p.add_argument("region", metavar="REGION", help="code or name: US-FL, Florida, FL, 'Sarasota County, Florida'")
    with_db(p)
    p.add_argument("--as-of", metavar="DATE", help="answer for this day (YYYY-MM-DD), past or future")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout (the status contract)")

    p = command("publish", "Write the change feeds (Atom, RSS, JSON Feed; all and per region).")
    with_sources(p)
    with_db(p)
    p.add_argument("--out", metavar="DIR", default="data/feeds", help="output folder (default: data/feeds)")

    p = command("schedule", "Run every source on its own interval until stopped (SIGTERM/SIGINT).")
    with_sources(p)
    with_db(p)
    p.add_argument("--feeds", metavar="DIR", default="data/feeds",
                   help="where feeds are republished after changes (default: data/feeds)")

    p = command("serve", "Serve the HTTP API, the feeds and the dashboard.")
    with_sources(p)
    with_db(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    p.add_argument("--feeds", metavar="DIR", default="data/feeds", help="published feeds folder")

    p = command("sources", "Check, list or dry-run the configured sources.")
    sources_sub = p.add_subparsers(dest="sources_command", metavar="ACTION")
    sp = sources_sub.add_parser("check", help="validate sources.yaml only", allow_abbrev=False)
    with_sources(sp)
    sp = sources_sub.add_parser("list", help="each source with its last outcome, last change and failures",
                                allow_abbrev=False)
    with_sources(sp)
    with_db(sp)
    sp.add_argument("--json", action="store_true")
    sp = sources_sub.add_parser("test", help="run one source's extractor on a saved file; writes nothing",
                                allow_abbrev=False)
    sp.add_argument("source_id", metavar="ID")
    sp.add_argument("--file", required=True, metavar="PATH", help="a saved document (HTML, feed, JSON, CSV)")
    sp.add_argument("--content-type", default="", help="content type to assume (default: from the extension)")
    with_sources(sp)
    with_db(sp)

    p = command("init", "Write an editable copy of the packaged sources.yaml into DIR (default: here). "
                        "Its baseline paths keep finding the packaged tables unless you copy them next to it.")
    p.add_argument("dir", metavar="DIR", nargs="?", default=".", help="folder to write sources.yaml into")

    p = command("demo", "Offline demo: serve recorded documents on 127.0.0.1, collect twice (before and after "
                        "a real change), print the changes and publish the feeds.")
    with_db(p)
    p.add_argument("--out", metavar="DIR", default="data/feeds", help="where to publish the feeds")
    p.add_argument("--sources", metavar="FILE",
                   help="also load the cited baseline sources of this sources.yaml (default: sources.yaml if present)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "sources" and not args.sources_command:
        parser.parse_args(["sources", "--help"])
    try:
        return _dispatch(args)
    except ConfigError as exc:
        _err("configuration refused; nothing was run:")
        for problem in exc.problems:
            _err(f"  {problem}")
        return EXIT_USAGE
    except UsageError as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from kratom_tracker.regions import UnknownRegion
    from kratom_tracker.store import StoreError

    handlers = {
        "collect": cmd_collect, "changes": cmd_changes, "status": cmd_status, "publish": cmd_publish,
        "schedule": cmd_schedule, "serve": cmd_serve, "sources": cmd_sources, "demo": cmd_demo,
        "init": cmd_init,
    }
    try:
        return handlers[args.command](args)
    except UnknownRegion as exc:
        raise UsageError(str(exc)) from None
    except StoreError as exc:
        _err(f"error: {exc}")
        return EXIT_NOTHING_RAN


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_config(args: argparse.Namespace) -> Config:
    path = sources_path(getattr(args, "sources", None))
    if is_packaged(path):
        _err(f"using the packaged source list ({path}): no sources.yaml here; "
             "`kratom-tracker init` writes an editable copy")
    return load(path)


def parse_since(text: str | None) -> str | None:
    """YYYY-MM-DD, an ISO timestamp or a span back from now (30d, 12h) to a UTC timestamp string."""
    if not text:
        return None
    # ASCII digits only: `\d` also takes other scripts' digits, which no one types for a span.
    span = re.fullmatch(r"([0-9]+)\s*([dhm])", text.strip())
    if span:
        return _span_start(span.group(1), span.group(2))
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat() + "T00:00:00Z"
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {text!r}: use YYYY-MM-DD, an ISO timestamp, or a span such as 30d") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return _utc_stamp(parsed.astimezone(UTC))
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC; 9999-12-31T23:59-01:00 after 9999
        return _utc_stamp(datetime.min if parsed.utcoffset() > timedelta(0) else datetime.max)


def _span_start(digits: str, unit: str) -> str:
    """The instant `digits` units back from now; a span reaching past year 1 means from the start."""
    if len(digits) > 15:  # past datetime's range in any unit, and int() refuses 4300+ digits
        return _utc_stamp(datetime.min)
    amount = int(digits)
    try:
        delta = {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]
        return _utc_stamp(datetime.now(UTC) - delta)
    except OverflowError:
        return _utc_stamp(datetime.min)


def _utc_stamp(moment: datetime) -> str:
    """The stored form, YYYY-MM-DDTHH:MM:SSZ. Not strftime('%Y'), which leaves years before 1000 unpadded
    ('999-...'), and stamps are compared as text."""
    return moment.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def parse_day(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: use a date as YYYY-MM-DD") from None


# -- collect -----------------------------------------------------------------------------------------


# -- changes -----------------------------------------------------------------------------------------


# -- status, publish, serve, schedule: their own modules ------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    from kratom_tracker.rules import status_command

    return status_command(args)


def cmd_publish(args: argparse.Namespace) -> int:
    from kratom_tracker.publish import publish_command

    return publish_command(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from kratom_tracker.web.app import serve_command

    return serve_command(args)


def cmd_schedule(args: argparse.Namespace) -> int:
    from kratom_tracker.engine.scheduler import schedule_command

    return schedule_command(args)


# -- sources -----------------------------------------------------------------------------------------


# -- init --------------------------------------------------------------------------------------------


# -- demo --------------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from kratom_tracker.cli.demo import run_demo

    return run_demo(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
