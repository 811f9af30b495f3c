"""The command line (the contract in DESIGN.md): one module per command, each with `add_parser` (its
options, help and an example) and `run` (the command). This package is the top of the layers: nothing
imports it. Exit: 0 the work ran, 1 nothing could run, 2 a usage or configuration error."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from kratom_tracker import __version__
from kratom_tracker.cli.console import EXIT_NOTHING_RAN, EXIT_USAGE, UsageError, err, set_verbosity
from kratom_tracker.config.model import ConfigError

# The commands in the order `--help` lists them; each is the module of that name in this package.
COMMANDS = ("collect", "changes", "status", "evidence", "check-article", "articles", "history", "export", "publish",
            "schedule", "serve", "sources", "notify", "gc", "init", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kratom-tracker",
        description="Watch public sources on kratom and 7-OH law per jurisdiction, record every meaningful "
                    "change in SQLite and publish change feeds.",
        epilog="Defaults: --sources sources.yaml (else the packaged list), --db data/tracker.db "
               "(or KRATOM_TRACKER_SOURCES, KRATOM_TRACKER_DB). Example: kratom-tracker status 'Tampa, Florida'",
        allow_abbrev=False,  # `--source ID` must be an error, not a silent `--sources ID`
    )
    parser.add_argument("--version", action="version", version=f"kratom-tracker {__version__}")
    with_verbosity(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")
        command = module.add_parser(sub)
        command.set_defaults(handler=module.run)
    return parser


def add_command(sub: argparse._SubParsersAction, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
    """A subcommand whose --help shows what it does and one example to copy, with -v/-q."""
    parser = sub.add_parser(name, help=help_text, description=help_text, epilog=f"example: {example}",
                            allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter)
    with_verbosity(parser)
    return parser


def with_verbosity(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """-v/--verbose (repeatable: -vv) and -q/--quiet, before or after the command name. Below the top
    parser the defaults are SUPPRESS, so `kratom-tracker -q collect` is not undone by collect's default."""
    default_verbose, default_quiet = (0, False) if top else (argparse.SUPPRESS, argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="count", default=default_verbose,
                        help="more on stderr: -v logs each step, -vv debugging detail")
    parser.add_argument("-q", "--quiet", action="store_true", default=default_quiet,
                        help="nothing on stderr but errors (no progress, no notes)")


def with_sources(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sources", metavar="FILE",
                        help="sources.yaml to use (default: ./sources.yaml, else the packaged list)")


def with_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="FILE", help="SQLite database (default: data/tracker.db)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    if args.verbose and args.quiet:
        err("error: -v/--verbose and -q/--quiet contradict each other; pick one")
        return EXIT_USAGE
    set_verbosity(-1 if args.quiet else args.verbose)
    try:
        return _run(args)
    except ConfigError as exc:
        err("configuration refused; nothing was run:")
        for problem in exc.problems:
            err(f"  {problem}")
        return EXIT_USAGE
    except UsageError as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:  # `... | head` closed the pipe: stop quietly, as other Unix tools do
        _silence_stdout()
        return EXIT_BROKEN_PIPE


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool that a closed pipe stopped


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit raises no second BrokenPipeError."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced by something without a descriptor
        pass


def _run(args: argparse.Namespace) -> int:
    from kratom_tracker.regions import UnknownRegion
    from kratom_tracker.store import DatabaseFailure, StoreError

    try:
        return args.handler(args)
    except UnknownRegion as exc:
        raise UsageError(str(exc)) from None
    except StoreError as exc:
        err(f"error: {exc}")
        return EXIT_NOTHING_RAN
    except DatabaseFailure as exc:  # disk full, a damaged page, an I/O error: what was written is committed
        err(f"error: the database failed: {exc}. Nothing of the failed step was written; free space or "
            "restore the file, then run again.")
        return EXIT_NOTHING_RAN
    except OSError as exc:  # e.g. no space left for the feeds
        where = f" ({exc.filename})" if exc.filename else ""
        err(f"error: {exc.strerror or exc}{where}")
        return EXIT_NOTHING_RAN
