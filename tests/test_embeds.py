"""Embeds and the status map: what the server answers (CSP, ETag, JSON-LD, SVG tiles and links), what
`publish --embeds` writes, and both rendered in headless Chromium, light and dark.

Set KRATOM_TRACKER_SCREENSHOTS=docs to keep the screenshots the README shows (docs/embed-light.png,
docs/embed-dark.png, docs/map.png, docs/dashboard-home.png)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from lxml import etree
from starlette.testclient import TestClient

from conftest import HAVE_CHROMIUM, NO_CHROMIUM, headless_chromium, run_cli, running_app
from kratom_tracker.vocab import Substance
from kratom_tracker.web.app import ServerSettings, create_app
from test_articles import db  # noqa: F401  (the fixture: a database with a cited baseline)

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def client(db):  # noqa: F811
    return TestClient(create_app(ServerSettings(db=db)))


def test_embed_html_is_frameable_runs_nothing_and_carries_legislation_jsonld(client):
    answer = client.get("/embed/US-FL.html")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors *" in csp and "script-src 'none'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    page = answer.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.DOTALL)
    assert [attrs for attrs, _ in scripts] == [' type="application/ld+json"']  # data, never run
    jsonld = json.loads(scripts[0][1])
    kinds = {node["@type"] for node in jsonld["@graph"]}
    assert kinds == {"Legislation"}
    seven = next(n for n in jsonld["@graph"] if n["name"].startswith("7-OH"))
    assert seven["url"] == "https://www.flrules.org/gateway/ruleNo.asp?id=64K-1.007"
    assert seven["legislationJurisdiction"]["identifier"] == "US-FL"
    assert "prefers-color-scheme: dark" in page and "verified 2026-" in page
    assert 'class="b st-banned">banned' in page


def test_embed_is_cached_with_an_etag(client):
    first = client.get("/embed/US-FL.html")
    tag = first.headers["etag"]
    again = client.get("/embed/US-FL.html", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    assert "max-age=" in first.headers["cache-control"]


def test_embed_json(client):
    document = client.get("/embed/US-FL.json").json()
    assert document["region"] == {"code": "US-FL", "name": "Florida"}
    seven = document["substances"]["7-OH"]
    assert seven["status"] == "banned" and seven["effective_date"] == "2026-06-22"
    assert seven["citation"]["url"].startswith("https://www.flrules.org/") and seven["verified_on"]
    assert document["substances"]["leaf"]["detail"] == "21+"
    assert client.get("/embed/US-FL.json").headers["access-control-allow-origin"] == "*"
    assert client.get("/embed/Narnia.html").status_code == 404
    assert client.get("/embed/US-FL.xml").status_code == 404


def test_embed_reads_conditions_when_the_status_document_has_them():
    from kratom_tracker.publish.embed import conditions, conditions_text

    entry = {"status": "banned", "conditions": {"threshold": "1 mg/g", "min_age": 21}, "expiry_date": "2027-01-01"}
    assert conditions(entry) == {"threshold": "1 mg/g", "min_age": 21, "expiry_date": "2027-01-01"}
    assert conditions_text(entry) == "above 1 mg/g; age 21+; expires 2027-01-01"
    assert conditions({"status": "legal"}) == {}
    # The status model's entry (v2): its own wording first, then the instrument; never a Python list.
    v2 = {"status": "banned", "conditions_text": "7-OH above 1 mg/g of product banned", "instrument": "emergency-rule",
          "conditions": {"min_age": None, "thresholds": [{"value": 1.0, "unit": "mg/g", "basis": "of product"}],
                         "prohibited": ["sale", "possession"]}}
    assert conditions_text(v2) == "7-OH above 1 mg/g of product banned; emergency rule"
    bare = {**v2, "conditions_text": ""}
    assert conditions_text(bare) == "above 1 mg/g of product; sale, possession prohibited; emergency rule"


def test_us_map_svg_has_a_tile_and_a_link_per_state_and_a_legend(client):
    answer = client.get("/map/us.svg?substance=7-OH")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"
    root = etree.fromstring(answer.content)
    assert root.find(f".//{SVG}script") is None
    tiles = root.findall(f".//{SVG}a")
    assert len(tiles) == 51
    florida = next(t for t in tiles if t.get("data-code") == "US-FL")
    assert florida.get("href").endswith("/?q=US-FL") and "st-banned" in florida.get("class")
    texas = next(t for t in tiles if t.get("data-code") == "US-TX")
    assert "st-unknown" in texas.get("class")  # the Texas row is about the leaf only
    leaf = etree.fromstring(client.get("/map/us.svg").content)
    classes = {t.get("data-code"): t.get("class") for t in leaf.findall(f".//{SVG}a")}
    assert "st-regulated" in classes["US-TX"] and "st-legal" in classes["US-OR"]  # the federal answer
    legend = "".join(root.itertext())
    assert all(word in legend for word in ("banned", "regulated", "pending", "legal", "unknown"))
    assert client.get("/map/us.svg?substance=coffee").status_code == 400
    assert client.get("/map/mars.svg").status_code == 404


def test_world_map_shows_the_covered_countries(client):
    root = etree.fromstring(client.get("/map/world.svg").content)
    assert [t.get("data-code") for t in root.findall(f".//{SVG}a")] == ["US"]


def test_dashboard_home_has_the_map_and_every_region_and_a_region_page_has_the_snippet(client):
    home = client.get("/").text
    assert '<section id="map">' in home and 'data-code="US-FL"' in home
    assert home.count('class="region-row"') == 10  # every jurisdiction on file
    florida = client.get("/?q=Florida").text
    assert 'id="embed-snippet"' in florida and "/embed/US-FL.html" in florida and "&lt;iframe" in florida


def test_publish_writes_the_embeds_and_maps_for_static_hosting(db, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "site"
    sources = tmp_path / "sources.yaml"
    assert run_cli("publish", "--db", str(db), "--sources", str(sources), "--out", str(tmp_path / "feeds"),
                   "--embeds", str(out)) == 0
    assert (out / "embed" / "US-FL.html").is_file() and (out / "embed" / "US-WY.json").is_file()
    # one US map and one world map per answered substance (the leaf's without a suffix)
    suffixes = ["" if s is Substance.LEAF else f"-{s.value}" for s in Substance.answered()]
    assert {p.name for p in (out / "map").iterdir()} == {f"{view}{suffix}.svg" for view in ("us", "world")
                                                         for suffix in suffixes}
    served = TestClient(create_app(ServerSettings(db=db))).get("/embed/US-FL.json").json()
    assert json.loads((out / "embed" / "US-FL.json").read_text(encoding="utf-8"))["substances"] == served["substances"]
    assert not list((tmp_path / "feeds").rglob("embed"))  # the feed folder holds feeds only
    assert "embed and map files" in capsys.readouterr().out


# -- in a real browser ---------------------------------------------------------------------------------


def _shot(driver, name: str) -> None:
    folder = os.environ.get("KRATOM_TRACKER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / name))


@pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)
def test_embed_and_map_render_in_headless_chromium(db):  # noqa: F811
    from selenium.webdriver.common.by import By

    with running_app(create_app(ServerSettings(db=db))) as base, headless_chromium() as driver:
        driver.set_window_size(400, 300)
        driver.get(base + "/embed/US-FL.html")
        rows = driver.find_elements(By.CSS_SELECTOR, "tr")
        assert [r.find_element(By.TAG_NAME, "th").text for r in rows] == [s.value for s in Substance.answered()]
        assert "banned" in rows[1].text and "Schedule I above 1 mg/g" in rows[1].text
        light = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        badge = driver.find_element(By.CSS_SELECTOR, ".st-banned")
        assert badge.value_of_css_property("background-color") == "rgba(246, 211, 211, 1)"  # the style applied
        _shot(driver, "embed-light.png")
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                               {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        dark = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert light == "rgb(255, 255, 255)" and dark == "rgb(21, 25, 28)"
        _shot(driver, "embed-dark.png")
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme",
                                                                            "value": "light"}]})
        driver.set_window_size(1280, 1400)
        # the map inside a page, as an article embeds it, and framed: the iframe's CSP lets any site frame it
        driver.get(base + "/map/us.svg?substance=7-OH")
        tiles = driver.find_elements(By.CSS_SELECTOR, "a.tile")
        assert len(tiles) == 51
        size = driver.find_element(By.TAG_NAME, "svg").size
        assert size["width"] > 500 and size["height"] > 400
        driver.set_window_size(680, 600)
        _shot(driver, "map.png")
        driver.set_window_size(1280, 1400)
        driver.get(base + "/")
        assert len(driver.find_elements(By.CSS_SELECTOR, "#map a.tile")) == 51
        assert driver.find_elements(By.CSS_SELECTOR, "#regions tr.region-row")
        florida_tile = driver.find_element(By.CSS_SELECTOR, '#map a.tile[data-code="US-FL"]')
        assert florida_tile.value_of_css_property("background-color") == "rgba(224, 160, 48, 1)"  # regulated
        _shot(driver, "dashboard-home.png")
