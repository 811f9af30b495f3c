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
from kratom_tracker.vocab import Status

if TYPE_CHECKING:
    from kratom_tracker.store import Store

EXIT_OK, EXIT_NOTHING_RAN, EXIT_USAGE = 0, 1, 2

# Badge colours of the terminal, one per status (the dashboard's live in static/style.css).
STATUS_STYLES = {Status.BANNED: "bold red", Status.REGULATED: "yellow", Status.PENDING: "magenta",
                 Status.LEGAL: "green", Status.UNKNOWN: "dim"}


class UsageError(Exception):
    """Bad input from the person at the keyboard: a message and exit status 2."""


# -1 quiet (errors only), 0 normal, 1 verbose (-v), 2 debugging (-vv); set once by cli.main.
_verbosity = 0


def set_verbosity(level: int) -> None:
    """-q/-v for the whole run: notes on stderr, and the project's log lines (INFO at -v, DEBUG at -vv)."""
    global _verbosity
    _verbosity = level
    if level > 0:
        import logging

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger("kratom_tracker")
        root.handlers[:] = [handler]
        root.setLevel(logging.DEBUG if level > 1 else logging.INFO)
        root.propagate = False


def verbosity() -> int:
    return _verbosity


def err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def note(message: str) -> None:
    """Something worth knowing that is not an error (silenced by -q)."""
    if _verbosity >= 0:
        err(message)


def info(message: str) -> None:
    """A detail shown with -v only."""
    if _verbosity > 0:
        err(message)


def load_config(args: argparse.Namespace) -> Config:
    """The configuration named by --sources (or the environment, ./sources.yaml, the packaged list)."""
    path = sources_path(getattr(args, "sources", None))
    if is_packaged(path):
        note(f"using the packaged source list ({path}): no sources.yaml here; "
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


def open_reader(args: argparse.Namespace) -> Store:
    """The database named by --db, read-only; a missing or foreign file is a StoreError (exit 1)."""
    from kratom_tracker.store import Store

    return Store(database(args), readonly=True)
