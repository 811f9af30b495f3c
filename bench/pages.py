"""Generated agency-like pages for the benchmark, and the edit step that changes some of them.

Each page: a navigation block of ~40 links, a `<main>` with a status line and 20-60 paragraphs ending in
"Content current as of <date>" (inside `<main>`, as on fda.gov, so the ignore rule is really exercised),
and a site footer. Sizes fall between 8 and 24 KB, about 15 KB on average. Everything is derived from the
page number, so a regenerated tree is byte-identical."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path

BASE_MTIME = 1_767_225_600  # 2026-01-01T00:00:00Z: generated pages look old, so any edit gets a newer date
_WORD_TEXT = (
    "kratom mitragynine hydroxymitragynine consumer protection act label age limit retail sale product "
    "department health agency advisory public notice rule adopted proposed hearing comment period schedule "
    "controlled substance enforcement distributor vendor county state federal guidance warning import alert "
    "testing adulteration potency serving marketing minors registration penalty statute amendment session "
    "legislature committee report review board pharmacy poison control emergency data safety"
)
WORDS = tuple(_WORD_TEXT.split())
STATUSES = ("Status: regulated under the state consumer protection act",
            "Status: sale to persons under 21 prohibited",
            "Status: 7-OH products banned; leaf products regulated",
            "Status: no state rule in force; federal advisory applies",
            "Status: proposed rule open for comment")
PAGE_DIR = "p"


def page_name(index: int) -> str:
    return f"{PAGE_DIR}/{index:05d}.html"


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    return " ".join(words).capitalize() + "."


def _paragraph_count(index: int) -> int:
    # 20..60 paragraphs of ~280 bytes, skewed so the average page is about 15 KB.
    rng = random.Random(index * 7919 + 1)
    return min(60, max(20, int(rng.triangular(20, 60, 36))))


def render(index: int, revision: int = 0, footer_date: str = "01/02/2026") -> str:
    """The page `index`; `revision` > 0 changes one paragraph of `<main>` (a real change)."""
    rng = random.Random(index)
    nav = "\n".join(f'      <li><a href="/section/{index % 97}/{n}">{rng.choice(WORDS).title()} '
                    f'{rng.choice(WORDS)}</a></li>' for n in range(40))
    paragraphs = [f"    <p>{' '.join(_sentence(rng) for _ in range(3))}</p>" for _ in range(_paragraph_count(index))]
    status = STATUSES[index % len(STATUSES)]
    if revision:
        status = STATUSES[(index + revision) % len(STATUSES)]
        paragraphs[len(paragraphs) // 2] = f"    <p>Revision {revision}: the rule was amended; see the notice.</p>"
    body = "\n".join(paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Kratom rules, page {index}</title>
  <style>body {{ font-family: sans-serif; }}</style>
</head>
<body>
  <header><a href="/">Department of Health</a></header>
  <nav aria-label="site">
    <ul>
{nav}
    </ul>
  </nav>
  <main id="content">
    <h1>Kratom and 7-OH: rules for region {index}</h1>
    <p class="status">{status}</p>
{body}
    <div class="updated">Content current as of {footer_date}</div>
  </main>
  <footer><p>Department of Health, page {index}. <a href="/privacy">Privacy</a></p></footer>
</body>
</html>
"""


def write_pages(root: Path, count: int) -> None:
    """(Re)write `count` pages under `root`, each with the same old modification time."""
    (root / PAGE_DIR).mkdir(parents=True, exist_ok=True)
    for index in range(count):
        path = root / page_name(index)
        path.write_text(render(index), encoding="utf-8")
        os.utime(path, (BASE_MTIME, BASE_MTIME))


@dataclass
class EditPlan:
    """Which pages an edit step touches, by kind; only `changed` should be reported by a tracker."""

    changed: list[int] = field(default_factory=list)
    footer_only: list[int] = field(default_factory=list)
    touched: list[int] = field(default_factory=list)


def plan_edits(count: int, share: float = 0.05) -> EditPlan:
    """A deterministic spread: `share` of the pages in each kind, disjoint, across the whole range."""
    per_kind = max(1, int(count * share))
    rng = random.Random(count)
    chosen = rng.sample(range(count), min(count, per_kind * 3))
    return EditPlan(changed=sorted(chosen[:per_kind]), footer_only=sorted(chosen[per_kind:2 * per_kind]),
                    touched=sorted(chosen[2 * per_kind:]))


def apply_edits(root: Path, plan: EditPlan, when: float) -> None:
    """Real change in `<main>`, footer date only, or same bytes with a new modification time."""
    for index in plan.changed:
        _write(root / page_name(index), render(index, revision=1), when)
    for index in plan.footer_only:
        _write(root / page_name(index), render(index, footer_date="11/20/2026"), when)
    for index in plan.touched:
        os.utime(root / page_name(index), (when, when))


def _write(path: Path, text: str, when: float) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (when, when))
