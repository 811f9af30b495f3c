"""Jurisdiction codes: ISO 3166-1 countries, ISO 3166-2 subdivisions (from pycountry), localities
written `SUBDIVISION/slug`, and the pseudo-jurisdiction `international`."""

from __future__ import annotations

import re
from functools import lru_cache

INTERNATIONAL = "international"
_LOCALITY_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@lru_cache(maxsize=4096)
def is_valid_code(code: str) -> bool:
    """True for `US`, `US-FL`, `US-FL/sarasota-county` and `international` (exact case)."""
    if code == INTERNATIONAL:
        return True
    parent, slash, slug = code.partition("/")
    if slash:
        return bool(_LOCALITY_SLUG.match(slug)) and "/" not in slug and _is_iso_code(parent)
    return _is_iso_code(code)


def _is_iso_code(code: str) -> bool:
    import pycountry

    if "-" in code:
        return pycountry.subdivisions.get(code=code) is not None
    return len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None


def chain(code: str) -> list[str]:
    """The jurisdiction and every level above it, top first: US, US-FL, US-FL/sarasota-county."""
    if code == INTERNATIONAL:
        return [code]
    levels: list[str] = []
    parent, slash, _ = code.partition("/")
    country = parent.split("-")[0]
    levels.append(country)
    if parent != country:
        levels.append(parent)
    if slash:
        levels.append(code)
    return levels


def covers(region: str, jurisdiction: str) -> bool:
    """Does `region` include `jurisdiction` (itself or anything below it)?"""
    return jurisdiction == region or jurisdiction.startswith(region + ("/" if "-" in region else "-")) or (
        "-" not in region and "/" not in region and jurisdiction.startswith(region + "/")
    )


def sql_ranges(region: str) -> list[tuple[str, str]]:
    """Half-open [low, high) text ranges of the codes strictly below `region`, for indexed queries."""
    if region == INTERNATIONAL:
        return []
    if "/" in region:
        return []
    if "-" in region:  # a subdivision: its localities
        return [(region + "/", region + "0")]  # '0' follows '/' in ASCII
    return [(region + "-", region + "."), (region + "/", region + "0")]  # '.' follows '-'


class UnknownRegion(ValueError):
    """A region argument that names no known jurisdiction; carries close matches for the message."""

    def __init__(self, text: str, suggestions: list[str]):
        self.text = text
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown region {text!r}{hint}")


def resolve(text: str) -> str:
    """A region argument (code in any case) to its canonical code. Names are resolved by `lookup`."""
    candidate = text.strip()
    if candidate.lower() == INTERNATIONAL:
        return INTERNATIONAL
    parent, slash, slug = candidate.partition("/")
    code = parent.upper() + (slash + slug.lower() if slash else "")
    if is_valid_code(code):
        return code
    raise UnknownRegion(text, [])


class Region:
    """A resolved region: its canonical code and a display name."""

    __slots__ = ("code", "name")

    def __init__(self, code: str, name: str):
        self.code = code
        self.name = name

    def __repr__(self) -> str:
        return f"Region({self.code!r}, {self.name!r})"


def display_name(code: str) -> str:
    import pycountry

    if code == INTERNATIONAL:
        return "International"
    parent, slash, slug = code.partition("/")
    if slash:
        return slug.replace("-", " ").title() + ", " + display_name(parent)
    if "-" in code:
        sub = pycountry.subdivisions.get(code=code)
        return sub.name if sub else code
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or (country.name if country else code)


def lookup(text: str) -> Region:
    """A region argument to a Region; raises UnknownRegion."""
    code = resolve(text)
    return Region(code, display_name(code))
