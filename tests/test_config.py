"""sources.yaml validation: each mistake refused with file, line and reason, exit status 2."""

from __future__ import annotations

import pytest

from conftest import run_cli
from kratom_tracker.config.loader import loads
from kratom_tracker.config.model import ConfigError

GOOD = """\
user_agent: "kratom-tracker/0.1 (+https://example.org/contact)"
defaults:
  interval: 6h
  timeout: 30s
politeness:
  per_host_concurrency: 2
  per_host_delay: 1s
  robots: true
sources:
  - id: fda-kratom
    name: FDA and Kratom
    type: page
    url: https://www.fda.gov/news-events/public-health-focus/fda-and-kratom
    jurisdiction: US
    select: "main"
    ignore: ["Content current as of .*"]
    tags: [advisory, federal]
  - id: hc-advisories
    type: feed
    url: https://example.org/feed.xml
    jurisdiction: CA
    match: "(?i)kratom|mitragyn"
"""


def test_the_design_example_loads():
    config = loads(GOOD)
    assert [s.id for s in config.sources] == ["fda-kratom", "hc-advisories"]
    fda = config.sources[0]
    assert fda.interval == 6 * 3600 and fda.timeout == 30 and fda.option("select") == "main"
    assert config.politeness.per_host_delay == 1.0 and config.sources[1].line == 18


BAD = [
    ("unknown key", "    colour: red\n", 18, "unknown key 'colour'"),
    ("bad regex", '    ignore: ["(unclosed"]\n', 18, "invalid regular expression"),
    ("catastrophic regex", '    ignore: ["(a+)+$"]\n', 18, "nests unbounded repeats"),
    ("bad selector", '    select: "main[["\n', 18, "invalid CSS selector"),
    ("unknown jurisdiction", "    jurisdiction: XX-NOPE\n", 18, "unknown jurisdiction"),
    ("bad interval", "    interval: soon\n", 18, "not a duration"),
    ("bad timeout", "    timeout: -5s\n", 18, "duration"),
    ("not http", "    url: ftp://example.org/x\n", 18, "not an http(s) URL"),
]


def assert_refused(tmp_path, capsys, text: str, line: int, reason: str) -> None:
    """`sources check` refuses the file with exit 2, naming file, line and reason, without a traceback."""
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    assert run_cli("sources", "check", "--sources", str(path)) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line}:" in err, err
    assert reason in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("name", "extra", "line", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_source_key_is_refused_with_line(tmp_path, capsys, name, extra, line, reason):
    text = GOOD.replace('  - id: hc-advisories', extra.rstrip("\n") + "\n  - id: hc-advisories")
    key = extra.strip().split(":")[0]
    lines = GOOD.splitlines()
    existing = [i for i, ln in enumerate(lines) if ln.startswith(f"    {key}:")]
    if existing:  # replace the first source's own value instead of adding a second one
        lines[existing[0]] = extra.rstrip("\n")
        text, line = "\n".join(lines) + "\n", existing[0] + 1
    assert_refused(tmp_path, capsys, text, line, reason)


@pytest.mark.parametrize(("text", "line", "reason"), [
    (GOOD + "  - id: fda-kratom\n    type: page\n    url: https://x.gov/\n    jurisdiction: US\n", 23,
     "duplicate id 'fda-kratom'"),
    (GOOD.replace("id: hc-advisories", "id: HC_Advisories"), 18, "lowercase letters"),
    (GOOD.replace("    type: feed\n", ""), 18, "missing required key `type`"),
    (GOOD.replace("    jurisdiction: CA\n", ""), 18, "missing required key `jurisdiction`"),
    (GOOD.replace("type: feed", "type: telepathy"), 19, "unknown type 'telepathy'"),
    (GOOD.replace("  per_host_concurrency: 2", "  per_host_concurrency: many"), 6, "whole number"),
    (GOOD.replace("sources:", "sauces:"), 9, "unknown key 'sauces'"),
    (GOOD.replace("    tags: [advisory, federal]", "\ttags: [advisory]"), 17, "tabs"),
    ("sources:\n  - id: a\n    type: page\n    type: feed\n", 4, "duplicate key 'type'"),
])
def test_file_level_mistakes(tmp_path, capsys, text, line, reason):
    assert_refused(tmp_path, capsys, text, line, reason)


def test_all_problems_are_reported_at_once():
    bad = GOOD.replace("jurisdiction: CA", "jurisdiction: ZZ").replace('select: "main"', 'select: "[["')
    with pytest.raises(ConfigError) as info:
        loads(bad)
    assert len(info.value.problems) == 2


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    assert run_cli("sources", "check", "--sources", str(tmp_path / "nope.yaml")) == 2
    assert "cannot read" in capsys.readouterr().err


def test_non_utf8_and_alias_bomb_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        loads(b"sources:\n  - id: caf\xe9\n")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    with pytest.raises(ConfigError, match="alias bomb"):
        loads(bomb)


def test_validated_configurations_are_cached_by_their_bytes(tmp_path, monkeypatch):
    from kratom_tracker.config import loader as config_module

    monkeypatch.setenv("KRATOM_TRACKER_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD)
    fresh = config_module.load(path)
    assert len(list((tmp_path / "cache").glob("config-*.json"))) == 1
    cached = config_module.load(path)
    assert cached == fresh  # same values, including tuples and options
    path.write_text(GOOD.replace("jurisdiction: CA", "jurisdiction: ZZ"))
    with pytest.raises(ConfigError):  # new bytes: validated again, and refused
        config_module.load(path)
    assert len(list((tmp_path / "cache").glob("config-*.json"))) == 1  # a refused file is never cached
