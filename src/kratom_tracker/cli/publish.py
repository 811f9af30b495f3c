"""`publish`: write the change feeds (every format, all and per region) into a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from kratom_tracker.cli import add_command, with_db, with_sources
from kratom_tracker.cli.console import EXIT_OK, open_reader
from kratom_tracker.config.loader import load
from kratom_tracker.config.model import DEFAULT_FEEDS, PublishSettings, sources_path


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from kratom_tracker.publish.formats import FORMATS

    formats = ", ".join(f.title for f in FORMATS.values())
    p = add_command(sub, "publish", f"Write the change feeds ({formats}; all and per region).",
                    "kratom-tracker publish --out site/feeds")
    with_sources(p)
    with_db(p)
    p.add_argument("--out", metavar="DIR", default=DEFAULT_FEEDS, help=f"output folder (default: {DEFAULT_FEEDS})")
    p.add_argument("--embeds", metavar="DIR", help="also write the embeds (embed/<REGION>.html|.json) and the maps "
                   "(map/us.svg, map/world.svg, map/us-7-OH.svg, ...) into DIR, for static hosting")
    return p


def publish_settings(args: argparse.Namespace) -> PublishSettings:
    """The `publish:` settings of sources.yaml, or the defaults when there is no sources.yaml."""
    path = sources_path(getattr(args, "sources", None))
    return load(path).publish if path.exists() else PublishSettings()


def run(args: argparse.Namespace) -> int:
    from kratom_tracker.publish import publish, publish_embeds

    settings = publish_settings(args)
    out_dir = Path(args.out)
    with open_reader(args) as store:
        report = publish(store, out_dir, settings)
        embeds = publish_embeds(store, Path(args.embeds), settings) if args.embeds else None
    if embeds is not None:
        print(f"published {len(embeds.paths)} embed and map files ({len(embeds.changed)} changed) to {args.embeds}/")
    print(f"published {report.feeds} feeds ({len(report.paths)} files, {len(report.changed)} changed, "
          f"{report.events} entries) to {out_dir}/")
    print(f"  {out_dir / 'all.atom'}")
    return EXIT_OK
