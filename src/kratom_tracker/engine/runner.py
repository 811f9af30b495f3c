"""`collect`: one pass over the sources, then the same aftermath as the daemon's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kratom_tracker.config.model import Config, SourceConfig
from kratom_tracker.engine.aftermath import Aftermath
from kratom_tracker.engine.pipeline import PassSummary, run_pass
from kratom_tracker.store import Store
from kratom_tracker.values import SourceResult


def collect(config: Config, store: Store, sources: list[SourceConfig], feeds_dir: Path | None = None,
            on_result: Callable[[SourceResult], None] | None = None, embeds_dir: Path | None = None) -> PassSummary:
    """Fetch, extract, detect and store `sources`; after each commit queue what is due (notifications,
    failing/recovered notices); after the pass run the calendar tick once (answers that changed because a
    date passed: a `collect` from cron is the scheduler of a machine without the daemon), read every
    watched article (its own edits, and the status changes that touch it), then deliver what is queued
    and, with `feeds_dir` / `embeds_dir`, republish the feeds / the embeds and maps."""
    aftermath = Aftermath(lambda: config)
    summary = run_pass(config, store, sources, on_result=on_result, after_commit=aftermath.after_commit)
    summary.event_ids.extend(aftermath.calendar_tick(store))
    summary.event_ids.extend(aftermath.after_pass(store, feeds_dir, embeds_dir))
    return summary
