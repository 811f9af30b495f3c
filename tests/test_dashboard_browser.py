"""The dashboard in a real headless browser (Debian's chromium driven by selenium through
/usr/bin/chromedriver; no browser is ever downloaded): load /, search "Florida", see the status and a
change; nothing from the hostile test pages runs.

Set KRATOM_TRACKER_SCREENSHOT=path.png to keep a screenshot of the Florida page (docs/dashboard.png)."""

from __future__ import annotations

import os

import pytest

from conftest import HAVE_CHROMIUM, NO_CHROMIUM, headless_chromium, running_app
from kratom_tracker.config.loader import load
from kratom_tracker.web.app import ServerSettings, create_app
from test_publish import build_event_db

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)


@pytest.fixture
def server(site, tmp_path):
    data = build_event_db(site, tmp_path)
    settings = ServerSettings(db=data.db, config=load(data.sources))
    with running_app(create_app(settings)) as base:
        yield base


@pytest.fixture
def browser():
    with headless_chromium() as driver:
        yield driver


def test_search_florida_shows_status_and_a_change(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC  # noqa: N812
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server + "/")
    assert "kratom-tracker" in browser.title
    assert browser.find_elements(By.CSS_SELECTOR, "#changes article.change"), "recent changes on the front page"
    assert browser.find_elements(By.CSS_SELECTOR, "#sources tbody tr")
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys("Florida")
    browser.find_element(By.ID, "search").click()
    # the click starts a navigation; wait for the answer page instead of racing it
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#status h2")))

    heading = browser.find_element(By.CSS_SELECTOR, "#status h2").text
    assert "Florida" in heading and "US-FL" in heading
    rows = {row.find_element(By.TAG_NAME, "th").text: row.text for row in
            browser.find_elements(By.CSS_SELECTOR, "#status tr.status-row")}
    assert "banned" in rows["7-OH"]
    changes = browser.find_elements(By.CSS_SELECTOR, "#changes article.change")
    titles = [c.find_element(By.TAG_NAME, "h3").text for c in changes]
    assert any(t.startswith("Florida — 7-OH: no rule → banned") for t in titles), titles
    assert not any(t.startswith("Texas") for t in titles)  # Texas is not in Florida
    assert browser.find_elements(By.CSS_SELECTOR, "#changes ins.kt-add")

    # Hostile pages: their text is visible as text, and nothing of theirs ran.
    assert "__pwned = 3" in browser.find_element(By.ID, "changes").text
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.find_elements(By.TAG_NAME, "script") == []

    if os.environ.get("KRATOM_TRACKER_SCREENSHOT"):
        browser.save_screenshot(os.environ["KRATOM_TRACKER_SCREENSHOT"])
