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

from . import __version__
from .config import Config, ConfigError, db_path, load, sources_path

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

    p = command("demo", "Offline demo: serve recorded documents on 127.0.0.1, collect twice (before and after "
                        "a real change), print the changes and publish the feeds.")
    # Not with_db: the demo never defaults to the production database (nor to KRATOM_TRACKER_DB).
    p.add_argument("--db", metavar="FILE", help="SQLite database (default: data/demo/tracker.db, the demo's own)")
    p.add_argument("--out", metavar="DIR", help="where to publish the feeds (default: data/demo/feeds)")
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
    from .regions import UnknownRegion
    from .store import StoreError

    handlers = {
        "collect": cmd_collect, "changes": cmd_changes, "status": cmd_status, "publish": cmd_publish,
        "schedule": cmd_schedule, "serve": cmd_serve, "sources": cmd_sources, "demo": cmd_demo,
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
    return load(sources_path(getattr(args, "sources", None)))


def parse_since(text: str | None) -> str | None:
    """YYYY-MM-DD, an ISO timestamp or a span back from now (30d, 12h) to a UTC timestamp string."""
    if not text:
        return None
    span = re.fullmatch(r"(\d+)\s*([dhm])", text.strip())
    if span:
        amount, unit = int(span.group(1)), span.group(2)
        delta = {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]
        return (datetime.now(UTC) - delta).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat() + "T00:00:00Z"
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {text!r}: use YYYY-MM-DD, an ISO timestamp, or a span such as 30d") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_day(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: use a date as YYYY-MM-DD") from None


# -- collect -----------------------------------------------------------------------------------------


def cmd_collect(args: argparse.Namespace) -> int:
    from .pipeline import select_sources
    from .store import Store

    config = load_config(args)
    try:
        sources = select_sources(config, args.only)
    except KeyError as exc:
        raise UsageError(f"--only: no source with id {exc.args[0]} in {config.path}") from None
    if not sources:
        _err("no enabled sources to collect")
        return EXIT_NOTHING_RAN
    with Store(db_path(args.db)) as store:
        summary = collect_with_progress(config, store, sources, quiet=args.quiet)
        after_collect(config, store, summary.event_ids)
    print_summary(summary)
    return EXIT_OK if len(summary.failed) < len(summary.results) else EXIT_NOTHING_RAN


def collect_with_progress(config, store, sources, quiet: bool = False):
    from .pipeline import run_pass

    if quiet:
        return run_pass(config, store, sources)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("collect"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=not console.is_terminal,
                  disable=not console.is_terminal) as progress:
        task = progress.add_task("", total=len(sources))

        def on_result(result) -> None:
            progress.update(task, advance=1, description=f"{result.source_id}: {result.outcome}")
            if result.failed:
                progress.console.print(f"[yellow]{result.source_id}[/]: {result.outcome}"
                                       + (f" ({result.error})" if result.error else ""), markup=True,
                                       highlight=False)

        return run_pass(config, store, sources, on_result=on_result)


def after_collect(config: Config, store, event_ids: list[int]) -> None:
    """Queue and send notifications for new events (a failing notifier never fails the collect)."""
    if not config.notify:
        return
    try:
        from .notify import deliver_pending, enqueue_events
    except ImportError:
        return
    if event_ids:
        enqueue_events(config, store, event_ids)
    deliver_pending(config, store)  # also retries what an earlier run could not send


def print_summary(summary) -> None:
    from .models import CHANGED, INITIAL, NOT_MODIFIED, UNCHANGED

    counts = summary.counts
    ok = sum(counts[o] for o in (INITIAL, CHANGED, UNCHANGED, NOT_MODIFIED))
    print(f"sources: {len(summary.results)}  ok: {ok}  unchanged: {counts[UNCHANGED] + counts[NOT_MODIFIED]}  "
          f"changed: {counts[CHANGED]}  new: {counts[INITIAL]}  failed: {len(summary.failed)}  "
          f"events written: {len(summary.event_ids)}")
    shown = 25  # a pass over thousands of unreachable sources should not bury the summary
    for result in summary.failed[:shown]:
        print(f"  failed  {result.source_id}: {result.outcome}" + (f" — {result.error}" if result.error else ""))
    if len(summary.failed) > shown:
        print(f"  … and {len(summary.failed) - shown} more failed; `kratom-tracker sources list` shows every source")
    for result in summary.results:
        for warning in result.warnings[:10]:
            print(f"  warning {result.source_id}: {warning}")


# -- changes -----------------------------------------------------------------------------------------


def cmd_changes(args: argparse.Namespace) -> int:
    from .regions import lookup
    from .store import Store

    region = lookup(args.region).code if args.region else None
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    with Store(db_path(args.db), readonly=True) as store:
        events = store.events(region=region, kind=args.kind, since=parse_since(args.since), limit=args.limit,
                              source_id=args.source)
    if args.json:
        print(json.dumps(events, ensure_ascii=False, indent=2))
        return EXIT_OK
    print_events(events)
    return EXIT_OK


def print_events(events: list[dict]) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    if not events:
        console.print("no changes recorded")
        return
    for event in events:
        head = Text()
        head.append(f"#{event['id']} ", style="dim")
        head.append(f"{event['detected_at']} ", style="cyan")
        head.append(f"[{event['kind']}] ", style="magenta")
        head.append(f"{event['jurisdiction']} ", style="bold")
        head.append(event["title"])
        console.print(head)
        console.print(Text(f"    source: {event['source_id']}  {event['url'] or ''}", style="dim"))
        for line in (event["diff"] or "").splitlines()[:40]:
            style = "green" if line.startswith("+") and not line.startswith("+++") else (
                "red" if line.startswith("-") and not line.startswith("---") else "")
            console.print(Text("    " + line, style=style))
        console.print()


# -- status, publish, serve, schedule: their own modules ------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    from .status import status_command

    return status_command(args)


def cmd_publish(args: argparse.Namespace) -> int:
    from .publish import publish_command

    return publish_command(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve_command

    return serve_command(args)


def cmd_schedule(args: argparse.Namespace) -> int:
    from .scheduler import schedule_command

    return schedule_command(args)


# -- sources -----------------------------------------------------------------------------------------


def cmd_sources(args: argparse.Namespace) -> int:
    if args.sources_command == "check":
        config = load_config(args)
        by_type: dict[str, int] = {}
        for source in config.sources:
            by_type[source.type] = by_type.get(source.type, 0) + 1
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items()))
        print(f"{config.path}: OK — {len(config.sources)} sources ({kinds}), {len(config.notify)} notify targets")
        return EXIT_OK
    if args.sources_command == "list":
        return sources_list(args)
    if args.sources_command == "test":
        from .dryrun import test_command

        return test_command(args)
    raise UsageError("sources: use check, list or test")


def sources_list(args: argparse.Namespace) -> int:
    from .health import source_health_rows
    from .store import require_database

    config = load_config(args)
    require_database(db_path(args.db))  # else every source would read "never fetched"
    rows = source_health_rows(config, db_path(args.db))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} sources in {config.path}", title_justify="left")
    for column in ("id", "type", "jurisdiction", "interval", "last fetch", "outcome", "last change", "failures"):
        table.add_column(column, overflow="fold")
    for row in rows:
        outcome = row["last_outcome"] or "never fetched"
        if row.get("stale"):
            outcome += " (stale)"
        table.add_row(row["id"], row["type"], row["jurisdiction"], row["interval"], row["last_fetch_at"] or "—",
                      outcome, row["last_change_at"] or "—", str(row["consecutive_failures"] or 0))
    Console(highlight=False).print(table)
    return EXIT_OK


# -- demo --------------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
