"""`serve`: the HTTP API, the feeds and the dashboard, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import argparse
import socket
import sys

from kratom_tracker.cli import add_command, with_db, with_sources
from kratom_tracker.cli.console import EXIT_OK, UsageError, database
from kratom_tracker.config.loader import load
from kratom_tracker.config.model import sources_path
from kratom_tracker.store import require_database


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "serve", "Serve the HTTP API, the feeds and the dashboard.",
                    "kratom-tracker serve --port 8080   # then open http://127.0.0.1:8080/")
    with_sources(p)
    with_db(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    p.add_argument("--feeds", metavar="DIR", help="ignored (kept for old scripts): the server renders the feeds "
                                                  "from the database, the same bytes `publish` writes")
    p.add_argument("--check-private-urls", action="store_true",
                   help="let POST /api/check fetch URLs on loopback, link-local and private addresses (default: "
                        "refused, so callers cannot make the server probe its own network)")
    return p


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from kratom_tracker.web.app import ServerSettings, create_app

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: use a port from 1 to 65535")
    path = sources_path(getattr(args, "sources", None))
    settings = ServerSettings(db=database(args), config=load(path) if path.exists() else None,
                              check_private_urls=args.check_private_urls)
    require_database(settings.db)  # refuse at start: a server over nothing would only answer 503s
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}, reachable from other machines", file=sys.stderr)
    print(f"kratom-tracker: dashboard at http://{args.host}:{args.port}/ , feeds at /feeds/all.atom , "
          f"API description at /openapi.json", file=sys.stderr)
    _check_can_listen(args.host, args.port)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return EXIT_OK


def _check_can_listen(host: str, port: int) -> None:
    """Fail with a clear message (exit 2) rather than uvicorn's log line when the port is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
