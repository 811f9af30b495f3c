"""`schedule`: the daemon as a process: one per database (an flock on `<db>.lock`), SIGHUP reloads
sources.yaml (a bad file is refused and the old configuration keeps running), SIGTERM/SIGINT let runs in
flight finish their transaction, publish what is pending and exit 0. One log line per run on stderr."""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import IO

from kratom_tracker.cli import add_command, with_db, with_sources
from kratom_tracker.cli.console import EXIT_NOTHING_RAN, EXIT_OK, database, load_config
from kratom_tracker.config.loader import load
from kratom_tracker.config.model import DEFAULT_FEEDS, ConfigError
from kratom_tracker.engine.scheduler import Daemon

log = logging.getLogger("kratom_tracker.scheduler")


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "schedule", "Run every source on its own interval until stopped (SIGTERM/SIGINT).",
                    "kratom-tracker schedule --feeds /var/www/feeds   # SIGHUP reloads sources.yaml")
    with_sources(p)
    with_db(p)
    p.add_argument("--feeds", metavar="DIR", default=DEFAULT_FEEDS,
                   help=f"where feeds are republished after changes (default: {DEFAULT_FEEDS})")
    p.add_argument("--embeds", metavar="DIR", help="also republish the embeds and maps (embed/, map/) into DIR "
                                                   "after changes, for static hosting (default: not written)")
    return p


class LockTaken(Exception):
    pass


def acquire_lock(db: Path) -> IO[str]:
    """Hold an exclusive flock on `<db>.lock` for the life of the process (released by the kernel when
    the process ends, however it ends)."""
    lock_path = db.with_name(db.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held open on purpose
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise LockTaken(f"another scheduler is already running on {db}"
                        + (f" (pid {holder})" if holder else "") + f"; lock file {lock_path}") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    root = logging.getLogger("kratom_tracker")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
    # APScheduler logs two lines per run at INFO; ours is the one line. Keep its warnings.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").addHandler(handler)


def try_reload(daemon: Daemon, path: Path) -> bool:
    """Validate `path` first; apply it only when it is valid, else log why and keep the old config."""
    try:
        config = load(path)
    except ConfigError as exc:
        log.error("SIGHUP: %s refused; the previous configuration keeps running:", path)
        for problem in exc.problems:
            log.error("  %s", problem)
        return False
    daemon.reload(config)
    return True


def run(args: argparse.Namespace) -> int:
    config = load_config(args)  # ConfigError → exit 2 in cli.main
    db = database(args)
    feeds = args.feeds or DEFAULT_FEEDS
    if not any(s.enabled for s in config.sources):
        print(f"error: no enabled sources in {config.path}; nothing to schedule", file=sys.stderr, flush=True)
        return EXIT_NOTHING_RAN
    try:
        lock = acquire_lock(db)
    except LockTaken as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return EXIT_NOTHING_RAN
    except OSError as exc:
        print(f"error: cannot create the lock file next to {db}: {exc.strerror or exc}", file=sys.stderr, flush=True)
        return EXIT_NOTHING_RAN
    _setup_logging()
    asked = {"stop": False, "reload": False}

    def on_stop(signum: int, _frame: object) -> None:
        if asked["stop"]:  # a second SIGTERM/Ctrl-C: leave now (each source's writes are one transaction)
            os.write(2, b"second stop signal: exiting at once\n")
            os._exit(128 + signum)
        asked["stop"] = True

    def on_hup(signum: int, _frame: object) -> None:
        asked["reload"] = True

    previous = {sig: signal.signal(sig, on_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hup)
    try:
        daemon = Daemon(config, db, Path(feeds), Path(args.embeds) if args.embeds else None)
        daemon.start()
        while not asked["stop"] and daemon.failure is None:
            time.sleep(0.2)  # signal handlers only set flags; the work happens here, in the main thread
            if asked["reload"] and not asked["stop"]:
                asked["reload"] = False
                log.info("SIGHUP: reloading %s", config.path)
                try_reload(daemon, config.path)
        log.info("stop requested; finishing the runs in flight")
        daemon.stop()
        if daemon.failure is not None:
            print(f"error: {daemon.failure}", file=sys.stderr, flush=True)
            return EXIT_NOTHING_RAN
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        lock.close()
    return EXIT_OK
