"""Help that teaches: every command's --help ends with an example; the README's command table is checked
against the parser; `sources types` lists every registered source type with its keys."""

from __future__ import annotations

import argparse
import json
import re

import pytest

from conftest import REPO, run_cli
from kratom_tracker import extractors
from kratom_tracker.cli import COMMANDS, build_parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _all_commands() -> dict[str, argparse.ArgumentParser]:
    """`collect`, ..., and `sources check`, `sources list`, ...: every parser a person can call."""
    found = {}
    for name, parser in _subparsers(build_parser()).items():
        found[name] = parser
        for action, child in _subparsers(parser).items():
            found[f"{name} {action}"] = child
    return found


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


@pytest.mark.parametrize("name", sorted(_all_commands()))
def test_every_help_ends_with_an_example(name, capsys):
    with pytest.raises(SystemExit):
        run_cli(*name.split(), "--help")
    text = capsys.readouterr().out
    assert re.search(r"^example: kratom-tracker " + re.escape(name.split()[0]), text, re.M), text


def _readme_rows() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| command | what it does |"):]
    table = table[:table.index("\n\n")]
    return [line.split(" | ")[0] for line in table.splitlines()[2:]]


def test_the_readme_command_table_matches_the_parser():
    commands = _all_commands()
    rows = _readme_rows()
    named = {re.match(r"\| `kratom-tracker ([a-z-]+)", row).group(1) for row in rows}
    assert named == set(COMMANDS), "README command table and cli.COMMANDS differ"
    for row in rows:
        name = re.match(r"\| `kratom-tracker ([a-z-]+)", row).group(1)
        parsers = [commands[name]] + [p for n, p in commands.items() if n.startswith(name + " ")]
        for action in re.findall(r"/ `([a-z]+)", row):
            assert f"{name} {action}" in commands, f"README names `{name} {action}`, which the parser lacks"
        known = set().union(*(_options(p) for p in parsers))
        for option in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", row):
            assert option in known, f"README: `{name}` has no option {option}"


def test_sources_types_lists_every_registered_type_with_its_keys(capsys):
    assert run_cli("sources", "types", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    expected = set()
    for name in extractors.known_types():
        extractor = extractors.get(name)
        expected |= {(name, key) for key in extractor.options} | ({(name, "url")} if extractor.needs_url else set())
    assert {(row["type"], row["key"]) for row in listed} == expected
    modules = {p.stem.replace("_", "-") for p in (REPO / "src/kratom_tracker/extractors").glob("[!_]*.py")}
    assert modules <= set(extractors.known_types())  # every source type file is registered
    assert run_cli("sources", "types") == 0
    text = capsys.readouterr().out
    assert all(re.search(rf"^{re.escape(name)}: ", text, re.M) for name in extractors.known_types())
