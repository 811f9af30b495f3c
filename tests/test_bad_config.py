"""The bad-configuration corpus (tests/bad_configs/): every broken sources.yaml is refused by
`kratom-tracker sources check` with exit status 2, the file, the line and the reason, and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli

CORPUS = Path(__file__).parent / "bad_configs"

# file stem -> (line the message must point at, words the reason must contain)
EXPECTED = {
    "alias-bomb": (1, "alias bomb"),
    "baseline-file-missing": (4, "does not exist"),
    "catastrophic-regex-alternation": (6, "exponential time"),
    "catastrophic-regex-in-feed-match": (6, "exponential time"),
    "catastrophic-regex-nested-plus": (6, "exponential time"),
    "catastrophic-regex-words": (6, "exponential time"),
    "control-character": (6, "U+0007 is not allowed"),
    "deep-nesting": (1, "nests too deeply"),
    "duplicate-id": (6, "duplicate id 'fda-kratom' (first used at line 2)"),
    "duplicate-yaml-key": (6, "duplicate key 'url' (first at line 4)"),
    "empty-file": (1, "the file is empty"),
    "enabled-not-boolean": (6, "expected true or false"),
    "fetch-retries-negative": (2, "at least 0"),
    "id-is-a-number": (2, "id must be lowercase"),
    "id-with-capitals": (2, "id must be lowercase"),
    "interval-not-a-duration": (6, "'soon' is not a duration"),
    "interval-zero": (6, "must be longer than 0s"),
    "invalid-regex": (6, "invalid regular expression"),
    "invalid-selector-combinator": (6, "invalid CSS selector"),
    "invalid-selector": (6, "invalid CSS selector"),
    "jurisdiction-is-a-number": (5, "unknown jurisdiction 1"),
    "max-bytes-not-a-size": (6, "'lots' is not a size"),
    "missing-id": (2, "missing required key `id`"),
    "missing-jurisdiction": (2, "missing required key `jurisdiction`"),
    "missing-type": (2, "missing required key `type`"),
    "missing-url": (2, "expected an http(s) URL"),
    "no-sources-list": (1, "a `sources:` list is required"),
    "non-utf8-bytes": (6, "not valid UTF-8"),
    "notify-url-without-scheme": (2, "expected an Apprise URL"),
    "politeness-concurrency-zero": (2, "at least 1"),
    "politeness-robots-string": (2, "expected true or false"),
    "select-is-a-list": (6, "expected a CSS selector"),
    "source-is-a-string": (2, "each source must be a mapping"),
    "sources-is-a-mapping": (1, "expected a list of sources"),
    "tab-indentation": (3, "tabs for indentation"),
    "tags-not-a-list": (6, "expected a list of words"),
    "timeout-negative": (6, "'-5s' is not a duration"),
    "top-level-is-a-list": (1, "the top level must be a mapping"),
    "unknown-defaults-key": (2, "unknown key 'intervall'"),
    "unknown-jurisdiction": (5, "unknown jurisdiction 'XX-NOPE'"),
    "unknown-source-key": (6, "unknown key 'colour'"),
    "unknown-top-level-key": (1, "unknown key 'colour'"),
    "unknown-type": (3, "unknown type 'webpage'"),
    "url-file-scheme": (4, "is not an http(s) URL"),
    "url-javascript": (4, "is not an http(s) URL"),
    "user-agent-empty": (1, "expected a non-empty text"),
    "yaml-bad-indentation": (4, "YAML syntax error"),
    "yaml-unclosed-quote": (6, "YAML syntax error"),
    # The second reliability round: values `sources check` used to accept and a run then choked on.
    "defaults-interval-nan": (2, "nan is not a duration"),
    "feed-ignore-any-character": (6, "'.' matches every line"),
    "fetch-max-retry-wait-nan": (2, "nan is not a duration"),
    "fetch-retries-huge": (2, "at most 10; got 1000"),
    "fetch-workers-huge": (2, "at most 64; got 100000"),
    "ignore-backreference": (6, "linear-time engine (RE2) cannot run"),
    "ignore-empty-alternative": (6, "'^Updated|' matches every line"),
    "ignore-matches-every-line": (6, "'.*' matches every line"),
    "interval-a-millisecond": (6, "an interval must be at least 0.1s"),
    "interval-astronomical": (6, "an interval must be at most 366d"),
    "interval-infinite": (6, "inf is not a duration"),
    "interval-nan": (6, "nan is not a duration"),
    "match-lookahead": (6, "linear-time engine (RE2) cannot run"),
    "max-bytes-one": (6, "max_bytes must be from 1024 bytes"),
    "max-bytes-terabyte": (6, "max_bytes must be from 1024 bytes"),
    "notify-unknown-scheme": (2, "unknown notification scheme 'klingon'"),
    "politeness-delay-infinite": (2, "inf is not a duration"),
    "publish-base-url-markup": (2, "character U+0022 must be percent-encoded"),
    "timeout-a-month": (6, "a timeout must be at most 1h"),
    "timeout-infinite": (6, "inf is not a duration"),
    "url-empty-host-label": (4, "its host name is not a valid domain name"),
    "url-host-label-too-long": (4, "its host name is not a valid domain name"),
    "url-port-out-of-range": (4, "its port is not a number from 1 to 65535"),
    "url-port-zero": (4, "its port is not a number from 1 to 65535"),
    "url-with-a-control-character": (4, "character U+0001 must be percent-encoded"),
    "url-with-a-space": (4, "character U+0020 must be percent-encoded"),
    "user-agent-crlf": (1, "control character U+000D"),
    "user-agent-not-latin-1": (1, "characters outside Latin-1"),
}


def _check(path: Path, capsys) -> tuple[int, str, str]:
    code = run_cli("sources", "check", "--sources", str(path))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def test_every_file_in_the_corpus_has_an_expectation():
    files = {p.stem for p in CORPUS.glob("*.yaml")}
    assert files == set(EXPECTED)
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_config_is_refused_with_file_line_and_reason(name, capsys):
    path = CORPUS / f"{name}.yaml"
    line, reason = EXPECTED[name]
    code, out, err = _check(path, capsys)
    assert code == 2
    assert "OK" not in out
    assert "configuration refused" in err
    assert f"{path}:{line}: " in err, err
    assert reason in err, err


@pytest.mark.parametrize("url", ["https://bücher.example/kratom", "https://www.fda.gov/kratom/café",
                                 "https://xn--bcher-kva.example/", "https://example.org:8443/x?a=1#f"])
def test_urls_that_can_be_requested_are_accepted(tmp_path, capsys, url):
    # An IDN host (sent as punycode) and a non-ASCII path (percent-encoded by the client) are fine.
    path = tmp_path / "ok.yaml"
    path.write_text(f"sources:\n  - {{id: a, type: page, url: '{url}', jurisdiction: US}}\n", encoding="utf-8")
    code, out, err = _check(path, capsys)
    assert code == 0, err


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    entry = "  - {id: s%d, type: page, url: 'https://example.org/%d', jurisdiction: US}\n"
    with path.open("w", encoding="utf-8") as out:
        out.write("sources:\n")
        for n in range(40_000):
            out.write(entry % (n, n))
    code, _, err = _check(path, capsys)
    assert code == 2
    assert f"{path}: the file is larger than" in err


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_an_unreadable_path_is_refused(tmp_path, capsys, kind):
    path = tmp_path / "sources.yaml"
    if kind == "directory":
        path.mkdir()
    code, _, err = _check(path, capsys)
    assert code == 2
    assert f"{path}: cannot read" in err


def test_collect_refuses_a_broken_config_before_touching_the_database(tmp_path, capsys):
    db = tmp_path / "t.db"
    code = run_cli("collect", "--sources", str(CORPUS / "duplicate-id.yaml"), "--db", str(db), "--quiet")
    captured = capsys.readouterr()
    assert code == 2 and "duplicate id" in captured.err and "Traceback" not in captured.err
    assert not db.exists()


def test_every_problem_in_a_file_is_reported_at_once(tmp_path, capsys):
    path = tmp_path / "many.yaml"
    path.write_text("sources:\n"
                    "  - {id: a, type: page, url: 'https://example.org/a', jurisdiction: XX-NOPE}\n"
                    "  - {id: b, type: page, url: 'ftp://example.org/b', jurisdiction: US}\n"
                    "  - {id: c, type: page, url: 'https://example.org/c', jurisdiction: US, select: 'p[['}\n",
                    encoding="utf-8")
    code, _, err = _check(path, capsys)
    assert code == 2
    assert f"{path}:2: " in err and f"{path}:3: " in err and f"{path}:4: " in err


@pytest.mark.parametrize("argv", [["collect", "--source", "baseline-us"], ["sources", "list", "--source", "x"],
                                  ["changes", "--reg", "US-FL"]])
def test_an_abbreviated_option_is_refused_not_guessed(argv, capsys):
    # argparse would otherwise read `--source baseline-us` as `--sources baseline-us` and then complain
    # that a file named baseline-us cannot be read.
    with pytest.raises(SystemExit) as exit_info:
        run_cli(*argv)
    assert exit_info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def _nested(tmp_path: Path, depth: int, block: bool = False) -> Path:
    path = tmp_path / "deep.yaml"
    if block:  # block style: one more indented list per line
        body = "".join("  " * level + "-\n" for level in range(depth)) + "  " * depth + "- x\n"
        path.write_text("sources:\n" + body, encoding="utf-8")
    else:
        path.write_text("sources: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("depth", [60, 999, 5000])
def test_deep_nesting_gets_our_message_whatever_the_parser_says(tmp_path, capsys, depth):
    # 60 parses fine in libyaml, 999 is just under libyaml's own limit (deep enough for Python's recursion to
    # matter), 5000 trips libyaml's limit, whose wording changed in PyYAML 6.0.4: each gets the same refusal.
    path = _nested(tmp_path, depth)
    code, _, err = _check(path, capsys)
    assert code == 2
    assert f"{path}:1: the YAML nests too deeply" in err, err


def test_deep_block_nesting_names_the_line(tmp_path, capsys):
    path = _nested(tmp_path, 80, block=True)
    code, _, err = _check(path, capsys)
    assert code == 2
    assert "the YAML nests too deeply" in err and f"{path}:1:" not in err, err


def test_deep_nesting_refused_with_the_pure_python_parser(tmp_path, capsys, monkeypatch):
    # Without libyaml, PyYAML's composer recurses until Python's limit: still our message, not a traceback.
    import yaml

    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    path = _nested(tmp_path, 5000)
    code, _, err = _check(path, capsys)
    assert code == 2
    assert "the YAML nests too deeply" in err, err


def test_a_shallow_nested_value_is_still_an_ordinary_error(tmp_path, capsys):
    path = tmp_path / "shallow.yaml"
    path.write_text("sources: [[[[x]]]]\n", encoding="utf-8")
    code, _, err = _check(path, capsys)
    assert code == 2
    assert "nests too deeply" not in err
