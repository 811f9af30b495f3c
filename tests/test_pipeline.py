"""The core pipeline end to end through `collect`, on recorded real documents served from 127.0.0.1."""

from __future__ import annotations

import html
import json
import sqlite3
import time

import pytest

from conftest import excerpt_text, fixture_bytes, html_page, run_cli, write_sources


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{html.escape(' '.join(p.split()))}</p>" for p in text.split("\n\n") if p.strip())


def _collect(sources, db) -> int:
    return run_cli("collect", "--sources", str(sources), "--db", str(db), "--quiet")


def _events(db) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM events ORDER BY id")]


def _last_outcome(db, source_id: str) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT last_outcome FROM sources WHERE id = ?", [source_id]).fetchone()[0]


def _count(db, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _page_source(site, path="/page", select="main", extra="") -> str:
    return f"""sources:
  - id: watched
    name: Watched page
    type: page
    url: {site.url(path)}
    jurisdiction: US-CO/denver
    select: "{select}"
    ignore: ["^Content current as of"]
    timeout: 2s
{extra}"""


@pytest.mark.parametrize(("before", "after", "expected_added"), [
    ("denver_deh_2016-10_kratom_hold_lift_EXCERPT.txt", "denver_deh_2017-11_kratom_restriction_EXCERPT.txt",
     "restrict"),
    ("wikipedia_mitragyna_speciosa_rev816138369_2017-12-19_lead_EXCERPT.txt", "wikipedia_kratom_current_lead_EXCERPT.txt",
     "Food and Drug Administration"),
])
def test_a_real_change_gives_exactly_one_content_event(site, tmp_path, before, after, expected_added):
    sources = write_sources(tmp_path, _page_source(site))
    db = tmp_path / "t.db"
    site.set("/page", html_page(_paragraphs(excerpt_text(before)), footer="Content current as of 2016"))
    assert _collect(sources, db) == 0
    assert _events(db) == []  # the first fetch sets the starting point
    site.set("/page", html_page(_paragraphs(excerpt_text(after)), footer="Content current as of 2017"))
    assert _collect(sources, db) == 0
    events = _events(db)
    assert len(events) == 1
    event = events[0]
    assert event["kind"] == "content" and event["jurisdiction"] == "US-CO/denver"
    added = [line for line in event["diff"].splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert any(expected_added.lower() in line.lower() for line in added)
    assert _collect(sources, db) == 0  # same responses again: nothing new
    assert len(_events(db)) == 1
    assert _count(db, "snapshots") == 2


@pytest.mark.parametrize("edit", ["footer", "ignored-line", "whitespace", "markup"])
def test_edits_that_are_not_changes(site, tmp_path, edit):
    sources = write_sources(tmp_path, _page_source(site))
    db = tmp_path / "t.db"
    body = "<h1>Kratom rules</h1><p>Sale to persons under 21 is prohibited.</p><p>Content current as of 01/02/2026</p>"
    site.set("/page", html_page(body, footer="Updated 2026-01-02"))
    _collect(sources, db)
    changed = {
        "footer": html_page(body, footer="Updated 2026-03-04"),
        "ignored-line": html_page(body.replace("01/02/2026", "03/04/2026")),
        "whitespace": html_page(body.replace("Sale to", "Sale\n\n   to").replace("<p>", "<p>  ")),
        "markup": html_page(body.replace("<p>Sale to persons", "<p class='x'><span>Sale</span> to <b>persons</b>")),
    }[edit]
    site.set("/page", changed)
    assert _collect(sources, db) == 0
    assert _events(db) == []
    assert _last_outcome(db, "watched") == "unchanged"
    assert _count(db, "snapshots") == 1


def _serve_failure(site, case: str) -> None:
    if case == "http-error":
        site.set("/page", "<h1>Internal error</h1>", status=500)
    elif case == "timeout":
        site.set("/page", html_page("<p>kratom slow</p>"), delay=3.5)
    elif case == "empty":
        site.set("/page", b"")
    elif case == "selector-missing":
        site.set("/page", "<html><body><div>maintenance page</div></body></html>")
    elif case == "too-large":
        site.set("/page", html_page("<p>kratom " + "x" * 20_000 + "</p>"))
    elif case == "robots-denied":
        site.set("/robots.txt", "User-agent: *\nDisallow: /page\n", content_type="text/plain")


@pytest.mark.parametrize("case", ["http-error", "timeout", "empty", "selector-missing", "too-large",
                                  "robots-denied"])
def test_failed_fetches_are_outcomes_not_changes(site, tmp_path, case):
    extra = "    max_bytes: 10KB\n" if case == "too-large" else ""
    sources = write_sources(tmp_path, _page_source(site, extra=extra))
    db = tmp_path / "t.db"
    site.set("/page", html_page("<p>kratom Kratom is regulated.</p>"))
    _collect(sources, db)
    _serve_failure(site, case)
    _collect(sources, db)
    assert _events(db) == []
    assert _last_outcome(db, "watched") == case
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT consecutive_failures FROM sources").fetchone()[0] == 1
    # the next good answer is handled normally: same content, so no change
    site.set("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    site.set("/page", html_page("<p>kratom Kratom is regulated.</p>"))
    time.sleep(0.01)
    _collect(sources, db)
    assert _events(db) == []
    assert _last_outcome(db, "watched") in ("unchanged", "not-modified")


def test_robots_cache_reaches_the_fetcher_once_per_pass(site, tmp_path):
    body = "sources:\n" + "".join(
        f"  - {{id: p{i}, type: page, url: '{site.url(f'/p{i}')}', jurisdiction: US, select: main}}\n"
        for i in range(5))
    sources = write_sources(tmp_path, body)
    for i in range(5):
        site.set(f"/p{i}", html_page(f"<p>kratom page {i}</p>"))
    _collect(sources, tmp_path / "t.db")
    assert len(site.requests_to("/robots.txt")) == 1


def test_conditional_get_sends_stored_etag_and_servers_last_modified(site, tmp_path):
    sources = write_sources(tmp_path, _page_source(site))
    db = tmp_path / "t.db"
    server_date = "Wed, 01 Jul 2026 10:00:00 GMT"
    site.set("/page", html_page("<p>kratom Kratom is regulated.</p>"), last_modified=server_date)
    _collect(sources, db)
    _collect(sources, db)
    first, second = site.requests_to("/page")
    assert "if-none-match" not in first
    assert second["if-none-match"].startswith('"')
    assert second["if-modified-since"] == server_date
    assert _last_outcome(db, "watched") == "not-modified"
    assert second["user-agent"].startswith("kratom-tracker/")


def test_validators_of_a_touched_page_are_kept_so_the_next_get_is_a_304(site, tmp_path):
    # A "touch": same bytes, new ETag and Last-Modified. The byte-identical path must still keep the new
    # validators, or every later request carries stale ones and gets a full 200 forever.
    sources = write_sources(tmp_path, _page_source(site))
    db = tmp_path / "t.db"
    body = html_page("<p>kratom Kratom is regulated.</p>")
    site.set("/page", body, etag='"v1"', last_modified="Wed, 01 Jul 2026 10:00:00 GMT")
    _collect(sources, db)
    site.set("/page", body, etag='"v2"', last_modified="Thu, 02 Jul 2026 10:00:00 GMT")
    _collect(sources, db)
    assert _last_outcome(db, "watched") == "unchanged"
    _collect(sources, db)
    touched, after = site.requests_to("/page")[1:]
    assert touched["if-none-match"] == '"v1"'
    assert after["if-none-match"] == '"v2"'
    assert after["if-modified-since"] == "Thu, 02 Jul 2026 10:00:00 GMT"
    assert _last_outcome(db, "watched") == "not-modified"


def test_clerk_feed_with_duplicate_guids_counts_items_once(site, tmp_path):
    feed = fixture_bytes("clerk_house_gov_floor_feed_rss_2026-10-03.xml")
    site.set("/feed", feed, content_type="application/rss+xml", etag=False)
    sources = write_sources(tmp_path, f"""sources:
  - id: clerk
    type: feed
    url: {site.url('/feed')}
    jurisdiction: US
""")
    db = tmp_path / "t.db"
    _collect(sources, db)
    with sqlite3.connect(db) as conn:
        content = conn.execute("SELECT content FROM snapshots").fetchone()[0]
    items = json.loads(content)["items"]
    keys = [i["key"] for i in items]
    assert len(keys) == len(set(keys)) and len(keys) >= 1
    assert all(k.startswith("h:") for k in keys)  # the shared guid is not used as identity
    _collect(sources, db)
    _collect(sources, db)
    assert _events(db) == []


def test_feed_new_item_is_one_notice_and_aged_out_items_are_not_withdrawals(site, tmp_path):
    def rss(items):
        entries = "".join(
            f"<item><title>{t}</title><link>https://example.org/{n}</link><guid>id-{n}</guid>"
            f"<pubDate>{d}</pubDate><description>{t} details</description></item>" for n, t, d in items)
        return f"<?xml version='1.0'?><rss version='2.0'><channel><title>FDA</title>{entries}</channel></rss>"

    older = [(2, "FDA warns about kratom products", "Tue, 02 Jun 2026 10:00:00 GMT"),
             (1, "Unrelated recall of peanuts", "Mon, 01 Jun 2026 10:00:00 GMT")]
    site.set("/feed", rss(older), content_type="application/rss+xml")
    sources = write_sources(tmp_path, f"""sources:
  - id: fda-press
    type: feed
    url: {site.url('/feed')}
    jurisdiction: US
    match: "(?i)kratom|mitragyn|7-OH"
""")
    db = tmp_path / "t.db"
    _collect(sources, db)
    newer = [(3, "FDA seizes 7-OH products", "Wed, 03 Jun 2026 10:00:00 GMT"), older[0]]
    site.set("/feed", rss(newer), content_type="application/rss+xml")
    _collect(sources, db)
    events = _events(db)
    assert [e["title"] for e in events] == ["New: FDA seizes 7-OH products"]
    assert json.loads(events[0]["data"])["change"] == "new"
    site.set("/feed", rss([(4, "FDA kratom update", "Thu, 04 Jun 2026 10:00:00 GMT")]),
             content_type="application/rss+xml")
    _collect(sources, db)
    titles = [e["title"] for e in _events(db)]
    assert titles[-1] == "New: FDA kratom update"
    assert not any(t.startswith("Withdrawn") for t in titles)  # older items aged out of the feed


def test_baseline_edit_yields_one_status_event(tmp_path):
    csv_path = tmp_path / "baseline.csv"
    header = "jurisdiction,substance,status,detail,effective_date,summary,source_url,source_type,last_verified\n"
    row_tn = "US-TN,leaf,regulated,21+,2019-07-01,Tennessee regulates sales,https://www.tn.gov/x,primary,2026-11-01\n"
    row_fl = "US-FL,7-OH,banned,,2025-08-14,Florida emergency rule,https://www.myfloridalegal.com/x,primary,2026-11-01\n"
    csv_path.write_text(header + row_tn + row_fl)
    sources = write_sources(tmp_path, "sources:\n  - {id: baseline, type: baseline, path: baseline.csv, "
                                      "jurisdiction: US}\n")
    db = tmp_path / "t.db"
    _collect(sources, db)
    csv_path.write_text(header + row_tn.replace("regulated,21+,2019-07-01", "banned,,2026-07-01") + row_fl)
    _collect(sources, db)
    events = _events(db)
    assert [e["title"] for e in events] == ["US-TN leaf: regulated → banned, effective 2026-07-01"]
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT status, retired_at IS NULL FROM assertions WHERE jurisdiction = 'US-TN' "
                            "ORDER BY id").fetchall()
    assert rows == [("regulated", 0), ("banned", 1)]  # history kept, never overwritten


def test_changes_json_is_the_event_list_newest_first(site, tmp_path, capsys):
    sources = write_sources(tmp_path, _page_source(site))
    db = tmp_path / "t.db"
    site.set("/page", html_page("<p>kratom one</p>"))  # on topic: `require` defaults to kratom|mitragyn|7-OH
    _collect(sources, db)
    for text in ("two", "three"):
        site.set("/page", html_page(f"<p>kratom {text}</p>"))
        _collect(sources, db)
    capsys.readouterr()
    assert run_cli("changes", "--db", str(db), "--json", "--region", "US-CO") == 0
    events = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in events] == [2, 1]
    assert set(events[0]) >= {"id", "kind", "source_id", "jurisdiction", "detected_at", "title", "summary",
                              "diff", "url", "data"}
    assert isinstance(events[0]["data"], dict)
    assert run_cli("changes", "--db", str(db), "--json", "--region", "US-FL") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_collect_only_unknown_id_is_a_usage_error(site, tmp_path, capsys):
    sources = write_sources(tmp_path, _page_source(site))
    assert run_cli("collect", "--sources", str(sources), "--db", str(tmp_path / "t.db"), "--only", "nope") == 2
    assert "nope" in capsys.readouterr().err


# -- a change of settings is a new starting point, never a change ---------------------------------------------


def test_a_changed_selector_restarts_the_source_instead_of_reporting_a_change(site, tmp_path, capsys):
    page = html_page("<h1>Kratom rules</h1><p>Kratom sale to under-21s is banned.</p>"
                     "<aside>Related: our newsletter</aside>")
    site.set("/page", page)
    db = tmp_path / "t.db"
    sources = write_sources(tmp_path, _page_source(site, select="body"))
    assert _collect(sources, db) == 0 and _last_outcome(db, "watched") == "initial"
    assert site.requests_to("/page")[-1].get("If-None-Match") is None

    # The operator narrows the selector: the nav, the aside and the footer drop out of the reading, but the
    # page did not change, so nobody hears of it; the fetch is unconditional (a 304 would keep the old reading).
    sources = write_sources(tmp_path, _page_source(site, select="main"))
    assert run_cli("collect", "--sources", str(sources), "--db", str(db)) == 0
    assert "reconfigured: 1" in capsys.readouterr().out
    assert _last_outcome(db, "watched") == "reconfigured" and _events(db) == []
    assert site.requests_to("/page")[-1].get("If-None-Match") is None

    assert _collect(sources, db) == 0 and _last_outcome(db, "watched") == "not-modified"  # settled: 304 again
    site.set("/page", page.replace(b"under-21s is banned", b"under-18s is banned"))
    assert _collect(sources, db) == 0 and _last_outcome(db, "watched") == "changed"
    [event] = _events(db)
    assert "under-18s" in event["diff"] and "Home" not in event["diff"]  # read with the new selector


def test_a_database_from_before_settings_were_kept_restarts_each_source_once(site, tmp_path):
    site.set("/page", html_page("<p>Kratom is legal here.</p>"))
    db = tmp_path / "t.db"
    sources = write_sources(tmp_path, _page_source(site))
    assert _collect(sources, db) == 0
    with sqlite3.connect(db) as conn:  # as a schema-4 database upgraded to 5 has it
        conn.execute("UPDATE sources SET settings_sha = NULL, body_hash = NULL")
    site.set("/page", html_page("<p>Kratom is legal here.</p><p>Menu changed by this release's selectors</p>"))
    assert _collect(sources, db) == 0 and _last_outcome(db, "watched") == "reconfigured" and _events(db) == []
    site.set("/page", html_page("<p>Kratom is banned here.</p><p>Menu changed by this release's selectors</p>"))
    assert _collect(sources, db) == 0 and _last_outcome(db, "watched") == "changed" and len(_events(db)) == 1
