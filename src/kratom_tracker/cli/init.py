"""`init [DIR]`: an editable copy of the packaged sources.yaml (never overwriting one)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kratom_tracker import shipped
from kratom_tracker.cli import add_command
from kratom_tracker.cli.console import EXIT_NOTHING_RAN, EXIT_OK, UsageError, err
from kratom_tracker.config.loader import load


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "init", "Write an editable copy of the packaged sources.yaml into DIR (default: here). "
                                 "Its baseline paths keep finding the packaged tables unless you copy them next "
                                 "to it.", "kratom-tracker init ~/kratom && cd ~/kratom && kratom-tracker sources check")
    p.add_argument("dir", metavar="DIR", nargs="?", default=".", help="folder to write sources.yaml into")
    return p


def run(args: argparse.Namespace) -> int:
    target = Path(args.dir) / "sources.yaml"
    if target.exists():
        raise UsageError(f"{target} exists already; not overwritten (move it away first)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(shipped.SOURCES.read_bytes())
    except OSError as exc:
        err(f"error: cannot write {target}: {exc.strerror or exc}")
        return EXIT_NOTHING_RAN
    print(f"wrote {target} ({len(load(target).sources)} sources); edit it, then "
          f"`kratom-tracker sources check --sources {target}`")
    print(f"the cited baseline is read from the package ({shipped.DATA}); copy a CSV to "
          f"{target.parent / 'data'}/ to edit it")
    return EXIT_OK
