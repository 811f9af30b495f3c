"""What every command shares: exit statuses, the usage error, reading the configuration and the
database for a command, parsing dates typed at the prompt, and the rich output of passes and events.
Human output goes to stdout, progress and logs to stderr."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from kratom_tracker import timefmt
from kratom_tracker.config.loader import load
from kratom_tracker.config.model import Config, db_path, is_packaged, sources_path
from kratom_tracker.vocab import Outcome, Status

if TYPE_CHECKING:
    from kratom_tracker.engine.pipeline import PassSummary
    from kratom_tracker.store import Store
    from kratom_tracker.values import SourceConfig

EXIT_OK, EXIT_NOTHING_RAN, EXIT_USAGE = 0, 1, 2

# Badge colours of the terminal, one per status (the dashboard's live in static/style.css).
STATUS_STYLES = {Status.BANNED: "bold red", Status.REGULATED: "yellow", Status.PENDING: "magenta",
                 Status.LEGAL: "green", Status.UNKNOWN: "dim"}


class UsageError(Exception):
    """Bad input from the person at the keyboard: a message and exit status 2."""


def err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_config(args: argparse.Namespace) -> Config:
    """The configuration named by --sources (or the environment, ./sources.yaml, the packaged list)."""
    path = sources_path(getattr(args, "sources", None))
    if is_packaged(path):
        err(f"using the packaged source list ({path}): no sources.yaml here; "
            "`kratom-tracker init` writes an editable copy")
    return load(path)


def database(args: argparse.Namespace) -> Path:
    return db_path(getattr(args, "db", None))


def parse_since(text: str | None, option: str = "--since") -> str | None:
    try:
        return timefmt.parse_since(text)
    except ValueError as exc:
        raise UsageError(f"{option} {exc}") from None


def parse_day(text: str | None, option: str) -> date | None:
    try:
        return timefmt.parse_day(text)
    except ValueError as exc:
        raise UsageError(f"{option} {exc}") from None


def collect_with_progress(config: Config, store: Store, sources: list[SourceConfig],
                          quiet: bool = False) -> PassSummary:
    """One pass with a progress bar on a terminal (nothing when quiet or when stderr is not a terminal)."""
    from kratom_tracker.engine.runner import Runner

    runner = Runner(config, store)
    if quiet:
        return runner.run_pass(sources)
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

        return runner.run_pass(sources, on_result=on_result)


def print_summary(summary: PassSummary) -> None:
    counts = summary.counts
    ok = sum(counts[o] for o in (Outcome.INITIAL, Outcome.CHANGED, Outcome.UNCHANGED, Outcome.NOT_MODIFIED))
    print(f"sources: {len(summary.results)}  ok: {ok}  "
          f"unchanged: {counts[Outcome.UNCHANGED] + counts[Outcome.NOT_MODIFIED]}  "
          f"changed: {counts[Outcome.CHANGED]}  new: {counts[Outcome.INITIAL]}  failed: {len(summary.failed)}  "
          f"events written: {len(summary.event_ids)}")
    shown = 25  # a pass over thousands of unreachable sources should not bury the summary
    for result in summary.failed[:shown]:
        print(f"  failed  {result.source_id}: {result.outcome}" + (f" — {result.error}" if result.error else ""))
    if len(summary.failed) > shown:
        print(f"  … and {len(summary.failed) - shown} more failed; `kratom-tracker sources list` shows every source")
    for result in summary.results:
        for warning in result.warnings[:10]:
            print(f"  warning {result.source_id}: {warning}")
