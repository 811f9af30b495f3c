"""The status map: a US tile grid (one square per state and DC) and a grid of the covered countries, as
server-rendered SVG with no script, coloured by the status in force for one substance, with a legend, a dot
for states with local rules on file and a link per tile to its dashboard page. Served at /map/us.svg and
/map/world.svg (`?substance=7-OH`), written by `publish --embeds DIR`, shown on the dashboard's home."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from typing import Any

from kratom_tracker import regions, rules
from kratom_tracker.values import StoredAssertion

# (column, row) of each state: the common 11×8 tile grid (AK top left, HI bottom left, FL bottom right).
US_TILES: dict[str, tuple[int, int]] = {
    "AK": (0, 0), "ME": (10, 0), "VT": (9, 1), "NH": (10, 1),
    "WA": (0, 2), "ID": (1, 2), "MT": (2, 2), "ND": (3, 2), "MN": (4, 2), "IL": (5, 2), "WI": (6, 2),
    "MI": (7, 2), "NY": (8, 2), "RI": (9, 2), "MA": (10, 2),
    "OR": (0, 3), "NV": (1, 3), "WY": (2, 3), "SD": (3, 3), "IA": (4, 3), "IN": (5, 3), "OH": (6, 3),
    "PA": (7, 3), "NJ": (8, 3), "CT": (9, 3),
    "CA": (0, 4), "UT": (1, 4), "CO": (2, 4), "NE": (3, 4), "MO": (4, 4), "KY": (5, 4), "WV": (6, 4),
    "VA": (7, 4), "MD": (8, 4), "DE": (9, 4),
    "AZ": (1, 5), "NM": (2, 5), "KS": (3, 5), "AR": (4, 5), "TN": (5, 5), "NC": (6, 5), "SC": (7, 5),
    "DC": (8, 5),
    "OK": (3, 6), "LA": (4, 6), "MS": (5, 6), "AL": (6, 6), "GA": (7, 6),
    "HI": (0, 7), "TX": (3, 7), "FL": (8, 7),
}
TILE, GAP = 54, 4
WORLD_COLUMNS = 8
FILL = {"banned": "#c0392b", "regulated": "#e0a030", "pending": "#5b7fd6", "legal": "#3c9a5f", "unknown": "#b8c0c6"}
INK = {"banned": "#ffffff", "regulated": "#1d2327", "pending": "#ffffff", "legal": "#ffffff", "unknown": "#1d2327"}
LEGEND_ORDER = ("banned", "regulated", "pending", "legal", "unknown")


class CachedReader:
    """What `rules.status_document` reads, from ONE read of the current assertions: a map asks for 51
    regions, a count claim for fifty states on many days."""

    def __init__(self, store: rules.StoreReader | None):
        self.rows: list[StoredAssertion] = store.current_assertions() if store is not None else []

    def current_assertions(self, jurisdictions: list[str] | None = None) -> list[StoredAssertion]:
        if jurisdictions is None:
            return list(self.rows)
        wanted = set(jurisdictions)
        return [a for a in self.rows if a.jurisdiction in wanted]

    def change_dates(self, before: date) -> list[date]:
        """The effective dates on file up to `before`, newest first."""
        days = {a.effective_date[:10] for a in self.rows if a.effective_date and a.effective_date[:10] <= before.isoformat()}
        out = []
        for day in sorted(days, reverse=True):
            try:
                out.append(date.fromisoformat(day))
            except ValueError:
                continue
        return out

    def local_parents(self) -> set[str]:
        """Subdivisions with rules of their own below them (a county or city ordinance)."""
        return {a.jurisdiction.partition("/")[0] for a in self.rows if "/" in a.jurisdiction}

    def countries(self) -> list[str]:
        """Countries with any assertion at or below them (the world view's coverage)."""
        found = {a.jurisdiction.partition("/")[0].split("-")[0] for a in self.rows
                 if a.jurisdiction != regions.INTERNATIONAL}
        return sorted(c for c in found if regions.is_valid_code(c))


@dataclass(frozen=True)
class Tile:
    code: str
    label: str
    name: str
    column: int
    row: int
    status: str
    local: bool
    detail: str


def us_tiles(reader: CachedReader, substance: str, as_of: date) -> list[Tile]:
    local = reader.local_parents()
    out = []
    for postal, (column, row) in US_TILES.items():
        code = f"US-{postal}"
        entry = _entry(reader, code, substance, as_of)
        out.append(Tile(code, postal, regions.display_name(code), column, row, str(entry.get("status") or "unknown"),
                        code in local, str(entry.get("detail") or "")))
    return out


def world_tiles(reader: CachedReader, substance: str, as_of: date) -> list[Tile]:
    out = []
    for index, code in enumerate(sorted(reader.countries(), key=regions.display_name)):
        entry = _entry(reader, code, substance, as_of)
        out.append(Tile(code, code, regions.display_name(code), index % WORLD_COLUMNS, index // WORLD_COLUMNS,
                        str(entry.get("status") or "unknown"), any(a.startswith(code + "-") for a in reader.local_parents())
                        or any(r.jurisdiction.startswith(code + "-") for r in reader.rows), str(entry.get("detail") or "")))
    return out


def _entry(reader: CachedReader, code: str, substance: str, as_of: date) -> dict[str, Any]:
    document = rules.status_document(regions.lookup(code), reader, as_of)
    return document["applicable"].get(substance) or rules.unknown_answer()


SVG_STYLE = "@media (prefers-color-scheme: dark){.ink{fill:#e6e9eb}.bg{fill:#15191c}}"


def render_svg(tiles: list[Tile], title: str, base_url: str, marker_label: str, standalone: bool = True) -> bytes:
    """The map as SVG: tiles, a legend, one link per tile. Only escaped text and presentation attributes (no
    style attribute), so it can be inlined in a page whose CSP refuses inline styles (`standalone=False`
    leaves out the one <style>, the dark-mode colours of a file viewed on its own)."""
    esc = html.escape
    columns = max((t.column for t in tiles), default=0) + 1
    rows = max((t.row for t in tiles), default=0) + 1
    width = max(columns * (TILE + GAP) + GAP, 560)
    grid_height = rows * (TILE + GAP) + GAP
    height = 34 + grid_height + 44
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="t" font-family="system-ui, sans-serif">',
        f"<title id=\"t\">{esc(title)}</title>",
        f"<style>{SVG_STYLE}</style>" if standalone else "",
        f'<rect class="bg" width="{width}" height="{height}" fill="{"#ffffff" if standalone else "none"}"/>',
        f'<text class="ink" x="{GAP}" y="22" font-size="15" font-weight="600" fill="#1d2327">{esc(title)}</text>',
    ]
    base = base_url.rstrip("/")
    for tile in tiles:
        x, y = GAP + tile.column * (TILE + GAP), 34 + GAP + tile.row * (TILE + GAP)
        status = tile.status if tile.status in FILL else "unknown"
        tip = f"{tile.name}: {status}" + (f" ({tile.detail})" if tile.detail else "") + (
            f"; {marker_label}" if tile.local else "")
        parts.append(
            f'<a href="{esc(base)}/?q={esc(tile.code)}" class="tile st-{status}" data-code="{esc(tile.code)}">'
            f"<title>{esc(tip)}</title>"
            f'<rect x="{x}" y="{y}" width="{TILE}" height="{TILE}" rx="4" fill="{FILL[status]}"/>'
            f'<text x="{x + TILE / 2}" y="{y + TILE / 2 + 5}" text-anchor="middle" font-size="14" font-weight="600" '
            f'fill="{INK[status]}">{esc(tile.label)}</text>'
            + (f'<circle class="local" cx="{x + TILE - 9}" cy="{y + 9}" r="5" fill="#ffffff" stroke="#1d2327" '
               'stroke-width="1.5"/>' if tile.local else "")
            + "</a>")
    legend_y = 34 + grid_height + 18
    x = GAP
    for status in LEGEND_ORDER:
        parts.append(f'<rect x="{x}" y="{legend_y - 11}" width="14" height="14" rx="2" fill="{FILL[status]}"/>'
                     f'<text class="ink" x="{x + 19}" y="{legend_y}" font-size="12" fill="#1d2327">{status}</text>')
        x += 19 + 9 * len(status) + 16
    parts.append(f'<circle cx="{x + 7}" cy="{legend_y - 4}" r="5" fill="#ffffff" stroke="#1d2327" stroke-width="1.5"/>'
                 f'<text class="ink" x="{x + 17}" y="{legend_y}" font-size="12" fill="#1d2327">{esc(marker_label)}</text>')
    parts.append(f'<text class="ink" x="{GAP}" y="{legend_y + 20}" font-size="11" fill="#5f6b73">Status in force; each tile links to its '
                 "evidence. Not legal advice.</text>")
    parts.append("</svg>\n")
    return "".join(parts).encode("utf-8")


def us_map(reader: CachedReader, substance: str, as_of: date, base_url: str, standalone: bool = True) -> bytes:
    title = f"{_substance_name(substance)} per US state, in force on {as_of.isoformat()}"
    return render_svg(us_tiles(reader, substance, as_of), title, base_url, "local rules on file", standalone)


def world_map(reader: CachedReader, substance: str, as_of: date, base_url: str, standalone: bool = True) -> bytes:
    title = f"{_substance_name(substance)} in the covered countries, in force on {as_of.isoformat()}"
    return render_svg(world_tiles(reader, substance, as_of), title, base_url, "rules below the country", standalone)


def _substance_name(substance: str) -> str:
    return "Kratom leaf" if substance == "leaf" else substance


def status_rows(reader: CachedReader, as_of: date, substances: tuple[str, ...]) -> list[dict[str, Any]]:
    """The table of all regions on the dashboard's home: every jurisdiction with assertions, its status per
    substance."""
    codes = sorted({a.jurisdiction for a in reader.rows}, key=lambda c: (c != "US", c.split("-")[0] != "US", c))
    out = []
    for code in codes:
        try:
            region = regions.lookup(code)
        except regions.UnknownRegion:
            continue
        document = rules.status_document(region, reader, as_of)
        out.append({"code": region.code, "name": region.name,
                    "status": {s: (document["applicable"].get(s) or rules.unknown_answer()) for s in substances}})
    return out


def parse_substance(text: str | None) -> str:
    """`leaf` or `7-OH` (any case; `7oh`, `kratom` accepted); ValueError otherwise."""
    from kratom_tracker.vocab import Substance

    key = (text or "leaf").strip().lower().replace("-", "").replace("_", "")
    table = {"leaf": "leaf", "kratom": "leaf", "7oh": "7-OH", "7hydroxymitragynine": "7-OH"}
    if key not in table:
        raise ValueError(f"substance {text!r}: use one of {', '.join(s.value for s in Substance.answered())}")
    return table[key]

