"""`sources doctor` against a local server: a good page, a moved page, a JavaScript shell and an
off-topic page are told apart, with the selector, share kept, topic, shell signs and a narrower selector."""

from __future__ import annotations

import json

from conftest import html_page, run_cli, write_sources

GOOD = ("<div id='crumbs'>Home / Health</div><article id='advisory'><h1>Kratom advisory</h1>"
        "<p>Kratom (Mitragyna speciosa) is not approved for any medical use.</p>"
        "<p>7-OH products are concentrated and sold as tablets.</p></article>"
        "<aside><p>Other topics: flu shots, water safety, food recalls, hurricane preparedness.</p></aside>")
SHELL = ("<!doctype html><html><head><title>Agency</title><script src='/app.js'></script>"
         "<script>window.__STATE__=" + json.dumps({"k": "x" * 2000}) + "</script></head>"
         "<body><div id='root'></div><noscript>Please enable JavaScript.</noscript></body></html>")


def _sources(site) -> str:
    entries = []
    for source_id, path in (("good", "/good"), ("moved", "/old"), ("shell", "/app"), ("offtopic", "/news")):
        entries.append(f"""  - id: {source_id}
    name: {source_id}
    type: page
    url: {site.url(path)}
    jurisdiction: US-FL
    select: body
""")
    return "sources:\n" + "".join(entries)


def _serve(site) -> None:
    site.set("/good", html_page(GOOD))
    site.set("/new-home", html_page("<p>Welcome to the department.</p>"))
    site.set("/old", b"", status=301, headers={"Location": "/new-home"})
    site.set("/app", SHELL)
    site.set("/news", html_page("<h1>News</h1><p>Hurricane season starts June 1.</p>"))


def test_doctor_tells_the_four_pages_apart(site, tmp_path, capsys):
    _serve(site)
    sources = write_sources(tmp_path, _sources(site))
    capsys.readouterr()
    assert run_cli("sources", "doctor", "--sources", str(sources), "--json") == 1  # some sources would fail
    report = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    good = report["good"]
    assert good["ok"] and good["outcome"] == "initial" and good["http_status"] == 200
    assert good["robots"] == "allowed" and not good["redirected"]
    assert good["selector_matches"] == 1 and good["topic_found"] and not good["shell_suspected"]
    assert 0 < good["kept_share"] <= 1
    assert good["suggested_selector"] == "article#advisory"
    moved = report["moved"]
    assert not moved["ok"] and moved["outcome"] == "moved" and moved["redirected"]
    assert moved["final_url"].endswith("/new-home")
    shell = report["shell"]
    assert shell["outcome"] == "needs-browser" and shell["shell_suspected"] and "mount point" in shell["shell_signs"]
    offtopic = report["offtopic"]
    assert offtopic["outcome"] == "off-topic" and offtopic["topic_in_page"] is False
    assert not offtopic["shell_suspected"] and offtopic["suggested_selector"] is None


def test_doctor_text_report_for_chosen_sources(site, tmp_path, capsys):
    _serve(site)
    sources = write_sources(tmp_path, _sources(site))
    capsys.readouterr()
    assert run_cli("sources", "doctor", "good", "--sources", str(sources)) == 0
    out = capsys.readouterr().out
    assert "ok   good (page) initial" in out and "try select: 'article#advisory'" in out
    assert "1 sources checked: 1 ok, 0 with problems" in out
    assert run_cli("sources", "doctor", "nope", "--sources", str(sources)) == 2


def test_doctor_writes_nothing(site, tmp_path):
    _serve(site)
    sources = write_sources(tmp_path, _sources(site))
    db = tmp_path / "data" / "tracker.db"
    run_cli("sources", "doctor", "--sources", str(sources))
    assert not db.exists()
