"""`collect`: one pass over the sources, with the same after-commit path as the daemon (notifications,
failing/recovered notices, watched articles, and feeds/embeds when --feeds/--embeds is given)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kratom_tracker.cli import add_command, with_db, with_sources
from kratom_tracker.cli.console import EXIT_NOTHING_RAN, EXIT_OK, UsageError, database, err, load_config
from kratom_tracker.cli.output import console as make_console
from kratom_tracker.config.model import Config, SourceConfig
from kratom_tracker.engine.pipeline import PassSummary
from kratom_tracker.store import Store
from kratom_tracker.vocab import Outcome


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "collect", "Run one pass over the sources: fetch, extract, detect changes, store them.",
                    "kratom-tracker collect --only fda-kratom fr-kratom")
    with_sources(p)
    with_db(p)
    p.add_argument("--only", nargs="+", metavar="ID", help="only these source ids")
    p.add_argument("--feeds", metavar="DIR", help="also republish the feeds into DIR after the pass")
    p.add_argument("--embeds", metavar="DIR", help="also republish the embeds and maps into DIR after the pass "
                                                   "(the files `publish --embeds` writes; only changed ones)")
    return p


def run(args: argparse.Namespace) -> int:
    from kratom_tracker.engine.pipeline import select_sources

    config = load_config(args)
    try:
        sources = select_sources(config, args.only)
    except KeyError as exc:
        raise UsageError(f"--only: no source with id {exc.args[0]} in {config.path}") from None
    if not sources:
        err("no enabled sources to collect")
        return EXIT_NOTHING_RAN
    with Store(database(args)) as store:
        summary = collect_with_progress(config, store, sources, quiet=args.quiet, feeds_dir=args.feeds,
                                        embeds_dir=args.embeds)
    print_summary(summary)
    return EXIT_OK if len(summary.failed) < len(summary.results) else EXIT_NOTHING_RAN


def collect_with_progress(config: Config, store: Store, sources: list[SourceConfig], quiet: bool = False,
                          feeds_dir: str | Path | None = None, embeds_dir: str | Path | None = None) -> PassSummary:
    """One pass with a progress bar on a terminal (nothing when quiet or when stderr is not a terminal),
    then the after-pass work the daemon does too (watched articles, notifications; feeds and embeds when
    their folders are given)."""
    from kratom_tracker.engine.runner import collect

    feeds = Path(feeds_dir) if feeds_dir else None
    embeds = Path(embeds_dir) if embeds_dir else None
    if quiet:
        return collect(config, store, sources, feeds_dir=feeds, embeds_dir=embeds)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = make_console(stderr=True)
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

        return collect(config, store, sources, feeds_dir=feeds, on_result=on_result, embeds_dir=embeds)


def print_summary(summary: PassSummary) -> None:
    counts = summary.counts
    ok = len(summary.results) - len(summary.failed)
    restarted = f"  reconfigured: {counts[Outcome.RECONFIGURED]}" if counts[Outcome.RECONFIGURED] else ""
    print(f"sources: {len(summary.results)}  ok: {ok}  "
          f"unchanged: {counts[Outcome.UNCHANGED] + counts[Outcome.NOT_MODIFIED]}  "
          f"changed: {counts[Outcome.CHANGED]}  new: {counts[Outcome.INITIAL]}{restarted}  failed: {len(summary.failed)}  "
          f"events written: {len(summary.event_ids)}")
    shown = 25  # a pass over thousands of unreachable sources should not bury the summary
    for result in summary.failed[:shown]:
        print(f"  failed  {result.source_id}: {result.outcome}" + (f" — {result.error}" if result.error else ""))
    if len(summary.failed) > shown:
        print(f"  … and {len(summary.failed) - shown} more failed; `kratom-tracker sources list` shows every source")
    for result in summary.results:
        if result.outcome == Outcome.UNCONFIRMED:
            print(f"  unconfirmed {result.source_id}: {result.error}")
        for warning in result.warnings[:10]:
            print(f"  warning {result.source_id}: {warning}")
