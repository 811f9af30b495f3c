"""`articles`: the watched articles (`articles:` in sources.yaml) as the store last read them: when each was
read and last changed, why the last reading failed, and how many `article` events it has had. Nothing is
fetched; `collect` and the daemon read the articles (engine/watch.py)."""

from __future__ import annotations

import argparse
from typing import Any

from kratom_tracker.cli import add_command, with_db, with_sources
from kratom_tracker.cli.console import EXIT_OK, load_config, open_reader
from kratom_tracker.cli.output import Column, add_format, chosen, emit


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "articles", "The watched articles of sources.yaml: last reading, last edit, failures and "
                                     "their `article` events (nothing is fetched).",
                    "kratom-tracker articles --format csv > articles.csv")
    with_sources(p)
    with_db(p)
    add_format(p)
    return p


def _error_style(value: Any) -> str:
    return "red" if value else ""


COLUMNS = (Column("id"), Column("name"), Column("checked_at", "read"), Column("changed_at", "changed"),
           Column("events"), Column("last_error", "last error", _error_style), Column("location"))


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    with open_reader(args) as store:
        stored = {w.id: w for w in store.watched_articles()}
        events = {a.id: len(store.events(source_id=f"article:{a.id}", kind="article")) for a in config.articles}
    records = [_record(a.id, a.name, a.location, stored.get(a.id), events[a.id], True) for a in config.articles]
    records += [_record(w.id, w.title or w.id, w.location, w, 0, False)
                for w in stored.values() if w.id not in events]
    emit(records, chosen(args), COLUMNS, title=f"{len(config.articles)} watched articles ({config.path})")
    return EXIT_OK


def _record(article_id: str, name: str, location: str, state: Any, events: int, configured: bool) -> dict[str, Any]:
    return {"id": article_id, "name": name if configured else f"{name} (no longer in sources.yaml)",
            "location": location, "title": state.title if state else None,
            "checked_at": state.checked_at if state else None, "changed_at": state.changed_at if state else None,
            "sha256": state.sha256 if state else None, "last_error": state.last_error if state else None,
            "events": events, "configured": configured}
