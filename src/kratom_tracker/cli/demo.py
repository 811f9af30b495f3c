"""`kratom-tracker demo`: the whole flow offline. Recorded documents (demo_data/) are served from
127.0.0.1, collected once as "before", swapped for their "after" versions and collected again; the
changes found are printed and the feeds published. The project's cited baseline sources (local files)
are collected too, so `status` answers afterwards.

The demo writes into a database of its own (data/demo/tracker.db, feeds in data/demo/feeds/) unless
`--db` names one: its made-up changes must never land among the real ones of data/tracker.db."""

from __future__ import annotations

import argparse
import hashlib
import shlex
import shutil
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

from kratom_tracker import extractors
from kratom_tracker.cli import add_command
from kratom_tracker.cli.changes import print_events
from kratom_tracker.cli.collect import collect_with_progress, print_summary
from kratom_tracker.config.loader import load, loads
from kratom_tracker.config.model import Config, sources_path
from kratom_tracker.store import Store

DEMO_PREFIX = "demo-"
DEMO_DB = Path("data/demo/tracker.db")
DEMO_FEEDS = Path("data/demo/feeds")


@dataclass(frozen=True)
class DemoDocument:
    path: str
    content_type: str
    before: str
    after: str


DOCUMENTS = (
    DemoDocument("/wiki/Mitragyna_speciosa", "text/html; charset=utf-8", "wikipedia_2017.html",
                 "wikipedia_current.html"),
    DemoDocument("/api/v1/documents.json", "application/json; charset=utf-8", "federal_register_2016-09.json",
                 "federal_register_2016-10.json"),
)


class DemoSite:
    """Serves the demo documents; `phase` picks the before or after version of each."""

    def __init__(self) -> None:
        self.phase = "before"
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> DemoSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                if path == "/robots.txt":
                    return self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
                document = next((d for d in DOCUMENTS if d.path == path), None)
                if document is None:
                    return self._send(404, b"not found", "text/plain")
                body = _demo_bytes(document.before if site.phase == "before" else document.after)
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, b"", None, etag)
                return self._send(200, body, document.content_type, etag)

            def _send(self, status: int, body: bytes, content_type: str | None, etag: str | None = None) -> None:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

        return Handler


def _demo_bytes(name: str) -> bytes:
    return resources.files("kratom_tracker").joinpath("demo_data", name).read_bytes()


def demo_config(base: str, workdir: Path) -> Config:
    """The demo's own sources, pointing at the local site and at a baseline file in `workdir`."""
    sources = [
        f"""  - id: demo-wikipedia
    name: Wikipedia — Mitragyna speciosa (demo)
    note: Lead of the Wikipedia article, served from a recorded copy; two real revisions.
    type: page
    url: {base}/wiki/Mitragyna_speciosa
    jurisdiction: international
    select: "#content"
    tags: [demo, secondary]
""",
        """  - id: demo-baseline
    name: Cited baseline (demo, 2016)
    note: A one-row baseline that flips when DEA withdrew its 2016 notice of intent.
    type: baseline
    path: baseline.csv
    jurisdiction: US
    tags: [demo]
""",
    ]
    if "federal-register" in extractors.known_types():
        sources.append(f"""  - id: demo-federal-register
    name: Federal Register — kratom documents (demo)
    note: Federal Register API answers in the recorded shape, with the real 2016 DEA documents.
    type: federal-register
    url: {base}/api/v1/documents.json
    term: "kratom OR mitragynine OR 7-hydroxymitragynine"
    jurisdiction: US
    tags: [demo, federal]
""")
    text = ("politeness:\n  per_host_delay: 0s\n  robots: true\nfetch:\n  retries: 0\nsources:\n" + "".join(sources))
    return loads(text, workdir / "demo-sources.yaml")


def _baseline_config(args: argparse.Namespace) -> Config | None:
    path = sources_path(args.sources)
    if not path.exists():
        return None
    config = load(path)
    local = tuple(s for s in config.sources if s.type == "baseline")
    return Config(path=config.path, sources=local, politeness=config.politeness) if local else None


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "demo", "Offline demo: serve recorded documents on 127.0.0.1, collect twice (before and "
                                 "after a real change), print the changes and publish the feeds.",
                    "kratom-tracker demo && kratom-tracker changes")
    # Not with_db: the demo never defaults to the production database (nor to KRATOM_TRACKER_DB).
    p.add_argument("--db", metavar="FILE", help=f"SQLite database (default: {DEMO_DB}, the demo's own)")
    p.add_argument("--out", metavar="DIR", help=f"where to publish the feeds (default: {DEMO_FEEDS})")
    p.add_argument("--sources", metavar="FILE",
                   help="also load the cited baseline sources of this sources.yaml (default: sources.yaml, "
                        "else the packaged list)")
    return p


def run(args: argparse.Namespace) -> int:

    baseline = _baseline_config(args)  # validated before anything runs
    db, out_dir = demo_paths(args)
    print(f"Demo database: {db}" + ("" if args.db else " (the demo's own; `--db FILE` picks another)"))
    with tempfile.TemporaryDirectory(prefix="kratom-demo-") as tmp, DemoSite() as site, Store(db) as store:
        workdir = Path(tmp)
        _write_baseline(workdir, "baseline_2016-09.csv")
        config = demo_config(site.base, workdir)
        store.forget_sources(DEMO_PREFIX)  # the same changes every time (event ids never repeat)
        if baseline is not None:
            print(f"Loading the cited baseline from {baseline.path} ({len(baseline.sources)} sources)…")
            print_summary(collect_with_progress(baseline, store, list(baseline.sources), quiet=True))
        print(f"\nPass 1 (before): recorded documents served at {site.base}")
        print_summary(collect_with_progress(config, store, list(config.sources), quiet=True))
        site.phase = "after"
        _write_baseline(workdir, "baseline_2016-10.csv")
        print("\nPass 2 (after): the same URLs now serve the later versions")
        summary = collect_with_progress(config, store, list(config.sources), quiet=True)
        print_summary(summary)
        events = store.events_by_id(summary.event_ids)[::-1]
        print(f"\n{len(events)} change(s) found:\n")
        print_events(events)
        published = _publish(store, out_dir, config)
    print_next_steps(db, out_dir, published)
    return 0 if events else 1


def demo_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """The database and feeds folder of this demo run: `--db` and `--out` when given, else the demo's own."""
    return (Path(args.db) if args.db else DEMO_DB), (Path(args.out) if args.out else DEMO_FEEDS)


def print_next_steps(db: Path, out_dir: Path, published: bool) -> None:
    """Commands to try, each pointed at the demo database (without --db they would read the real one)."""
    on_db = f"--db {shlex.quote(str(db))}"
    print(f"Next (these read the demo database {db}):")
    print(f"  kratom-tracker changes {on_db}  # every recorded change")
    print(f'  kratom-tracker status "Sarasota County, Florida" {on_db}  # what applies in a place')
    if published:
        print(f"  feeds written to {out_dir}/ (all.atom, all.rss, all.json, region/…)")
        print(f"  kratom-tracker serve {on_db}"
              "  # dashboard and API at http://127.0.0.1:8080/")


def _write_baseline(workdir: Path, name: str) -> None:
    with resources.as_file(resources.files("kratom_tracker").joinpath("demo_data", name)) as source:
        shutil.copyfile(source, workdir / "baseline.csv")


def _publish(store: Store, out_dir: Path, config: Config) -> bool:
    from kratom_tracker.publish import publish

    publish(store, out_dir, config.publish)
    return True
