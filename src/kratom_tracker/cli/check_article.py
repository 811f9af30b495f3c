"""`check-article URL|FILE`: every claim an article makes about the law, with its verdict (consistent, stale,
contradicted, vague, unknown) against the status in force, and the citation behind each."""

from __future__ import annotations

import argparse
import json
from typing import Any

from kratom_tracker import regions
from kratom_tracker.cli import add_command, with_db, with_sources
from kratom_tracker.cli.console import EXIT_NOTHING_RAN, EXIT_OK, err, open_reader, parse_day

VERDICT_STYLES = {"consistent": "green", "stale": "yellow", "contradicted": "bold red", "vague": "magenta",
                  "unknown": "dim"}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "check-article",
                    "Check an article's statements about kratom law (legal in X, banned in N states, not "
                    "FDA-approved, 21+, check your local laws) against the status in force, with citations.",
                    "kratom-tracker check-article https://example.org/kratom-guide --regions Florida Texas")
    p.add_argument("article", metavar="URL|FILE", help="an http(s) URL (fetched politely) or an HTML or text file")
    p.add_argument("--regions", nargs="+", metavar="R", default=[],
                   help="the regions the article's readers are in (for generic advice: a status and an embed each)")
    p.add_argument("--as-of", metavar="DATE", help="judge against the law in force on this day (YYYY-MM-DD)")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    with_sources(p)
    with_db(p)
    return p


def run(args: argparse.Namespace) -> int:
    from kratom_tracker.articles.check import ArticleError, check_article, load_article

    audience = [regions.lookup(r) for r in args.regions]
    as_of = parse_day(args.as_of, "--as-of")
    config = _config(args)
    fetcher = None
    if args.article.lower().startswith(("http://", "https://")):
        from kratom_tracker.fetch.client import Fetcher

        fetcher = Fetcher.from_config(config)
    try:
        article = load_article(args.article, fetcher)
    except ArticleError as exc:
        err(f"error: {exc}")
        return EXIT_NOTHING_RAN
    finally:
        if fetcher is not None:
            fetcher.close()
    with open_reader(args) as store:
        document = check_article(article, store, as_of, audience, config.publish.base_url)
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print_report(document)
    return EXIT_OK


def _config(args: argparse.Namespace) -> Any:
    """The sources.yaml in use (its user agent, politeness and publish.base_url), or the defaults."""
    from pathlib import Path

    from kratom_tracker.config.loader import load
    from kratom_tracker.config.model import Config, sources_path

    path = sources_path(args.sources)
    return load(path) if path.exists() else Config(path=Path(path), sources=())


def print_report(document: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False)
    article = document["article"]
    console.print(Text(f"{article['title'] or article['source']}", style="bold"))
    console.print(Text(f"{article['source']} — {article['sentences']} sentences, judged on {document['as_of']}",
                       style="dim"))
    if document["places"]:
        console.print(Text("places named: " + ", ".join(f"{p['name']} ({p['code']})" for p in document["places"]),
                           style="dim"))
    if not document["claims"]:
        console.print("no statements about the law found")
    for claim in document["claims"]:
        line = Text()
        line.append(f"[{claim['verdict']}] ", style=VERDICT_STYLES.get(claim["verdict"], ""))
        line.append(f"“{claim['text'][:200]}”")
        console.print(line)
        console.print(Text(f"    {claim['explanation']}"))
        citation = claim.get("citation") or {}
        if citation.get("url"):
            console.print(Text(f"    cited: {citation['url']} (source: {citation.get('source_id')}, seen "
                               f"{citation.get('verified_on') or citation.get('observed_at')})", style="cyan"))
        suggestion = claim.get("suggestion") or {}
        for region in suggestion.get("regions", []):
            statuses = ", ".join(f"{s} {v['status']}" + (f" ({v['detail']})" if v.get("detail") else "")
                                 for s, v in region["status"].items())
            console.print(Text(f"    instead, for {region['name']}: {statuses}"))
            console.print(Text(f"    embed: {region['embed']}", style="dim"))
        if suggestion and not suggestion.get("regions"):
            console.print(Text(f"    {suggestion.get('hint')}; or embed the map: {suggestion.get('map')}", style="dim"))
    summary = ", ".join(f"{k} {v}" for k, v in document["summary"].items())
    console.print(Text(f"verdicts: {summary or 'none'}", style="bold"))
