"""Jurisdiction codes: ISO 3166-1 countries, ISO 3166-2 subdivisions (from pycountry), localities
written `SUBDIVISION/slug` (defined in data/localities.csv), and the pseudo-jurisdiction `international`.

How a region argument is read (`lookup`), first rule that matches wins:
1. a code in any case: `US`, `usa` (alpha-3), `us-fl`, `US-FL/sarasota-county`, `international`;
   a two-letter code is always the country (`GA` is Gabon, `CA` Canada, `IN` India): codes beat
   abbreviations, so a code never changes meaning;
2. a US state or DC postal abbreviation that is not a country code (`FL`, `NY`, `TX`); its ISO form
   (`US-GA`) or its name reaches a state whose abbreviation is taken by a country;
3. a name (case, accents and punctuation ignored) of a country, a subdivision or a locality, or a
   locality alias. Countries and US subdivisions are searched first, other countries' subdivisions
   only when that finds nothing, so `Florida` is US-FL rather than Uruguay's department; a name that
   is both a country and a US state (`Georgia`) is refused as ambiguous with both codes offered;
4. `PLACE, PARENT` or `PLACE PARENT` (`Sarasota County, Florida`, `Sarasota County FL`,
   `Ontario, Canada`): the place is looked up below the parent only.
Anything else is UnknownRegion with the closest names and codes (difflib)."""

from __future__ import annotations

import csv
import difflib
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kratom_tracker import shipped

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


def level(code: str) -> str:
    """How a source's jurisdiction is counted in coverage figures: local, federal (US), state (US-XX) or
    international (any other country, its subdivisions, and the `international` pseudo-jurisdiction)."""
    if "/" in code:
        return "local"
    if code == "US":
        return "federal"
    return "state" if code.startswith("US-") else "international"


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

    def __init__(self, text: str, suggestions: list[str], reason: str = "unknown region"):
        self.text = text
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"{reason} {text!r}{hint}")


class AmbiguousRegion(UnknownRegion):
    """A name that fits several places equally well (`Georgia`); the suggestions are all of them."""

    def __init__(self, text: str, candidates: list[str]):
        super().__init__(text, candidates, reason="ambiguous region")


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


# -- localities ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Locality:
    code: str  # US-FL/sarasota-county
    name: str  # Sarasota County
    aliases: tuple[str, ...] = ()

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
        out.append(Locality(code, name, aliases))
    return tuple(out)


# -- names -----------------------------------------------------------------------------------------

# Common names that ISO does not list; everything else comes from pycountry.
_ALIASES = {
    "usa": "US", "u s a": "US", "us": "US", "u s": "US", "united states": "US", "america": "US",
    "united states of america": "US", "federal": "US", "uk": "GB", "u k": "GB", "britain": "GB",
    "great britain": "GB", "holland": "NL", "the netherlands": "NL", "czech republic": "CZ",
    "south korea": "KR", "korea": "KR", "russia": "RU", "turkey": "TR", "washington dc": "US-DC",
    "washington d c": "US-DC", "dc": "US-DC", "d c": "US-DC",
}


def normalize(text: str) -> str:
    """Case, accents, punctuation and spacing folded: `Türkiye` ~ `turkiye`, `St. Louis` ~ `st louis`."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


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
                primary.setdefault(normalize(value), set()).add(country.alpha_2)
    for alias, code in _ALIASES.items():
        primary.setdefault(alias, set()).add(code)
    us_postal: dict[str, str] = {}
    for sub in pycountry.subdivisions:
        target = primary if sub.country_code == "US" else secondary
        target.setdefault(normalize(sub.name), set()).add(sub.code)
        if sub.country_code == "US":
            suffix = sub.code.split("-", 1)[1]
            if pycountry.countries.get(alpha_2=suffix) is None:
                us_postal[suffix] = sub.code
    return _Index({k: frozenset(v) for k, v in primary.items()},
                  {k: frozenset(v) for k, v in secondary.items()}, us_postal)


def _locality_names(localities: tuple[Locality, ...]) -> dict[str, frozenset[str]]:
    names: dict[str, set[str]] = {}
    for locality in localities:
        for name in (locality.name, *locality.aliases):
            names.setdefault(normalize(name), set()).add(locality.code)
    return {k: frozenset(v) for k, v in names.items()}


def _match_name(key: str, localities: tuple[Locality, ...], text: str) -> str | None:
    """The one code a normalized name stands for, None when nothing matches; AmbiguousRegion when
    several places match at the same tier."""
    index = _iso_index()
    for table in (index.primary, _locality_names(localities), index.secondary):
        codes = table.get(key)
        if codes:
            if len(codes) > 1:
                raise AmbiguousRegion(text, [_label(c) for c in sorted(codes)])
            return next(iter(codes))
    return None


def within(parent: str, place: str, localities: tuple[Locality, ...] = ()) -> str | None:
    """`place` looked up below `parent` only: a locality of a subdivision or a subdivision of a country."""
    import pycountry

    key = normalize(place)
    for locality in localities:
        if covers(parent, locality.code) and key in {normalize(n) for n in (locality.name, *locality.aliases)}:
            return locality.code
    if "-" not in parent and "/" not in parent:
        for sub in pycountry.subdivisions.get(country_code=parent) or []:
            if normalize(sub.name) == key:
                return sub.code
    return None


# A region argument longer than any place name with its parent ("Sarasota County, Florida") is no region:
# refused before any matching, so free text from the dashboard or the API costs a bounded amount of work.
MAX_REGION_CHARS = 120
MAX_REGION_WORDS = 12


def _find(text: str, localities: tuple[Locality, ...], split: bool = True) -> str | None:
    """The code `text` stands for. `split`: also try `Place, Parent` / `Place Parent` forms, once; the
    parent itself is matched directly (no further splitting), so a lookup is linear in the words
    (it was exponential: each split tried every split of its parent again)."""
    code = _code_form(text)
    if code is not None:
        return code
    stripped = text.strip()
    postal = _iso_index().us_postal.get(stripped.upper()) if len(stripped) == 2 else None
    if postal:
        return postal
    key = normalize(stripped)
    if not key:
        return None
    found = _match_name(key, localities, text)
    if found:
        return found
    return _find_with_parent(stripped, localities) if split else None


def _find_with_parent(text: str, localities: tuple[Locality, ...]) -> str | None:
    """`Sarasota County, Florida` / `Sarasota County FL`: split off the parent at the last comma, or
    try the trailing words as the parent."""
    if "," in text:
        place, _, parent_text = text.rpartition(",")
        splits = [(place, parent_text)]
    else:
        words = text.split()
        splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(len(words) - 1, 0, -1)]
    for place, parent_text in splits:
        try:
            parent = _find(parent_text, localities, split=False)
        except UnknownRegion:
            parent = None
        if parent and parent != INTERNATIONAL:
            found = within(parent, place, localities)
            if found:
                return found
    return None


def suggestions(text: str, localities: tuple[Locality, ...] = (), limit: int = 5) -> list[str]:
    """Close names and codes for an unknown region, as `CODE (Name)`."""
    index = _iso_index()
    choices: dict[str, str] = {}
    for table in (index.primary, _locality_names(localities), index.secondary):
        for name, codes in table.items():
            for code in codes:
                choices.setdefault(name, code)
    for code in {c for table in (index.primary, index.secondary) for codes in table.values() for c in codes}:
        choices.setdefault(code.lower(), code)
    for locality in localities:
        choices.setdefault(locality.code.lower(), locality.code)
    key = normalize(text) if "/" not in text else text.strip().lower()
    matches = difflib.get_close_matches(key, list(choices), n=limit * 2, cutoff=0.72)
    out: list[str] = []
    for match in matches:
        label = _label(choices[match])
        if label not in out:
            out.append(label)
    return out[:limit]


def _label(code: str) -> str:
    """`US-GA (Georgia, United States)`: a code with a name that tells same-named places apart."""
    name = display_name(code)
    if "-" in code and "/" not in code:
        name += ", " + display_name(code.split("-")[0])
    return f"{code} ({name})"


def display_name(code: str, localities: tuple[Locality, ...] | None = None) -> str:
    import pycountry

    if code == INTERNATIONAL:
        return "International"
    parent, slash, slug = code.partition("/")
    if slash:
        known = {loc.code: loc.name for loc in (load_localities() if localities is None else localities)}
        return known.get(code, slug.replace("-", " ").title()) + ", " + display_name(parent, localities)
    if "-" in code:
        sub = pycountry.subdivisions.get(code=code)
        return sub.name if sub else code
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or (country.name if country else code)


def lookup(text: str, localities_path: str | Path | None = None) -> Region:
    """A region argument (code, name, abbreviation, `Place, Parent`) to a Region; raises UnknownRegion
    (AmbiguousRegion when a name fits several places) with close matches."""
    localities = load_localities(localities_path)
    if not isinstance(text, str) or not text.strip():
        raise UnknownRegion(str(text), [], reason="empty region")
    if len(text) > MAX_REGION_CHARS or len(text.split()) > MAX_REGION_WORDS:
        raise UnknownRegion(text[:MAX_REGION_CHARS], [], reason=f"region text too long (at most "
                            f"{MAX_REGION_CHARS} characters and {MAX_REGION_WORDS} words)")
    code = _find(text, localities)
    if code is None:
        raise UnknownRegion(text, suggestions(text, localities))
    return Region(code, display_name(code, localities))
