"""The package's shape is checked, not hoped for: the layer contract in pyproject.toml (import-linter),
no import cycle anywhere in the package, and the light commands start without the heavy libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("requests", "urllib3", "pycurl", "fastapi", "starlette", "uvicorn", "apscheduler")


def test_the_layer_contract_holds():
    # In a subprocess: import-linter's CLI reconfigures logging (dictConfig), which would silence the
    # loggers of modules the suite imported before it. It reads [tool.importlinter] from pyproject.toml.
    run = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                          f"sys.exit(lint_imports(config_filename={str(REPO / 'pyproject.toml')!r}))"],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def _strongly_connected(graph: grimp.ImportGraph, modules: set[str]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively (the package has ~100 modules, recursion would do, but why risk it)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    counter = 0
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root) & modules)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    found.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child) & modules))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_no_import_cycles():
    graph = grimp.build_graph("kratom_tracker")
    modules = set(graph.modules)
    cycles = [sorted(c) for c in _strongly_connected(graph, modules) if len(c) > 1]
    assert cycles == []


def test_the_cycle_finder_finds_a_cycle():
    # The test above must be able to fail: a graph with a -> b -> a has one component of size 2.
    graph = grimp.ImportGraph()
    for name in ("a", "b", "c"):
        graph.add_module(name)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="a")
    graph.add_import(importer="b", imported="c")
    assert sorted(map(sorted, (c for c in _strongly_connected(graph, {"a", "b", "c"}) if len(c) > 1))) == [["a", "b"]]


def test_sources_commands_start_without_the_heavy_libraries():
    probe = ("import sys, kratom_tracker.cli.sources, kratom_tracker.cli.status, kratom_tracker.cli.changes\n"
             f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
