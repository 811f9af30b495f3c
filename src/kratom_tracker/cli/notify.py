"""`notify list|test|digest`: the configured notification targets (names only, never their secrets), one
test message to a target now, and the digests that are due (queued and delivered, as after a pass)."""

from __future__ import annotations

import argparse

from kratom_tracker.cli import add_command, with_db, with_sources
from kratom_tracker.cli.console import EXIT_NOTHING_RAN, EXIT_OK, UsageError, database, load_config
from kratom_tracker.config.model import Config, NotifyTarget
from kratom_tracker.privacy import display_name


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "notify", "List the notification targets, send one a test message, or send the digests due.",
                    "kratom-tracker notify test florida-digest")
    actions = p.add_subparsers(dest="notify_command", metavar="ACTION")
    sp = add_command(actions, "list", "Each target: name, regions, kinds, digest (no URL: it holds secrets).",
                     "kratom-tracker notify list")
    with_sources(sp)
    sp = add_command(actions, "test", "Send one test message to a target now.",
                     "kratom-tracker notify test florida-digest")
    sp.add_argument("target", metavar="TARGET", help="a target's `name:` (see `notify list`) or an Apprise URL")
    with_sources(sp)
    sp = add_command(actions, "digest", "Queue the daily or weekly digests that are due and send the outbox.",
                     "kratom-tracker notify digest   # from cron, once a day")
    with_sources(sp)
    with_db(sp)
    p.set_defaults(notify_parser=p)
    return p


def run(args: argparse.Namespace) -> int:
    actions = {"list": _list, "test": _test, "digest": _digest}
    if args.notify_command not in actions:
        args.notify_parser.print_help()
        return 2
    return actions[args.notify_command](args)


def _describe(target: NotifyTarget) -> str:
    regions = ", ".join(target.regions) or "every region"
    kinds = ", ".join(target.kinds) or "every kind"
    how = f"{target.digest} digest" if target.digest else "one message per change"
    return f"{target.name}: {how}; {regions}; {kinds}"


def _list(args: argparse.Namespace) -> int:
    config = load_config(args)
    if not config.notify:
        print("no notify targets in the configuration")
    for target in config.notify:
        print(_describe(target))
    return EXIT_OK


def find_target(config: Config, text: str) -> NotifyTarget:
    """A configured target by its name, or a target made from an Apprise URL typed at the prompt."""
    for target in config.notify:
        if target.name == text:
            return target
    if "://" in text:
        return NotifyTarget(url=text, name=display_name(text))
    names = ", ".join(t.name for t in config.notify) or "none configured"
    raise UsageError(f"no notify target named {text!r}; targets: {names} (or give an Apprise URL)")


def _test(args: argparse.Namespace) -> int:
    from kratom_tracker.notify import send_test

    target = find_target(load_config(args), args.target)
    outcome = send_test(target)
    if outcome.ok:
        print(f"test message sent to {target.name}")
        return EXIT_OK
    print(f"test message to {target.name} failed: {outcome.error}")
    return EXIT_NOTHING_RAN


def _digest(args: argparse.Namespace) -> int:
    from kratom_tracker.notify import deliver_pending, queue_digests
    from kratom_tracker.store import Store, require_database

    config = load_config(args)
    if not any(t.digest for t in config.notify):
        raise UsageError("no notify target has `digest: daily` or `digest: weekly`")
    require_database(database(args))
    with Store(database(args)) as store:
        queued = queue_digests(config, store)
        report = deliver_pending(config, store)
    print(f"digests queued: {queued}; messages sent: {report.sent}, failed: {report.failed}, "
          f"waiting: {report.pending}")
    return EXIT_OK if not report.failed else EXIT_NOTHING_RAN
