"""Region resolution: codes, names, abbreviations, localities and unknown names."""

from __future__ import annotations

import pytest

from conftest import run_cli
from kratom_tracker import regions


@pytest.mark.parametrize(("text", "code"), [
    ("US-FL", "US-FL"),
    ("us-fl", "US-FL"),
    ("FL", "US-FL"),
    ("fl", "US-FL"),
    ("Florida", "US-FL"),
    ("  FLORIDA ", "US-FL"),
    ("Sarasota County, Florida", "US-FL/sarasota-county"),
    ("Sarasota County FL", "US-FL/sarasota-county"),
    ("sarasota county, fl", "US-FL/sarasota-county"),
    ("Sarasota County", "US-FL/sarasota-county"),
    ("US-FL/sarasota-county", "US-FL/sarasota-county"),
    ("us-fl/Sarasota-County", "US-FL/sarasota-county"),
    ("Kansas City, Missouri", "US-MO/kansas-city"),
    ("Denver", "US-CO/denver"),
    ("US", "US"),
    ("USA", "US"),
    ("United States", "US"),
    ("gb", "GB"),
    ("UK", "GB"),
    ("United Kingdom", "GB"),
    ("DEU", "DE"),
    ("Türkiye", "TR"),
    ("turkiye", "TR"),
    ("South Korea", "KR"),
    ("Tennessee", "US-TN"),
    ("District of Columbia", "US-DC"),
    ("Ontario", "CA-ON"),
    ("Ontario, Canada", "CA-ON"),
    ("international", "international"),
])
def test_lookup_accepts_codes_names_abbreviations_and_localities(text, code):
    assert regions.lookup(text).code == code


def test_two_letter_codes_are_countries_before_state_abbreviations():
    # The documented rule: a code never changes meaning, so GA is Gabon and TN Tunisia; the ISO form
    # or the name reaches the state.
    assert regions.lookup("GA").code == "GA"
    assert regions.lookup("TN").code == "TN"
    assert regions.lookup("US-GA").code == "US-GA"
    assert regions.lookup("Tennessee").code == "US-TN"
    assert regions.lookup("NY").code == "US-NY"  # not a country code


def test_a_name_for_a_country_and_a_state_is_ambiguous_with_both_offered():
    with pytest.raises(regions.AmbiguousRegion) as caught:
        regions.lookup("Georgia")
    assert any(s.startswith("GE ") for s in caught.value.suggestions)
    assert any(s.startswith("US-GA ") for s in caught.value.suggestions)


def test_us_subdivisions_win_over_same_named_foreign_ones():
    assert regions.lookup("Florida").code == "US-FL"  # not Uruguay's department UY-FD


@pytest.mark.parametrize(("text", "expected"), [
    ("Flordia", "US-FL"),
    ("Sarasota Cnty, Florida", "US-FL/sarasota-county"),
    ("Tenessee", "US-TN"),
])
def test_unknown_region_lists_close_matches(text, expected):
    with pytest.raises(regions.UnknownRegion) as caught:
        regions.lookup(text)
    assert any(s.startswith(expected + " ") for s in caught.value.suggestions)
    assert expected in str(caught.value)


@pytest.mark.parametrize("text", ["Narnia", "US-ZZ", "", "   ", "XX-YY/foo"])
def test_unknown_region_is_an_error(text):
    with pytest.raises(regions.UnknownRegion):
        regions.lookup(text)


def test_unknown_region_at_the_command_line_exits_2_with_suggestions(tmp_path, capsys):
    assert run_cli("status", "Flordia", "--db", str(tmp_path / "none.db")) == 2
    err = capsys.readouterr().err
    assert "unknown region 'Flordia'" in err and "US-FL" in err and "Traceback" not in err
    assert run_cli("changes", "--region", "Georgia", "--db", str(tmp_path / "none.db")) == 2
    assert "ambiguous" in capsys.readouterr().err


def test_the_localities_overlay_adds_aliases_and_places_the_gazetteer_lacks(tmp_path):
    path = tmp_path / "localities.csv"
    path.write_text("code,name,aliases\nUS-TX/austin,Austin,ATX|Austin TX\nUS-TX/tiny-town,Tiny Town,\n"
                    "not-a-code,Bad,\n", encoding="utf-8")
    assert regions.lookup("ATX", localities_path=path).code == "US-TX/austin"
    assert regions.lookup("Austin, Texas", localities_path=path).name == "Austin, Texas"
    assert regions.lookup("Tiny Town, Texas", localities_path=path).code == "US-TX/tiny-town"
    assert regions.chain("US-TX/tiny-town") == ["US", "US-TX", "US-TX/tiny-town"]  # no county known
    # The places themselves come from the gazetteer, whatever the overlay lists.
    assert regions.lookup("Sarasota County, Florida", localities_path=path).code == "US-FL/sarasota-county"


def test_every_shipped_locality_resolves_by_name_and_parent():
    localities = regions.load_localities()
    assert len(localities) >= 10
    for locality in localities:
        parent_name = regions.display_name(locality.parent)
        assert regions.lookup(f"{locality.name}, {parent_name}").code == locality.code
        assert regions.lookup(locality.code.upper()).code == locality.code


def test_chain_and_covers():
    assert regions.chain("US-FL/sarasota-county") == ["US", "US-FL", "US-FL/sarasota-county"]
    assert regions.covers("US-FL", "US-FL/sarasota-county")
    assert regions.covers("US", "US-FL")
    assert not regions.covers("US-FL", "US-FLX")
    assert not regions.covers("US-FL", "US")


# -- the second reliability round: lookups are bounded and linear (through the public `lookup`, so these
# keep guarding whatever matches names behind it) -------------------------------------------------------


@pytest.mark.parametrize("words", [12, 20, 60])
def test_a_long_free_text_region_is_answered_at_once(words):
    import time

    text = " ".join(["Sarasota", "County", "Florida", "Manatee"] * 20)
    text = " ".join(text.split()[:words])
    started = time.monotonic()
    with pytest.raises(regions.UnknownRegion):
        regions.lookup(text)
    assert time.monotonic() - started < 3  # exponential before: 20 words took over 45 s


def test_an_overlong_region_is_refused_with_a_reason():
    with pytest.raises(regions.UnknownRegion, match="longer than"):
        regions.lookup("x" * 10_000)
    assert regions.lookup("Sarasota County, Florida").code == "US-FL/sarasota-county"  # still found
