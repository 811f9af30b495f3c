"""lxml.html against BeautifulSoup (lxml parser) on the `page` hot path: parse, select `main`, text lines.

    .venv/bin/python bench/html_engines.py [--pages 1000]

The same generated agency pages as bench/run.py (pages.py, ~15 KB each). Prints the time per page of each
engine and the ratio; the figure decides whether the `page` extractor may stay on lxml.html (README,
"Dependency notes"). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bs4 import BeautifulSoup  # noqa: E402
from pages import render  # noqa: E402

from kratom_tracker.extractors._html import parse_html, select, text_lines  # noqa: E402


def with_lxml(text: str) -> list[str]:
    return text_lines(select(parse_html(text), "main"))


def with_soup(text: str) -> list[str]:
    soup = BeautifulSoup(text, "lxml")
    lines: list[str] = []
    for part in soup.select("main"):
        for block in part.find_all(["p", "h1", "h2", "h3", "li", "td", "th", "div"]):
            if block.find(["p", "h1", "h2", "h3", "li", "td", "th", "div"]) is None:
                line = " ".join(block.get_text(" ").split())
                if line:
                    lines.append(line)
    return lines


def timed(engine, documents: list[str], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for text in documents:
            engine(text)
        best = min(best, time.perf_counter() - started)
    return best / len(documents)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    args = parser.parse_args()
    documents = [render(i) for i in range(args.pages)]
    lxml_s, soup_s = timed(with_lxml, documents), timed(with_soup, documents)
    print(f"{args.pages} pages of {sum(map(len, documents)) // args.pages // 1024} KB on average")
    print(f"lxml.html:            {lxml_s * 1000:.2f} ms per page")
    print(f"BeautifulSoup (lxml): {soup_s * 1000:.2f} ms per page ({soup_s / lxml_s:.1f}x)")
    print(f"on a 1000-page first pass: +{(soup_s - lxml_s) * 1000:.2f} s of CPU with BeautifulSoup")
    return 0


if __name__ == "__main__":
    sys.exit(main())
